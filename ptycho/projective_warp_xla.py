"""A compatibility path: PtychoPINN's ``ptycho.projective_warp_xla``, re-exported. The code lives in
``ptycho.compat.projective_warp_xla`` (PtychoPINN's signatures) on ``ptycho.tensors.translation``.

Nothing inside ``ptycho`` imports this module; new code imports ``ptycho.tensors.translation``.
"""

from .compat.projective_warp_xla import projective_warp_xla as projective_warp_xla
from .compat.projective_warp_xla import projective_warp_xla_jit as projective_warp_xla_jit
from .compat.projective_warp_xla import tfa_params_to_3x3 as tfa_params_to_3x3
from .compat.projective_warp_xla import translate_xla as translate_xla
from .tensors.translation.warp import FillMode as FillMode
from .tensors.translation.warp import Interpolation as Interpolation
