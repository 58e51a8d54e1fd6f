"""A compatibility path: PtychoPINN's ``ptycho.train_pinn``, re-exported. The code lives in
``ptycho.compat.train_pinn`` (PtychoPINN's signatures) on ``ptycho.training``.

Nothing inside ``ptycho`` imports this module.
"""

from .compat.train_pinn import calculate_intensity_scale as calculate_intensity_scale
from .compat.train_pinn import config_from_params as config_from_params
from .compat.train_pinn import train as train
from .compat.train_pinn import train_eval as train_eval
