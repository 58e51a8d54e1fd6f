"""A compatibility path: the simulation's old module, re-exported. The code lives in
``ptycho.physics.simulation``.

Nothing inside ``ptycho`` imports this module; new code imports the modules named above.
"""

from .physics.simulation import diffraction_amplitude as diffraction_amplitude
from .physics.simulation import extract_patches as extract_patches
from .physics.simulation import grid_positions as grid_positions
from .physics.simulation import random_positions as random_positions
from .physics.simulation import simulate_diffraction as simulate_diffraction
