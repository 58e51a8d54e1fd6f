"""Shape contracts for TensorFlow code, written as jaxtyping annotations.

    from contracts import contract, ShapeContractError
    from jaxtyping import Float
    import tensorflow as tf

    @contract
    def to_rows(images: Float[tf.Tensor, "B H W C"]) -> Float[tf.Tensor, "B*C H W 1"]: ...

Checked eagerly, while tracing (``None`` dims become run-time checks), under XLA and inside Keras.
A client names its dims and layouts, and adds likely-cause hints, with ``register_vocabulary``.
"""

from ._compat import in_xla_context as in_xla_context
from ._decorator import contract as contract
from ._errors import Binding as Binding
from ._errors import ContractDefinitionError as ContractDefinitionError
from ._errors import ShapeContractError as ShapeContractError
from ._errors import Violation as Violation
from ._errors import format_violation as format_violation
from ._mode import ContractMode as ContractMode
from ._mode import get_mode as get_mode
from ._mode import mode as mode
from ._mode import set_mode as set_mode
from ._registry import REGISTRY as REGISTRY
from ._registry import CheckEvent as CheckEvent
from ._registry import recording as recording
from ._runtime import as_contract_error as as_contract_error
from ._runtime import raising_contract_errors as raising_contract_errors
from ._vocabulary import Dim as Dim
from ._vocabulary import DimConflict as DimConflict
from ._vocabulary import Layout as Layout
from ._vocabulary import Vocabulary as Vocabulary
from ._vocabulary import register_vocabulary as register_vocabulary
from ._vocabulary import vocabulary_for as vocabulary_for
from .apply import apply_layer_contracts as apply_layer_contracts
