"""A compatibility path: the PINN's custom layers' old module, re-exported. The code lives in
``ptycho.model.layers``.

Nothing inside ``ptycho`` imports this module; new code imports the modules named above.
"""

from .model.layers import PACKAGE as PACKAGE
from .model.layers import CombineComplex as CombineComplex
from .model.layers import DiffractionAmplitude as DiffractionAmplitude
from .model.layers import ExtractPatchesPositionLayer as ExtractPatchesPositionLayer
from .model.layers import IntensityScale as IntensityScale
from .model.layers import ProbeIllumination as ProbeIllumination
from .model.layers import ReassemblePatchesLayer as ReassemblePatchesLayer
from .model.layers import Square as Square
from .model.layers import TrimReconstruction as TrimReconstruction
