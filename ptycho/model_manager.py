"""A compatibility path: PtychoPINN's ``ptycho.model_manager``, re-exported. The code lives in
``ptycho.compat.model_manager`` (PtychoPINN's signatures) on ``ptycho.model.bundle``.

Nothing inside ``ptycho`` imports this module.
"""

from .compat.model_manager import ARCHIVE as ARCHIVE
from .compat.model_manager import load_multiple_models as load_multiple_models
from .compat.model_manager import save as save
