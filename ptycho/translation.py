"""A compatibility path: translation's old module, re-exported. The code lives in
``ptycho.tensors.translation``.

Nothing inside ``ptycho`` imports this module; new code imports the modules named above.
"""

from .tensors.translation import ENV_VAR as ENV_VAR
from .tensors.translation import Backend as Backend
from .tensors.translation import BackendDecision as BackendDecision
from .tensors.translation import BackendRequest as BackendRequest
from .tensors.translation import decide_backend as decide_backend
from .tensors.translation import resolve_backend as resolve_backend
from .tensors.translation import should_use_xla as should_use_xla
from .tensors.translation import translate as translate
from .tensors.translation import translate_core as translate_core
from .tensors.translation import translate_v3 as translate_v3
