"""The PINN model: its custom Keras layers (``layers``) and the factory that builds it (``factory``).

``create_model_with_gridsize`` builds a fresh ``(autoencoder, diffraction_to_obj)`` pair and records
the translation backend on both; ``create_compiled_model`` adds the compiled trainer of a
``TrainingConfig``. The losses live in ``ptycho.physics.losses`` and are re-exported here.
"""

from ..physics.losses import amplitude_mae as amplitude_mae
from ..physics.losses import poisson_nll as poisson_nll
from .factory import OUTPUTS as OUTPUTS
from .factory import CompiledModel as CompiledModel
from .factory import create_compiled_model as create_compiled_model
from .factory import create_model_with_gridsize as create_model_with_gridsize
from .factory import training_model as training_model
