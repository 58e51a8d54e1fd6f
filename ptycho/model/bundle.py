"""A trained model saved with what it needs to be used again: its config, and a check of itself.

A bundle is a directory: ``model.keras`` (the autoencoder: every layer and weight, the trained
intensity scale and the translation backend in the layers' configs), ``model.json`` (the
``TrainingConfig``, the backend, the intensity scale, library versions) and ``check.npz`` (a few
inputs and the object the model predicted for them when saved). ``load_bundle`` re-runs the check,
so a model that does not reproduce its own predictions after loading is refused, not used.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np

from ..config.config import ModelConfig, TrainingConfig
from ..files import atomic_path, save_json, save_npz

FORMAT = 1
CHECK_GROUPS = 4
CHECK_TOLERANCE = 1e-4  # relative to the predicted object's largest magnitude


class BundleError(ValueError):
    """A directory that is not a usable model bundle; the message names the file and the problem."""


@dataclass
class Bundle:
    autoencoder: keras.Model
    diffraction_to_obj: keras.Model
    config: TrainingConfig
    info: dict[str, Any]

    @property
    def model_config(self) -> ModelConfig:
        assert self.config.model is not None
        return self.config.model


def config_from_dict(values: dict[str, Any]) -> TrainingConfig:
    """The inverse of ``TrainingConfig.to_dict``."""
    values = dict(values)
    model = ModelConfig(**values.pop("model"))
    return TrainingConfig(model=model, **{k: v for k, v in values.items() if k not in ("N", "gridsize")})


def intensity_scale_of(model: keras.Model) -> float:
    return float(math.exp(float(model.get_layer("intensity_scale").log_scale.numpy())))


def save_bundle(
    directory: str | Path, autoencoder: keras.Model, config: TrainingConfig, inputs: list[np.ndarray]
) -> None:
    """Save ``autoencoder`` and ``config`` into ``directory``; ``inputs`` ``[X, coords]`` for the check."""
    import tensorflow as tf

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "model.keras") as tmp:
        autoencoder.save(tmp)
    check_inputs = [np.asarray(a[:CHECK_GROUPS]) for a in inputs]
    predicted = _object_model(autoencoder).predict(check_inputs, verbose=0)
    save_npz(out / "check.npz", X=check_inputs[0], coords=check_inputs[1], object=predicted)
    save_json(
        out / "model.json",
        {
            "format": FORMAT,
            "config": config.to_dict(),
            "translate_backend": getattr(autoencoder, "translate_backend", None),
            "intensity_scale": intensity_scale_of(autoencoder),
            "keras": keras.__version__,
            "tensorflow": tf.__version__,
        },
    )


def _object_model(autoencoder: keras.Model) -> keras.Model:
    return keras.Model(autoencoder.inputs, autoencoder.get_layer("object").output, name="diffraction_to_obj")


def load_bundle(directory: str | Path, verify: bool = True) -> Bundle:
    """Load a bundle; with ``verify`` its saved check must be reproduced (else ``BundleError``)."""
    from . import layers as _layers  # noqa: F401  (registers the custom layers with Keras)

    root = Path(directory)
    name = str(root)
    if not root.is_dir():
        raise BundleError(f"{name}: no such directory; expected a model directory written by ptycho-train")
    missing = [f for f in ("model.keras", "model.json", "check.npz") if not (root / f).is_file()]
    if missing:
        raise BundleError(
            f"{name}: not a model directory (missing {', '.join(missing)}); expected the --output_dir "
            "of ptycho-train"
        )
    try:
        info = json.loads((root / "model.json").read_text())
        if info.get("format") != FORMAT:
            raise BundleError(f"{name}/model.json: format {info.get('format')!r}; expected {FORMAT}")
        config = config_from_dict(info["config"])
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise BundleError(f"{name}/model.json is not a model description ({exc})") from None
    try:
        autoencoder = keras.models.load_model(root / "model.keras")
    except Exception as exc:  # Keras raises many types for a damaged archive
        raise BundleError(f"{name}/model.keras could not be loaded ({type(exc).__name__}: {exc})") from None
    diffraction_to_obj = _object_model(autoencoder)
    backend = info.get("translate_backend")
    for model in (autoencoder, diffraction_to_obj):
        model.translate_backend = backend
        model.model_config = config.model
    bundle = Bundle(autoencoder, diffraction_to_obj, config, info)
    if verify:
        _verify(bundle, root)
    return bundle


def _verify(bundle: Bundle, root: Path) -> None:
    from ..files import read_npz

    check = read_npz(root / "check.npz", required=("X", "coords", "object"))
    again = bundle.diffraction_to_obj.predict([check["X"], check["coords"]], verbose=0)
    scale = max(float(np.max(np.abs(check["object"]))), 1e-12)
    error = float(np.max(np.abs(again - check["object"]))) / scale
    if not error <= CHECK_TOLERANCE:
        raise BundleError(
            f"{root}: the loaded model does not reproduce the predictions saved with it (largest "
            f"difference {error:.3g} of the largest magnitude; tolerance {CHECK_TOLERANCE:g}): saved "
            f"with Keras {bundle.info.get('keras')}, TensorFlow {bundle.info.get('tensorflow')}"
        )
