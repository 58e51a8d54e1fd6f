"""Shape contracts for TensorFlow code, written as jaxtyping annotations.

    from contracts import contract, ShapeContractError
    from jaxtyping import Float
    import tensorflow as tf

    @contract
    def to_flat(images: Float[tf.Tensor, "B N N C"]) -> Float[tf.Tensor, "B*C N N 1"]: ...

Checked eagerly, while tracing (``None`` dims become run-time checks), under XLA and inside Keras.
"""

from ._decorator import contract as contract
from ._dims import DIMS as DIMS
from ._dims import LAYOUTS as LAYOUTS
from ._dims import Dim as Dim
from ._dims import Layout as Layout
from ._errors import Binding as Binding
from ._errors import ContractDefinitionError as ContractDefinitionError
from ._errors import ShapeContractError as ShapeContractError
from ._errors import Violation as Violation
from ._mode import get_mode as get_mode
from ._mode import mode as mode
from ._mode import set_mode as set_mode
from ._registry import REGISTRY as REGISTRY
from ._registry import CheckEvent as CheckEvent
from ._registry import recording as recording
from ._runtime import as_contract_error as as_contract_error
from ._runtime import raising_contract_errors as raising_contract_errors
