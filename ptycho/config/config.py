"""Frozen, validated configuration for the model and its training.

``TrainingConfig(gridsize=2, N=64)`` works as in PtychoPINN's scripts, and so does the nested form
``TrainingConfig(model=ModelConfig(N=64, gridsize=2))``. ``update_legacy_dict(params.cfg, config)``
fills PtychoPINN's legacy dict as a compatibility view; nothing in the stack reads it back except the
documented XLA switch.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
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

    # PtychoPINN's fields: accepted with the one value this stack implements (no flag: no help text)
    architecture: str = "cnn"
    model_type: str = "pinn"
    object_big: bool = True
    probe_big: bool = True
    pad_object: bool = True
    probe_scale: float = 4.0
    amp_activation: str = "sigmoid"
    gaussian_smoothing_sigma: float = 0.0

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
        _only_value(self, "ModelConfig", _MODEL_ONLY)
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


# PtychoPINN's config fields this stack accepts with one value only: (value, what the others would need)
_MODEL_ONLY: dict[str, tuple[Any, str]] = {
    "architecture": ("cnn", "the FNO and hybrid generators are not implemented here"),
    "model_type": ("pinn", "the supervised model is not implemented here"),
    "object_big": (True, "one object canvas per group is the only reassembly here"),
    "probe_big": (True, "the probe is used over the whole N x N patch here"),
    "pad_object": (True, "the object is always padded to the canvas here"),
    "probe_scale": (4.0, "the probe is normalised from the data here (PHYSICS.md), not by probe_scale"),
    "amp_activation": ("sigmoid", "the amplitude head is a sigmoid here"),
    "gaussian_smoothing_sigma": (0.0, "no smoothing of the probe-illuminated object is implemented here"),
}
_TRAINING_ONLY: dict[str, tuple[Any, str]] = {
    "positions_provided": (True, "positions are always given to the model here"),
    "probe_trainable": (False, "the probe is fixed here"),
    "intensity_scale_trainable": (True, "the intensity scale is always trained here"),
    "realspace_mae_weight": (0.0, "no real-space loss is implemented here"),
    "realspace_weight": (0.0, "no real-space loss is implemented here"),
    "backend": ("tensorflow", "this stack is TensorFlow only"),
}


def _only_value(config: Any, where: str, only: dict[str, tuple[Any, str]]) -> None:
    for name, (value, why) in only.items():
        given = getattr(config, name)
        if given != value or isinstance(given, bool) != isinstance(value, bool):
            raise ValueError(
                f"{where}: {name}={given!r} is not supported ({why}); only {name}={value!r} "
                "(docs/migrating.md)"
            )


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
    sequential_sampling: bool = field(
        default=False,
        metadata=_help("the first n_groups positions, in scan order, seed the groups (not a random draw)"),
    )
    extra: dict[str, Any] = field(default_factory=dict)
    # PtychoPINN's fields (no flag of ptycho-train: its compatible scripts read them, docs/migrating.md)
    train_data_file: Path | None = None
    test_data_file: Path | None = None
    output_dir: Path | None = None
    mae_weight: float | None = None  # with nll_weight: which loss (one of the two, not a mixture)
    nll_weight: float | None = None
    n_images: int | None = None  # deprecated name of n_groups
    n_subsample: int | None = None
    subsample_seed: int | None = None
    enable_oversampling: bool = False
    neighbor_pool_size: int | None = None
    positions_provided: bool = True
    probe_trainable: bool = False
    intensity_scale_trainable: bool = True
    realspace_mae_weight: float = 0.0
    realspace_weight: float = 0.0
    backend: str = "tensorflow"

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
        self._ptychopinn_fields()
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

    def _ptychopinn_fields(self) -> None:
        """PtychoPINN's names: paths as ``Path``, ``n_images`` as ``n_groups``, the loss weights as
        ``loss``; the values this stack does not implement refused."""
        for name in ("train_data_file", "test_data_file", "output_dir"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, Path(value))
        if self.n_images is not None:
            warnings.warn(
                "TrainingConfig: n_images is deprecated; use n_groups", DeprecationWarning, stacklevel=3
            )
            object.__setattr__(self, "n_groups", self.n_images)
            object.__setattr__(self, "n_images", None)  # mapped once: replace(config, n_groups=...) holds
        if self.mae_weight is not None or self.nll_weight is not None:
            mae = 0.0 if self.mae_weight is None else self.mae_weight
            nll = 1.0 if self.nll_weight is None else self.nll_weight  # PtychoPINN's defaults
            _require(
                _is_real(mae) and _is_real(nll) and mae >= 0 and nll >= 0 and (mae > 0) != (nll > 0),
                "TrainingConfig: one loss at a time: mae_weight > 0 with nll_weight = 0 (amplitude MAE), "
                "or nll_weight > 0 with mae_weight = 0 (Poisson NLL); a mixture is not implemented; "
                f"received: mae_weight={self.mae_weight!r}, nll_weight={self.nll_weight!r}",
            )
            implied = "mae" if mae > 0 else "nll"
            _require(
                self.loss == "nll" or self.loss == implied,
                f"TrainingConfig: loss={self.loss!r} disagrees with mae_weight={self.mae_weight!r}, "
                f"nll_weight={self.nll_weight!r} (they select {implied!r})",
            )
            # mapped once into loss, so that replace(config, loss=...) is not undone by stale weights
            object.__setattr__(self, "loss", implied)
            object.__setattr__(self, "mae_weight", None)
            object.__setattr__(self, "nll_weight", None)
        _only_value(self, "TrainingConfig", _TRAINING_ONLY)
        for name in ("n_subsample", "neighbor_pool_size"):
            value = getattr(self, name)
            _require(
                value is None or (is_int(value) and value >= 1),
                f"TrainingConfig: {name} must be None or an int >= 1; received: {name}={value!r}",
            )

    def to_dict(self) -> dict[str, Any]:
        """The fields as JSON values (paths as strings)."""
        values = asdict(self)
        for name in ("train_data_file", "test_data_file", "output_dir"):
            if values[name] is not None:
                values[name] = str(values[name])
        return values


_LEGACY_NAMES = {
    "object_big": "object.big",
    "probe_big": "probe.big",
    "probe_mask": "probe.mask",
    "probe_trainable": "probe.trainable",
    "intensity_scale_trainable": "intensity_scale.trainable",
    "positions_provided": "positions.provided",
    "output_dir": "output_prefix",
    "train_data_file": "train_data_file_path",
    "test_data_file": "test_data_file_path",
}


def dataclass_to_legacy_dict(config: TrainingConfig | ModelConfig | InferenceConfig) -> dict[str, Any]:
    """PtychoPINN's flat legacy keys of ``config``: the model's fields at the top level, renamed as
    PtychoPINN renames them (``object_big`` -> ``object.big``, ``output_dir`` -> ``output_prefix``,
    ...), paths as strings, and the loss as ``mae_weight``/``nll_weight``."""
    values = config.to_dict() if isinstance(config, (TrainingConfig, InferenceConfig)) else asdict(config)
    model = values.pop("model", None) if not isinstance(config, ModelConfig) else None
    flat = {**(model or {}), **values}
    flat.pop("extra", None)
    if isinstance(config, TrainingConfig):
        flat.update(mae_weight=float(config.loss == "mae"), nll_weight=float(config.loss == "nll"))
        flat["K"] = config.neighbor_count
    legacy = {_LEGACY_NAMES.get(k, k): (str(v) if isinstance(v, Path) else v) for k, v in flat.items()}
    legacy["probe_mask"] = flat.get("probe_mask")  # also under this stack's own name
    return legacy


def update_legacy_dict(
    cfg: dict[str, Any], config: TrainingConfig | ModelConfig | InferenceConfig
) -> dict[str, Any]:
    """Write ``config`` into PtychoPINN's legacy dict (a view for old code; returns ``cfg``). Every
    field is written, None included, so no value of an earlier configuration is left behind
    (PtychoPINN skipped None)."""
    values = dataclass_to_legacy_dict(config)
    backend = values.pop("translate_backend", None)
    cfg.update(values)
    if backend is not None:
        cfg["use_xla_translate"] = backend == "xla"
    return cfg


@dataclass(frozen=True)
class InferenceConfig:
    """PtychoPINN's inference settings: the model directory, the data, how many groups."""

    model: ModelConfig
    model_path: Path
    test_data_file: Path
    n_groups: int | None = None
    n_images: int | None = None
    n_subsample: int | None = None
    subsample_seed: int | None = None
    neighbor_count: int = 4
    enable_oversampling: bool = False
    neighbor_pool_size: int | None = None
    debug: bool = False
    output_dir: Path = Path("inference_outputs")
    backend: str = "tensorflow"

    def __post_init__(self) -> None:
        for name in ("model_path", "test_data_file", "output_dir"):
            object.__setattr__(self, name, Path(getattr(self, name)))
        if self.n_images is not None:
            warnings.warn(
                "InferenceConfig: n_images is deprecated; use n_groups", DeprecationWarning, stacklevel=3
            )
            object.__setattr__(self, "n_groups", self.n_images)
        _only_value(self, "InferenceConfig", {"backend": _TRAINING_ONLY["backend"]})

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in values.items()}


def validate_model_config(config: ModelConfig) -> None:
    """Raise ValueError unless ``config`` is a ModelConfig this stack can build (its constructor
    has checked the fields; this re-checks a config built by ``dataclasses.replace`` or by hand)."""
    if not isinstance(config, ModelConfig):
        raise TypeError(f"validate_model_config: expected a ModelConfig; received {type(config).__name__}")
    ModelConfig(**{f: getattr(config, f) for f in config.__dataclass_fields__})


def validate_training_config(config: TrainingConfig) -> None:
    """``validate_model_config`` of its model, and PtychoPINN's own rules: a batch size that is a
    power of two, at least one epoch."""
    if not isinstance(config, TrainingConfig):
        raise TypeError(
            f"validate_training_config: expected a TrainingConfig; received {type(config).__name__}"
        )
    assert config.model is not None
    validate_model_config(config.model)
    _require(
        _power_of_two(config.batch_size),
        f"TrainingConfig: batch_size must be a power of two; received: batch_size={config.batch_size!r}",
    )
    _require(config.nepochs > 0, f"TrainingConfig: nepochs must be > 0; received: nepochs={config.nepochs!r}")


def validate_inference_config(config: InferenceConfig) -> None:
    """``validate_model_config`` of its model, and a ``model_path`` that holds a model bundle
    (a directory with ``wts.h5.zip``, or that archive itself)."""
    validate_model_config(config.model)
    path = config.model_path
    candidates = [path / "wts.h5.zip"] if path.is_dir() else [path, Path(f"{path}.zip")]
    if not any(c.is_file() for c in candidates):
        raise ValueError(
            f"InferenceConfig: model_path {str(path)!r} holds no model bundle; expected a directory with "
            "wts.h5.zip (written by ptycho_train) or the archive itself"
        )


def load_yaml_config(path: str | Path) -> dict[str, Any]:
    """A YAML config file as a dict (``yaml.safe_load``); anything but a mapping is refused."""
    import yaml

    text = Path(path).read_text()
    values = yaml.safe_load(text)
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ValueError(
            f"{path}: a config file must hold a mapping of keys to values; found {type(values).__name__}"
        )
    return values
