"""A compatibility path: reassembly's old module, re-exported. The code lives in
``ptycho.tensors.reassembly``, ``ptycho.tensors.stitching``.

Nothing inside ``ptycho`` imports this module; new code imports the modules named above.
"""

from .tensors.reassembly import canvas_size as canvas_size
from .tensors.reassembly import extract_patches_position as extract_patches_position
from .tensors.reassembly import pad_patches as pad_patches
from .tensors.reassembly import reassemble_patches_position_real as reassemble_patches_position_real
from .tensors.reassembly import trim_reconstruction as trim_reconstruction
from .tensors.stitching import reassemble_position as reassemble_position
