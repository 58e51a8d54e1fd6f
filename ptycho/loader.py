"""A compatibility path: PtychoPINN's ``ptycho.loader``, re-exported. The code lives in
``ptycho.compat.loader`` (PtychoPINN's signatures) on ``ptycho.data.container``.

Nothing inside ``ptycho`` imports this module.
"""

from .compat.loader import PtychoDataContainer as PtychoDataContainer
from .compat.loader import PtychoDataset as PtychoDataset
from .compat.loader import load as load
from .compat.loader import split_data as split_data
