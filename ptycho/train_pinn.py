"""A compatibility path: training's old module, re-exported. The code lives in ``ptycho.training``.

Nothing inside ``ptycho`` imports this module; new code imports the modules named above.
"""

from .training import TrainResult as TrainResult
from .training import check_data as check_data
from .training import fit as fit
from .training import reconstruct as reconstruct
from .training import train as train
from .training import train_eval as train_eval
