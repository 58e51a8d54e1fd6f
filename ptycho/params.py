"""PtychoPINN's legacy configuration dict, as a compatibility view at the edge.

Nothing inside the stack reads ``cfg`` except the documented XLA switch (``cfg['use_xla_translate']``,
consulted by ``ptycho.tensors.translation.should_use_xla`` when a model is built without an explicit
backend and the environment variable ``USE_XLA_TRANSLATE`` is unset). Build configuration explicitly with
``ptycho.config.config`` instead.
"""

from __future__ import annotations

from typing import Any

cfg: dict[str, Any] = {
    "N": 64,
    "gridsize": 2,
    "use_xla_translate": None,  # None: the default (XLA)
}


def get(key: str) -> Any:
    if key not in cfg:
        raise KeyError(f"params.cfg has no key {key!r}; known keys: {', '.join(sorted(cfg))}")
    return cfg[key]


def set(key: str, value: Any) -> None:
    cfg[key] = value
