"""A compatibility path: PtychoPINN's ``ptycho.probe``, re-exported. The code lives in
``ptycho.compat.probe`` (PtychoPINN's signatures) on ``ptycho.physics.probe``.

Nothing inside ``ptycho`` imports this module.
"""

from .compat.probe import get_default_probe as get_default_probe
from .compat.probe import get_probe_mask as get_probe_mask
from .compat.probe import set_default_probe as set_default_probe
from .compat.probe import set_probe as set_probe
from .compat.probe import set_probe_guess as set_probe_guess
