"""The PINN model: its custom Keras layers (``layers``) and the factory that builds it (``factory``).

``create_model_with_gridsize`` builds a fresh ``(autoencoder, diffraction_to_obj)`` pair and records
the translation backend on both; ``create_compiled_model(config)`` adds the compiled trainer of a
``TrainingConfig``, and called as PtychoPINN's (``create_compiled_model()``, this package being its
old path ``ptycho.model``) builds from the legacy dict (``ptycho.compat.model``). The losses live
in ``ptycho.physics.losses`` and are re-exported here.
"""

from ..physics.losses import amplitude_mae as amplitude_mae
from ..physics.losses import poisson_nll as poisson_nll
from .factory import OUTPUTS as OUTPUTS
from .factory import CompiledModel as CompiledModel
from .factory import create_model_with_gridsize as create_model_with_gridsize
from .factory import training_model as training_model


def __getattr__(name: str):  # type: ignore[no-untyped-def]
    """``create_compiled_model`` takes this stack's call and PtychoPINN's (imported on first use:
    the compatibility layer is not loaded with the stack)."""
    if name == "create_compiled_model":
        from ..compat.model import create_compiled_model

        return create_compiled_model
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
