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

Loss = Literal["nll", "mae"]
Backend = Literal["xla", "v3"]


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


@dataclass(frozen=True)
class ModelConfig:
    """What fixes the network's shapes and physics."""

    N: int = 64
    gridsize: int = 2
    n_filters_scale: int = 2
    max_offset: float = 7.0  # largest relative offset (pixels) the canvas must hold
    probe_mask: bool = False
    translate_backend: Backend | None = None  # None: USE_XLA_TRANSLATE > params.cfg > XLA

    def __post_init__(self) -> None:
        _require(
            isinstance(self.N, int) and self.N >= 16 and self.N % 8 == 0 and _power_of_two(self.N // 8),
            f"ModelConfig: N must be 8 times a power of two and >= 16 (16, 32, 64, 128, ...); "
            f"received: N={self.N!r}",
        )
        _require(
            self.gridsize in (1, 2, 3),
            f"ModelConfig: gridsize must be 1, 2 or 3; received: gridsize={self.gridsize!r}",
        )
        _require(
            isinstance(self.n_filters_scale, int) and self.n_filters_scale >= 1,
            f"ModelConfig: n_filters_scale must be a positive int; "
            f"received: n_filters_scale={self.n_filters_scale!r}",
        )
        _require(
            math.isfinite(self.max_offset) and self.max_offset >= 0,
            f"ModelConfig: max_offset must be finite and >= 0; received: max_offset={self.max_offset!r}",
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


def _power_of_two(n: int) -> bool:
    return n >= 1 and n & (n - 1) == 0


@dataclass(frozen=True)
class TrainingConfig:
    """Model plus data and optimisation settings. ``N`` and ``gridsize`` mirror ``model``."""

    N: int | None = None
    gridsize: int | None = None
    model: ModelConfig | None = None
    nphotons: float = 1e9
    loss: Loss = "nll"
    nepochs: int = 50
    batch_size: int = 16
    learning_rate: float = 1e-3
    n_groups: int = 512
    neighbor_count: int = 7  # K
    seed: int = 0
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
            self.nphotons > 0, f"TrainingConfig: nphotons must be > 0; received: nphotons={self.nphotons!r}"
        )
        _require(
            self.loss in ("nll", "mae"),
            f"TrainingConfig: loss must be 'nll' or 'mae'; received: loss={self.loss!r}",
        )
        _require(
            isinstance(self.nepochs, int) and self.nepochs >= 0,
            f"TrainingConfig: nepochs must be an int >= 0; received: nepochs={self.nepochs!r}",
        )
        _require(
            isinstance(self.batch_size, int) and self.batch_size >= 1,
            f"TrainingConfig: batch_size must be an int >= 1; received: batch_size={self.batch_size!r}",
        )
        _require(
            self.learning_rate > 0,
            f"TrainingConfig: learning_rate must be > 0; received: learning_rate={self.learning_rate!r}",
        )
        _require(
            self.neighbor_count >= model.C,
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
