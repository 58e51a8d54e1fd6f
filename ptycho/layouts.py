"""A compatibility path: the layouts' old module, re-exported. The code lives in
``ptycho.tensors.layouts``.

Nothing inside ``ptycho`` imports this module; new code imports the modules named above.
"""

from .tensors.layouts import _channel_to_flat as _channel_to_flat
from .tensors.layouts import _flat_to_channel as _flat_to_channel
from .tensors.layouts import flatten_offsets as flatten_offsets
from .tensors.layouts import repeat_per_patch as repeat_per_patch
from .tensors.layouts import unflatten_offsets as unflatten_offsets
