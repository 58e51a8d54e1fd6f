"""PtychoPINN's legacy configuration dict, as a compatibility view at the edge.

``cfg`` holds PtychoPINN's keys and defaults, and ``get``, ``set``, ``params``, ``seal``/``unseal``,
``validate`` and the derived sizes behave as PtychoPINN's (docs/migrating.md lists the differences).
Nothing inside the stack reads ``cfg`` except the documented XLA switch (``cfg['use_xla_translate']``,
consulted by ``ptycho.tensors.translation.should_use_xla`` when a model is built without an explicit
backend and the environment variable ``USE_XLA_TRANSLATE`` is unset); the compatibility layer
(``ptycho.compat``) reads it where PtychoPINN's functions read it. Build configuration explicitly with
``ptycho.config.config`` instead.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

DATA_SOURCES = ("lines", "grf", "experimental", "points", "testimg", "diagonals", "xpp", "V", "generic")

# PtychoPINN's defaults (N 128, gridsize 2, ...): its ``params.cfg`` before any configuration is bridged.
DEFAULT_CFG: dict[str, Any] = {
    "N": 128,
    "offset": 4,
    "gridsize": 2,
    "outer_offset_train": None,
    "outer_offset_test": None,
    "batch_size": 16,
    "nepochs": 60,
    "n_filters_scale": 2,
    "output_prefix": "outputs",
    "big_gridsize": 10,
    "max_position_jitter": 10,
    "sim_jitter_scale": 0.0,
    "default_probe_scale": 0.7,
    "mae_weight": 0.0,
    "nll_weight": 1.0,
    "tv_weight": 0.0,
    "realspace_mae_weight": 0.0,
    "realspace_weight": 0.0,
    "nphotons": 1e9,
    "nimgs_train": 9,
    "nimgs_test": 3,
    "data_source": "generic",
    "probe.trainable": False,
    "intensity_scale.trainable": False,
    "positions.provided": False,
    "object.big": True,
    "probe.big": False,
    "probe_scale": 10.0,
    "set_phi": False,
    "probe.mask": True,
    "pad_object": True,
    "model_type": "pinn",
    "label": "",
    "size": 392,
    "amp_activation": "sigmoid",
    "h5_path": "wts.h5",
    "npseed": 42,
    "debug": True,
    "gaussian_smoothing_sigma": 0.0,
    # None: the default, XLA (PtychoPINN's True); False selects the ImageProjectiveTransformV3 kernel.
    # Both move content by +t here (PtychoPINN's non-XLA path moved it by -t).
    "use_xla_translate": None,
}

# Keys PtychoPINN writes after sealing without a warning.
SEAL_WHITELIST = frozenset({"intensity_scale", "probe", "timestamp"})

cfg: dict[str, Any] = dict(DEFAULT_CFG)
_sealed = False


def ensure_defaults() -> None:
    """Put back any default key a caller deleted (PtychoPINN re-inserts them on every read)."""
    for key, value in DEFAULT_CFG.items():
        cfg.setdefault(key, value)


_MISSING = object()


def get(key: str, default: Any = _MISSING) -> Any:
    """``cfg[key]``; ``'bigN'`` is derived. A missing key raises KeyError unless a default is given."""
    ensure_defaults()
    if key == "bigN":
        return get_bigN()
    if default is not _MISSING:
        return cfg.get(key, default)
    if key not in cfg:
        raise KeyError(f"params.cfg has no key {key!r}; known keys: {', '.join(sorted(cfg))}")
    return cfg[key]


def set(key: str, value: Any) -> None:
    """Write ``cfg[key]``; after ``seal()`` a write outside ``SEAL_WHITELIST`` logs a warning (as
    PtychoPINN's warn mode); an invalid configuration is refused and ``cfg`` left as it was."""
    if _sealed and key not in SEAL_WHITELIST:
        log.warning("post-seal params.cfg write: %s = %r", key, value)
    had, previous = key in cfg, cfg.get(key)
    cfg[key] = value
    try:
        validate()
    except ValueError:
        if had:
            cfg[key] = previous
        else:
            del cfg[key]
        raise


def params() -> dict[str, Any]:
    """A copy of ``cfg`` with the derived ``bigN``."""
    ensure_defaults()
    return {**cfg, "bigN": get_bigN()}


def validate() -> bool:
    """``data_source`` known, and ``realspace_weight > 0`` wherever ``realspace_mae_weight > 0``."""
    ensure_defaults()
    if cfg["data_source"] not in DATA_SOURCES:
        raise ValueError(
            f"params: data_source must be one of {', '.join(DATA_SOURCES)}; received: {cfg['data_source']!r}"
        )
    if cfg["realspace_mae_weight"] > 0 and not cfg["realspace_weight"] > 0:
        raise ValueError(
            "params: realspace_mae_weight > 0 needs realspace_weight > 0; received: "
            f"realspace_mae_weight={cfg['realspace_mae_weight']!r}, "
            f"realspace_weight={cfg['realspace_weight']!r}"
        )
    return True


def seal() -> None:
    """From now on, writes outside ``SEAL_WHITELIST`` log a warning."""
    global _sealed
    _sealed = True


def unseal() -> None:
    global _sealed
    _sealed = False


def is_sealed() -> bool:
    return _sealed


def get_bigN() -> int:
    """``N + (gridsize - 1) * offset``: the solution region of a group."""
    return int(cfg["N"] + (cfg["gridsize"] - 1) * cfg["offset"])


def get_padded_size() -> int:
    """``bigN + max_position_jitter``: PtychoPINN's canvas side."""
    return int(get_bigN() + cfg["max_position_jitter"])


def get_padding_size() -> int:
    return int((cfg["gridsize"] - 1) * cfg["offset"] + cfg["max_position_jitter"])


def print_params() -> None:
    for key, value in sorted(params().items()):
        print(f"{key}: {value!r}")
