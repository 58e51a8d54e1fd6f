"""A compatibility path: ``RawData`` and grouping's old module, re-exported. The code lives in
``ptycho.data.grouping``, ``ptycho.data.raw``.

Nothing inside ``ptycho`` imports this module; new code imports the modules named above.
"""

from .data.grouping import GroupedData as GroupedData
from .data.grouping import group_by_indices as group_by_indices
from .data.raw import NPZ_KEYS as NPZ_KEYS
from .data.raw import RawData as RawData
