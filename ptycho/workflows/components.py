"""A compatibility path: PtychoPINN's ``ptycho.workflows.components``, re-exported. The code lives in
``ptycho.compat.workflows`` (PtychoPINN's signatures) on ``ptycho.cli``.

Nothing inside ``ptycho`` imports this module.
"""

from ..compat.workflows import create_ptycho_data_container as create_ptycho_data_container
from ..compat.workflows import load_data as load_data
from ..compat.workflows import load_inference_bundle as load_inference_bundle
from ..compat.workflows import reassemble_cdi_image as reassemble_cdi_image
from ..compat.workflows import run_cdi_example as run_cdi_example
from ..compat.workflows import save_outputs as save_outputs
from ..compat.workflows import setup_configuration as setup_configuration
from ..compat.workflows import train_cdi_model as train_cdi_model
from ..compat.workflows import update_config_from_dict as update_config_from_dict
