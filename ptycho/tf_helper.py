"""A compatibility path: PtychoPINN's tensor helper names, re-exported. The code lives in
``ptycho.tensors.layouts``, ``ptycho.tensors.reassembly``, ``ptycho.tensors.stitching``,
``ptycho.tensors.translation``.

Nothing inside ``ptycho`` imports this module; new code imports the modules named above.
"""

from .tensors.layouts import _channel_to_flat as _channel_to_flat
from .tensors.layouts import _flat_to_channel as _flat_to_channel
from .tensors.layouts import flatten_offsets as flatten_offsets
from .tensors.layouts import repeat_per_patch as repeat_per_patch
from .tensors.layouts import unflatten_offsets as unflatten_offsets
from .tensors.reassembly import canvas_size as canvas_size
from .tensors.reassembly import extract_patches_position as extract_patches_position
from .tensors.reassembly import pad_patches as pad_patches
from .tensors.reassembly import reassemble_patches_position_real as reassemble_patches_position_real
from .tensors.reassembly import trim_reconstruction as trim_reconstruction
from .tensors.stitching import reassemble_position as reassemble_position
from .tensors.translation import should_use_xla as should_use_xla
from .tensors.translation import translate as translate
from .tensors.translation import translate_core as translate_core
from .tensors.translation import translate_v3 as translate_v3
