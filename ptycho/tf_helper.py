"""The seed's helper names, re-exported from the focused modules that implement them.

``_channel_to_flat``, ``_flat_to_channel``, ``flatten_offsets`` (layouts); ``translate``,
``translate_core``, ``should_use_xla`` (translation); ``pad_patches``, ``trim_reconstruction``,
``reassemble_patches_position_real``, ``extract_patches_position``, ``reassemble_position``
(reassembly).
"""

from .layouts import _channel_to_flat as _channel_to_flat
from .layouts import _flat_to_channel as _flat_to_channel
from .layouts import flatten_offsets as flatten_offsets
from .layouts import repeat_per_patch as repeat_per_patch
from .layouts import unflatten_offsets as unflatten_offsets
from .reassembly import canvas_size as canvas_size
from .reassembly import extract_patches_position as extract_patches_position
from .reassembly import pad_patches as pad_patches
from .reassembly import reassemble_patches_position_real as reassemble_patches_position_real
from .reassembly import reassemble_position as reassemble_position
from .reassembly import trim_reconstruction as trim_reconstruction
from .translation import should_use_xla as should_use_xla
from .translation import translate as translate
from .translation import translate_core as translate_core
from .translation import translate_v3 as translate_v3
