"""A compatibility path: PtychoPINN's ``ptycho.tf_helper``, re-exported. The code lives in
``ptycho.compat.tf_helper`` (PtychoPINN's signatures and offset sign) on ``ptycho.tensors``.

Nothing inside ``ptycho`` imports this module; new code imports ``ptycho.tensors``.
"""

from .compat.tf_helper import Translation as Translation
from .compat.tf_helper import _channel_to_flat as _channel_to_flat
from .compat.tf_helper import _flat_to_channel as _flat_to_channel
from .compat.tf_helper import _grid_to_channel as _grid_to_channel
from .compat.tf_helper import _reassemble_patches_position_real as _reassemble_patches_position_real
from .compat.tf_helper import _reassemble_position_batched as _reassemble_position_batched
from .compat.tf_helper import _togrid as _togrid
from .compat.tf_helper import center_channels as center_channels
from .compat.tf_helper import channel_to_flat as channel_to_flat
from .compat.tf_helper import combine_complex as combine_complex
from .compat.tf_helper import combine_real_imag as combine_real_imag
from .compat.tf_helper import extract_patches_position as extract_patches_position
from .compat.tf_helper import flat_to_channel as flat_to_channel
from .compat.tf_helper import flatten_offsets as flatten_offsets
from .compat.tf_helper import get_mask as get_mask
from .compat.tf_helper import grid_to_channel as grid_to_channel
from .compat.tf_helper import is_complex_tensor as is_complex_tensor
from .compat.tf_helper import mk_centermask as mk_centermask
from .compat.tf_helper import mk_reassemble_position_batched_real as mk_reassemble_position_batched_real
from .compat.tf_helper import mk_reassemble_position_real as mk_reassemble_position_real
from .compat.tf_helper import pad as pad
from .compat.tf_helper import pad_and_diffract as pad_and_diffract
from .compat.tf_helper import pad_obj as pad_obj
from .compat.tf_helper import pad_patches as pad_patches
from .compat.tf_helper import pad_reconstruction as pad_reconstruction
from .compat.tf_helper import reassemble_position as reassemble_position
from .compat.tf_helper import separate_amp_phase as separate_amp_phase
from .compat.tf_helper import separate_real_imag as separate_real_imag
from .compat.tf_helper import should_use_xla as should_use_xla
from .compat.tf_helper import togrid as togrid
from .compat.tf_helper import translate as translate
from .compat.tf_helper import translate_core as translate_core
from .compat.tf_helper import trim_reconstruction as trim_reconstruction
