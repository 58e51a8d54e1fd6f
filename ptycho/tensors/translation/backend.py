"""Which translation backend runs: ``"xla"`` or ``"v3"``, decided once where a model is built.

``decide_backend("auto")`` (or None) asks ``should_use_xla()``, which reads, in order, the environment
variable ``USE_XLA_TRANSLATE`` (0/false/no/off disables, 1/true/yes/on enables), the legacy
``params.cfg['use_xla_translate']``, and defaults to XLA. A decision says which source decided it;
nothing is recorded here, so a caller that needs the decision keeps the one it was given (a model
keeps it as ``model.translate_backend`` and ``model.translate_backend_source``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

from ... import params
from ...config.config import Backend

BackendRequest = Literal["auto", "xla", "v3"]
ENV_VAR = "USE_XLA_TRANSLATE"
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
BACKENDS: tuple[Backend, ...] = ("xla", "v3")


@dataclass(frozen=True)
class BackendDecision:
    """The backend chosen and the source that chose it: ``"argument"``,
    ``"environment USE_XLA_TRANSLATE='0'"``, ``"params.cfg['use_xla_translate']"`` or ``"default"``."""

    backend: Backend
    source: str

    @property
    def use_xla(self) -> bool:
        return self.backend == "xla"


def should_use_xla() -> BackendDecision:
    """The backend for ``"auto"``: ``USE_XLA_TRANSLATE`` > ``params.cfg['use_xla_translate']`` > XLA."""
    raw = os.environ.get(ENV_VAR)
    if raw is not None and raw.strip() != "":
        value = raw.strip().lower()
        if value not in _TRUE + _FALSE:
            raise ValueError(
                f"{ENV_VAR} must be one of {', '.join(_TRUE + _FALSE)}; received: {ENV_VAR}={raw!r}"
            )
        return BackendDecision("xla" if value in _TRUE else "v3", f"environment {ENV_VAR}={raw!r}")
    configured = params.cfg.get("use_xla_translate")
    if configured is None:
        return BackendDecision("xla", "default")
    return BackendDecision("xla" if configured else "v3", "params.cfg['use_xla_translate']")


def decide_backend(requested: BackendRequest | None = "auto") -> BackendDecision:
    """``"xla"`` or ``"v3"`` as given; ``"auto"`` or None decided by ``should_use_xla()``."""
    if requested is None or requested == "auto":
        return should_use_xla()
    return BackendDecision(check_backend(requested), "argument")


def resolve_backend(requested: BackendRequest | None = "auto") -> Backend:
    """``decide_backend(requested).backend``."""
    return decide_backend(requested).backend


def check_backend(backend: object) -> Backend:
    """``backend`` itself when it is ``"xla"`` or ``"v3"``; otherwise a ValueError naming it."""
    if backend not in BACKENDS:
        raise ValueError(
            f"backend must be 'xla' or 'v3' (or 'auto' where it is decided); received: backend={backend!r}"
        )
    return backend  # type: ignore[return-value]
