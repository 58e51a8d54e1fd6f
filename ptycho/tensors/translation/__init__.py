"""Translation of image stacks, one module per kernel, with the backend chosen by the caller.

Every backend moves content by ``+t`` with bilinear interpolation, integer pixel centres and zero
fill per corner (shared/CONVENTIONS.md):

* ``"xla"``: ``xla.translate_xla``, pure TensorFlow ops that XLA compiles (the row-window kernel,
  or the row kernel when H, W or C are unknown);
* ``"v3"``: ``v3.translate_v3``, ``ImageProjectiveTransformV3`` (no XLA kernel).

``warp.projective_warp_xla`` is the general homography warp in the same conventions. The backend
is decided once (``backend.decide_backend``) where a model is built and passed down as ``"xla"``
or ``"v3"``; ``translate(..., backend="auto")`` decides it at its own entry.
"""

from __future__ import annotations

import tensorflow as tf
from jaxtyping import Float, Inexact

from contracts import contract

from ...config.config import Backend as Backend
from .backend import (
    BACKENDS as BACKENDS,
)
from .backend import (
    ENV_VAR as ENV_VAR,
)
from .backend import (
    BackendDecision as BackendDecision,
)
from .backend import (
    BackendRequest as BackendRequest,
)
from .backend import (
    check_backend as check_backend,
)
from .backend import (
    decide_backend as decide_backend,
)
from .backend import (
    resolve_backend as resolve_backend,
)
from .backend import (
    should_use_xla as should_use_xla,
)
from .v3 import translate_v3
from .xla import translate_xla


@contract
def translate_core(
    images: Inexact[tf.Tensor, "B H W C"], translations: Float[tf.Tensor, "B 2"], backend: Backend
) -> Inexact[tf.Tensor, "B H W C"]:
    """The backend call itself, ``backend`` already decided (``"xla"`` or ``"v3"``)."""
    if check_backend(backend) == "xla":
        return translate_xla(images, translations)
    return translate_v3(images, translations)


@contract
def translate(
    images: Inexact[tf.Tensor, "B H W C"],
    translations: Float[tf.Tensor, "B 2"],
    backend: BackendRequest = "auto",
) -> Inexact[tf.Tensor, "B H W C"]:
    """Move each image's content by ``+[t_x, t_y]`` pixels: images ``(B, H, W, C)``, translations
    ``(B, 2)``, the batches equal (no broadcasting). ``"auto"`` is decided here, once per call."""
    return translate_core(images, translations, resolve_backend(backend))


__all__ = [
    "BACKENDS",
    "ENV_VAR",
    "Backend",
    "BackendDecision",
    "BackendRequest",
    "check_backend",
    "decide_backend",
    "resolve_backend",
    "should_use_xla",
    "translate",
    "translate_core",
    "translate_v3",
    "translate_xla",
]
