"""A compatibility path: PtychoPINN's ``ptycho.raw_data``, re-exported. The code lives in
``ptycho.compat.raw_data`` (PtychoPINN's constructor, keys and offset sign) on ``ptycho.data``.

Nothing inside ``ptycho`` imports this module; new code imports
``ptycho.data.raw`` and ``ptycho.data.grouping``.
"""

from .compat.raw_data import RawData as RawData
from .compat.raw_data import get_image_patches as get_image_patches
from .compat.raw_data import get_neighbor_indices as get_neighbor_indices
from .compat.raw_data import get_relative_coords as get_relative_coords
from .compat.raw_data import key_coords_offsets as key_coords_offsets
from .compat.raw_data import key_coords_relative as key_coords_relative
from .compat.raw_data import local_offset_sign as local_offset_sign
from .compat.raw_data import normalize_data as normalize_data
