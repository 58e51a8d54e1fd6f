"""Frozen, validated configuration for the model and its training.

``TrainingConfig(gridsize=2, N=64)`` works as in PtychoPINN's scripts, and so does the nested form
``TrainingConfig(model=ModelConfig(N=64, gridsize=2))``. ``update_legacy_dict(params.cfg, config)``
fills PtychoPINN's legacy dict as a compatibility view; nothing in the stack reads it back except the
documented XLA switch.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

Loss = Literal["nll", "mae"]
Backend = Literal["xla", "v3"]
ConvPrecision = Literal["float32", "bfloat16"]


def _help(text: str) -> dict[str, str]:
    """A field's help text: the command-line flags are generated from these (``ptycho.cli._flags``)."""
    return {"help": text}


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


@dataclass(frozen=True)
class ModelConfig:
    """What fixes the network's shapes and physics."""

    N: int = field(
        default=64, metadata=_help("patch side in pixels: 8 times a power of two (16, 32, 64, ...)")
    )
    gridsize: int = field(
        default=2, metadata=_help("a group holds gridsize x gridsize neighbouring scan positions (1, 2 or 3)")
    )
    n_filters_scale: int = field(
        default=2, metadata=_help("width of the network: 32 x this many filters at its first level")
    )
    max_offset: float = field(
        default=7.0,
        metadata=_help("largest offset (px) of a position from its group's centre the model holds"),
    )
    probe_mask: bool = field(default=False, metadata=_help("multiply the probe by a disk of radius N/4"))
    translate_backend: Backend | None = field(
        default=None,
        metadata=_help("translation kernel: xla or v3 (default: USE_XLA_TRANSLATE, else xla)"),
    )
    conv_precision: ConvPrecision = field(
        default="float32",
        metadata=_help(
            "the convolutions' arithmetic: float32, or bfloat16 (weights kept float32, the physics "
            "float32/complex64; about 2.5x faster steps on CPUs with AMX or AVX512-BF16, slower on others)"
        ),
    )

    def __post_init__(self) -> None:
        _require(
            is_int(self.N) and self.N >= 16 and self.N % 8 == 0 and _power_of_two(self.N // 8),
            f"ModelConfig: N must be 8 times a power of two and >= 16 (16, 32, 64, 128, ...); "
            f"received: N={self.N!r}",
        )
        _require(
            is_int(self.gridsize) and self.gridsize in (1, 2, 3),
            f"ModelConfig: gridsize must be 1, 2 or 3; received: gridsize={self.gridsize!r}",
        )
        _require(
            is_int(self.n_filters_scale) and self.n_filters_scale >= 1,
            f"ModelConfig: n_filters_scale must be a positive int; "
            f"received: n_filters_scale={self.n_filters_scale!r}",
        )
        _require(
            math.isfinite(self.max_offset) and self.max_offset >= 0,
            f"ModelConfig: max_offset must be finite and >= 0; received: max_offset={self.max_offset!r}",
        )
        _require(
            self.conv_precision in ("float32", "bfloat16"),
            f"ModelConfig: conv_precision must be 'float32' or 'bfloat16'; "
            f"received: conv_precision={self.conv_precision!r}",
        )
        _require(
            self.translate_backend in (None, "xla", "v3"),
            f"ModelConfig: translate_backend must be None, 'xla' or 'v3'; "
            f"received: translate_backend={self.translate_backend!r}",
        )

    @property
    def C(self) -> int:
        return self.gridsize * self.gridsize

    @property
    def padded_size(self) -> int:
        """M = N + 2*ceil(max_offset), rounded up to even."""
        m = self.N + 2 * math.ceil(self.max_offset)
        return m + (m % 2)


def is_int(value: Any) -> bool:
    """An int, not a bool and not a float that happens to be whole (``gridsize=2.0`` is refused)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _power_of_two(n: int) -> bool:
    return n >= 1 and n & (n - 1) == 0


@dataclass(frozen=True)
class TrainingConfig:
    """Model plus data and optimisation settings. ``N`` and ``gridsize`` mirror ``model``."""

    N: int | None = None
    gridsize: int | None = None
    model: ModelConfig | None = None
    nphotons: float = field(
        default=1e9, metadata=_help("mean photon count per diffraction pattern (sets the intensity scale)")
    )
    loss: Loss = field(
        default="nll",
        metadata=_help(
            "nll: Poisson negative log-likelihood of the counts; mae: absolute error of the amplitude"
        ),
    )
    nepochs: int = field(default=50, metadata=_help("training epochs (0: an untrained model)"))
    batch_size: int = field(default=16, metadata=_help("groups per training step"))
    learning_rate: float = field(default=1e-3, metadata=_help("Adam's learning rate"))
    n_groups: int = field(default=512, metadata=_help("groups drawn from the scan for training"))
    neighbor_count: int = field(
        default=7, metadata=_help("K: a group is a position and gridsize^2 - 1 of its K nearest neighbours")
    )
    seed: int = field(
        default=0, metadata=_help("seed of the grouping, the shuffling and the initial weights")
    )
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        model = self.model
        if model is None:
            model = ModelConfig(
                N=self.N if self.N is not None else 64,
                gridsize=self.gridsize if self.gridsize is not None else 2,
            )
        else:
            for name in ("N", "gridsize"):
                given = getattr(self, name)
                _require(
                    given is None or given == getattr(model, name),
                    f"TrainingConfig: {name}={given!r} disagrees with model.{name}={getattr(model, name)!r}",
                )
        object.__setattr__(self, "model", model)
        object.__setattr__(self, "N", model.N)
        object.__setattr__(self, "gridsize", model.gridsize)
        _require(
            _is_real(self.nphotons) and 0 < self.nphotons < math.inf,
            f"TrainingConfig: nphotons must be > 0 and finite; received: nphotons={self.nphotons!r}",
        )
        _require(
            self.loss in ("nll", "mae"),
            f"TrainingConfig: loss must be 'nll' or 'mae'; received: loss={self.loss!r}",
        )
        _require(
            is_int(self.nepochs) and self.nepochs >= 0,
            f"TrainingConfig: nepochs must be an int >= 0; received: nepochs={self.nepochs!r}",
        )
        _require(
            is_int(self.batch_size) and self.batch_size >= 1,
            f"TrainingConfig: batch_size must be an int >= 1; received: batch_size={self.batch_size!r}",
        )
        _require(
            _is_real(self.learning_rate) and 0 < self.learning_rate < math.inf,
            "TrainingConfig: learning_rate must be > 0 and finite; "
            f"received: learning_rate={self.learning_rate!r}",
        )
        _require(
            is_int(self.n_groups) and self.n_groups >= 1,
            f"TrainingConfig: n_groups must be an int >= 1; received: n_groups={self.n_groups!r}",
        )
        _require(is_int(self.seed), f"TrainingConfig: seed must be an int; received: seed={self.seed!r}")
        _require(
            is_int(self.neighbor_count) and self.neighbor_count >= model.C,
            f"TrainingConfig: neighbor_count (K={self.neighbor_count}) must be >= C = gridsize^2 = {model.C}",
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def update_legacy_dict(cfg: dict[str, Any], config: TrainingConfig | ModelConfig) -> dict[str, Any]:
    """Write ``config`` into PtychoPINN's legacy dict (a view for old code; returns ``cfg``)."""
    model = config.model if isinstance(config, TrainingConfig) else config
    assert model is not None
    cfg.update(
        N=model.N,
        gridsize=model.gridsize,
        n_filters_scale=model.n_filters_scale,
        max_offset=model.max_offset,
        probe_mask=model.probe_mask,
    )
    if model.translate_backend is not None:
        cfg["use_xla_translate"] = model.translate_backend == "xla"
    if isinstance(config, TrainingConfig):
        cfg.update(
            nphotons=config.nphotons,
            nepochs=config.nepochs,
            batch_size=config.batch_size,
            loss=config.loss,
            n_groups=config.n_groups,
            K=config.neighbor_count,
        )
    return cfg
