"""A compatibility path: the probe's old module, re-exported. The code lives in
``ptycho.physics.probe``.

Nothing inside ``ptycho`` imports this module; new code imports the modules named above.
"""

from .physics.probe import disk_mask as disk_mask
from .physics.probe import get_default_probe as get_default_probe
from .physics.probe import validate_probe as validate_probe
