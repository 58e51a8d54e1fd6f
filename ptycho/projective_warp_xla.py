"""A compatibility path: the XLA warps' old module, re-exported. The code lives in
``ptycho.tensors.translation.warp``, ``ptycho.tensors.translation.xla``.

Nothing inside ``ptycho`` imports this module; new code imports the modules named above.
"""

from .tensors.translation.warp import FillMode as FillMode
from .tensors.translation.warp import Interpolation as Interpolation
from .tensors.translation.warp import projective_warp_xla as projective_warp_xla
from .tensors.translation.warp import projective_warp_xla_jit as projective_warp_xla_jit
from .tensors.translation.xla import translate_xla as translate_xla
