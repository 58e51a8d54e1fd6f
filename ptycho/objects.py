"""A compatibility path: the test objects' old module, re-exported. The code lives in
``ptycho.physics.objects``.

Nothing inside ``ptycho`` imports this module; new code imports the modules named above.
"""

from .physics.objects import image_object as image_object
from .physics.objects import lines_object as lines_object
