"""A compatibility path: ``PtychoDataContainer``'s old module, re-exported. The code lives in
``ptycho.data.container``.

Nothing inside ``ptycho`` imports this module; new code imports the modules named above.
"""

from .data.container import PtychoDataContainer as PtychoDataContainer
from .data.container import check_against_model as check_against_model
from .data.container import intensity_scale as intensity_scale
from .data.container import normalise_amplitudes as normalise_amplitudes
