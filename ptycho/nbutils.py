"""A compatibility path: PtychoPINN's ``ptycho.nbutils``, re-exported. The code lives in
``ptycho.compat.nbutils`` (PtychoPINN's signatures) on ``ptycho.training``.

Nothing inside ``ptycho`` imports this module.
"""

from .compat.nbutils import reconstruct_image as reconstruct_image
