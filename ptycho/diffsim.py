"""A compatibility path: PtychoPINN's ``ptycho.diffsim``, re-exported. The code lives in
``ptycho.compat.diffsim`` (PtychoPINN's signatures) on ``ptycho.physics.simulation``.

Nothing inside ``ptycho`` imports this module.
"""

from .compat.diffsim import illuminate_and_diffract as illuminate_and_diffract
from .compat.diffsim import scale_nphotons as scale_nphotons
