"""PtychoPINN's ``ptycho.workflows.components``: load an NPZ, train, stitch, save the images.

``run_cdi_example(train_data, test_data, config, do_stitching=True)`` trains on RawData through
``generate_grouped_data`` -> ``loader.load`` -> ``train_pinn.train`` and stitches the test data's
reconstruction with ``reassemble_position``. Random choices use a local generator seeded by the
arguments (PtychoPINN re-seeded NumPy's global one); nothing is written outside the output paths
given (PtychoPINN wrote ``tmp/subsample_seed*_indices.txt`` in the working directory).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

import numpy as np

from .. import params as _params
from ..config.config import (
    ModelConfig,
    TrainingConfig,
    load_yaml_config,
    update_legacy_dict,
)
from ..files import DataFileError, atomic_path, read_npz
from . import loader, model_manager, nbutils, train_pinn
from .raw_data import RawData
from .tf_helper import reassemble_position

log = logging.getLogger(__name__)

_KEYS = ("xcoords", "ycoords", "probeGuess")
_OPTIONAL = (
    "xcoords_start",
    "ycoords_start",
    "diff3d",
    "diffraction",
    "objectGuess",
    "Y",
    "scan_index",
    "nphotons",
)


def load_data(
    file_path: str | Path,
    n_images: int | None = None,
    n_subsample: int | None = None,
    flip_x: bool = False,
    flip_y: bool = False,
    swap_xy: bool = False,
    n_samples: int = 1,
    coord_scale: float = 1.0,
    subsample_seed: int | None = None,
) -> RawData:
    """RawData from an NPZ (``diff3d`` or ``diffraction`` as ``(n, N, N)``), optionally flipped,
    swapped and scaled in its coordinates, and subsampled: ``n_subsample`` (else ``n_images``)
    positions drawn without replacement, kept in scan order."""
    name = str(file_path)
    arrays = read_npz(file_path, required=_KEYS, optional=_OPTIONAL)
    diffraction = arrays.get("diff3d", arrays.get("diffraction"))
    if diffraction is None:
        raise DataFileError(
            f"{name}: missing key diff3d (or diffraction): the diffraction amplitudes (n, N, N)"
        )
    x, y = arrays["xcoords"].astype(np.float64), arrays["ycoords"].astype(np.float64)
    xs, ys = (
        arrays.get("xcoords_start", x).astype(np.float64),
        arrays.get("ycoords_start", y).astype(np.float64),
    )
    if diffraction.ndim != 3 or diffraction.shape[0] != len(x):
        raise DataFileError(
            f"{name}: the diffraction must be (n, N, N) with n = {len(x)} positions; received shape "
            f"{diffraction.shape} (PtychoPINN transposed (N, N, n) by guessing; transpose it yourself)"
        )
    if flip_x:
        x, xs = -x, -xs
    if flip_y:
        y, ys = -y, -ys
    if swap_xy:
        x, y, xs, ys = y, x, ys, xs
    x, y, xs, ys = (a * coord_scale for a in (x, y, xs, ys))
    count = n_subsample if n_subsample is not None else n_images
    keep = np.arange(len(x))
    if count is not None:
        if not (isinstance(count, (int, np.integer)) and count >= 1):
            raise ValueError(f"load_data: n_subsample/n_images must be an int >= 1; received {count!r}")
        if count > len(x):
            raise ValueError(f"load_data: {count} positions requested; {name} has {len(x)}")
        keep = np.sort(np.random.default_rng(subsample_seed).choice(len(x), count, replace=False))
    Y = arrays.get("Y")
    if Y is not None and Y.shape[0] != len(x):
        raise DataFileError(f"{name}: key Y has {Y.shape[0]} patches for {len(x)} positions")
    metadata = {"nphotons": float(arrays["nphotons"])} if "nphotons" in arrays else None
    raw = RawData(
        x[keep],
        y[keep],
        xs[keep],
        ys[keep],
        diffraction[keep],
        arrays["probeGuess"],
        arrays.get("scan_index", np.zeros(len(x), np.int64))[keep],
        arrays.get("objectGuess"),
        None if Y is None else Y[keep],
        metadata=metadata,
    )
    raw.sample_indices = keep
    raw.subsample_seed = subsample_seed
    return raw


def _model(config: Any) -> ModelConfig:
    model = getattr(config, "model", None)
    if not isinstance(model, ModelConfig):
        raise TypeError(
            "expected a TrainingConfig or InferenceConfig with a ModelConfig; "
            f"received {type(config).__name__}"
        )
    return model


def create_ptycho_data_container(data: Any, config: Any) -> loader.PtychoDataContainer:
    """A container as is; RawData grouped by the config (N, gridsize, neighbour count, groups)."""
    if isinstance(data, loader.PtychoDataContainer):
        return data
    if not isinstance(data, RawData):
        raise TypeError(f"expected RawData or PtychoDataContainer; received {type(data).__name__}")
    model = _model(config)
    n_groups = getattr(config, "n_groups", None) or len(data.xcoords)
    nphotons = getattr(config, "nphotons", None) or (data.nphotons or float(_params.get("nphotons")))
    dset = data.generate_grouped_data(
        model.N,
        K=getattr(config, "neighbor_count", 4),
        nsamples=n_groups,
        sequential_sampling=getattr(config, "sequential_sampling", False),
        gridsize=model.gridsize,
        enable_oversampling=getattr(config, "enable_oversampling", False),
        neighbor_pool_size=getattr(config, "neighbor_pool_size", None),
        seed=getattr(config, "seed", 0),
    )
    container = loader.load(lambda: dset, data.probeGuess, None, False)
    container.nphotons = float(nphotons)
    return container


def train_cdi_model(train_data: Any, test_data: Any, config: TrainingConfig) -> dict[str, Any]:
    """Train on ``train_data``: ``{"history", "train_loss", "history_epochs", "model_instance",
    "train_container", "test_container"}``."""
    train_container = create_ptycho_data_container(train_data, config)
    test_container = None if test_data is None else create_ptycho_data_container(test_data, config)
    autoencoder, history = train_pinn.train(train_container)
    losses = history.history
    return {
        "history": {**losses, "train_loss": losses.get("loss", [])},
        "history_epochs": len(losses.get("loss", [])),
        "model_instance": autoencoder,
        "train_container": train_container,
        "test_container": test_container,
    }


def reassemble_cdi_image(
    test_data: Any,
    config: Any,
    flip_x: bool = False,
    flip_y: bool = False,
    transpose: bool = False,
    M: int = 20,
    coord_scale: float = 1.0,
    diffraction_to_obj: Any = None,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Reconstruct ``test_data`` with the trained model and stitch the central ``M x M`` of each
    patch: ``(amplitude (P, P, 1), phase (P, P, 1), results)``."""
    container = create_ptycho_data_container(test_data, config)
    patches, offsets = nbutils.reconstruct_image(container, diffraction_to_obj)
    offsets = offsets.copy()
    if transpose:
        offsets = offsets[:, :, ::-1, :]
    if flip_x:
        offsets[:, :, 0, :] *= -1
    if flip_y:
        offsets[:, :, 1, :] *= -1
    offsets = offsets * coord_scale
    stitched = reassemble_position(patches, offsets, M=M).numpy()
    amplitude, phase = np.abs(stitched), np.angle(stitched)
    results = {
        "obj_tensor_full": patches,
        "global_offsets": offsets,
        "recon_amp": amplitude,
        "recon_phase": phase,
    }
    return amplitude, phase, results


def run_cdi_example(
    train_data: Any,
    test_data: Any,
    config: TrainingConfig,
    flip_x: bool = False,
    flip_y: bool = False,
    transpose: bool = False,
    M: int = 20,
    do_stitching: bool = False,
) -> tuple[np.ndarray | None, np.ndarray | None, dict[str, Any]]:
    """Train, then (with ``do_stitching`` and test data) stitch the test reconstruction:
    ``(amplitude | None, phase | None, results)``."""
    update_legacy_dict(_params.cfg, config)
    results = train_cdi_model(train_data, test_data, config)
    if not (do_stitching and test_data is not None):
        return None, None, results
    amplitude, phase, stitched = reassemble_cdi_image(
        results["test_container"],
        config,
        flip_x,
        flip_y,
        transpose,
        M,
        diffraction_to_obj=results["model_instance"],
    )
    results.update(stitched)
    return amplitude, phase, results


def save_outputs(
    amplitude: np.ndarray | None, phase: np.ndarray | None, results: dict[str, Any], output_prefix: str | Path
) -> None:
    """``reconstructed_amplitude.png`` (gray) and ``reconstructed_phase.png`` (viridis) in
    ``output_prefix``, each written whole or not at all; nothing when either is None."""
    out = Path(output_prefix)
    out.mkdir(parents=True, exist_ok=True)
    if amplitude is None or phase is None:
        return
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    for name, image, cmap in (("amplitude", amplitude, "gray"), ("phase", phase, "viridis")):
        with atomic_path(out / f"reconstructed_{name}.png") as tmp:
            plt.imsave(tmp, np.squeeze(np.asarray(image)), cmap=cmap, format="png")


def load_inference_bundle(model_dir: str | Path) -> tuple[Any, dict[str, Any]]:
    """``(diffraction_to_obj, config)`` of the model saved in ``model_dir`` (``wts.h5.zip``): the
    config is the legacy dict saved with it, plus the model's N, gridsize and intensity scale;
    the ambient legacy dict is left as it is (PtychoPINN overwrote it)."""
    path = Path(model_dir)
    if not path.is_dir():
        raise ValueError(f"load_inference_bundle: {str(path)!r} is not a directory")
    if not (path / model_manager.ARCHIVE).is_file():
        raise FileNotFoundError(f"load_inference_bundle: {path / model_manager.ARCHIVE} not found")
    bundle, legacy = model_manager.load_bundle_archive(path)
    model = bundle.model_config
    config = {
        **legacy,
        "N": model.N,
        "gridsize": model.gridsize,
        "intensity_scale": bundle.info["intensity_scale"],
    }
    return bundle.diffraction_to_obj, config


def update_config_from_dict(config: TrainingConfig, values: dict[str, Any]) -> TrainingConfig:
    """``config`` with ``values`` (flat or with a ``model:`` section) applied; unknown keys refused."""
    from dataclasses import fields, replace

    values = dict(values)
    model_values = dict(values.pop("model", {}) or {})
    model_names = {f.name for f in fields(ModelConfig)}
    training_names = {f.name for f in fields(TrainingConfig)} - {"model", "N", "gridsize"}
    for key in list(values):
        if key in model_names:
            model_values[key] = values.pop(key)
    unknown = sorted(set(values) - training_names) + sorted(set(model_values) - model_names)
    if unknown:
        raise ValueError(f"config: unknown keys {unknown} (docs/migrating.md lists the fields)")
    assert config.model is not None
    return replace(config, model=replace(config.model, **model_values), N=None, gridsize=None, **values)


def setup_configuration(args: argparse.Namespace, yaml_path: str | Path | None) -> TrainingConfig:
    """The YAML file's values, then the flags the user gave (``argparse.SUPPRESS`` defaults: a flag
    not given never overrides the file), bridged into the legacy dict."""
    config = TrainingConfig(model=ModelConfig(gridsize=1), neighbor_count=4)  # PtychoPINN's defaults
    if yaml_path is not None:
        config = update_config_from_dict(config, load_yaml_config(yaml_path))
    config = update_config_from_dict(config, {k: v for k, v in vars(args).items() if k in _flag_names()})
    update_legacy_dict(_params.cfg, config)
    return config


def _flag_names() -> set[str]:
    from dataclasses import fields

    return ({f.name for f in fields(TrainingConfig)} | {f.name for f in fields(ModelConfig)}) - {
        "model",
        "extra",
    }
