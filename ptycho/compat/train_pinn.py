"""PtychoPINN's ``ptycho.train_pinn``: train a model on a container, and its intensity scale.

``train`` builds the model from the legacy dict's ``N``, ``gridsize``, ``n_filters_scale``,
``nepochs``, ``batch_size`` and loss weights (and, when a config was bridged with
``update_legacy_dict``, its ``learning_rate``, ``seed`` and ``conv_precision``), read here, at the
edge, with the dose the container carries; trains it with this stack's trainer and returns
``(autoencoder, history)``. Each model has its own intensity scale
(PtychoPINN shared one variable among every model in a process).
"""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np

from .. import params as _params
from ..config.config import ModelConfig, TrainingConfig
from ..training import train as _train
from . import model_manager
from .loader import PtychoDataContainer, PtychoDataset


def config_from_params(data: PtychoDataContainer) -> TrainingConfig:
    """The ``TrainingConfig`` the legacy dict describes for ``data``: the canvas margin is
    PtychoPINN's, ``(get_padded_size() - N) / 2``, or the data's largest offset if larger."""
    cfg = _params.params()
    n, g = int(cfg["N"]), int(cfg["gridsize"])
    largest = float(np.max(np.abs(np.asarray(data.coords_nominal)))) if len(data) else 0.0
    margin = max((_params.get_padded_size() - n) / 2, math.ceil(largest))
    mae, nll = float(cfg.get("mae_weight", 0.0)), float(cfg.get("nll_weight", 1.0))
    return TrainingConfig(
        model=ModelConfig(
            N=n,
            gridsize=g,
            n_filters_scale=int(cfg["n_filters_scale"]),
            max_offset=margin,
            conv_precision=cfg.get("conv_precision", "float32"),
        ),
        nepochs=int(cfg["nepochs"]),
        batch_size=int(cfg["batch_size"]),
        learning_rate=float(cfg.get("learning_rate", 1e-3)),
        seed=int(cfg.get("seed", 0)),
        nphotons=data.nphotons,
        mae_weight=mae,
        nll_weight=nll,
        n_groups=max(len(data), 1),
        neighbor_count=max(int(cfg.get("K", 4)), g * g),
    )


def calculate_intensity_scale(data: PtychoDataContainer) -> float:
    """``sqrt(nphotons) / (N / 2)``: per pattern, as the model uses it (PtychoPINN's summed the
    energy over the C channels too, a factor sqrt(C) smaller at gridsize > 1)."""
    return data.intensity_scale


def train(
    train_data: PtychoDataContainer, intensity_scale: float | None = None, model_instance: Any = None
) -> tuple[keras.Model, keras.callbacks.History]:
    """A fresh model trained on ``train_data``: ``(autoencoder, history)``; ``history.history`` holds
    the loss per epoch. ``intensity_scale``, if given, must be the data's; continuing to train a
    given ``model_instance`` is not implemented."""
    if model_instance is not None:
        raise ValueError(
            "train: model_instance is not supported; a fresh model is trained (docs/migrating.md)"
        )
    if not isinstance(train_data, PtychoDataContainer):
        raise TypeError(f"train: expected a loader.PtychoDataContainer; received {type(train_data).__name__}")
    if intensity_scale is not None and not math.isclose(
        intensity_scale, train_data.intensity_scale, rel_tol=1e-6
    ):
        raise ValueError(
            f"train: intensity_scale={intensity_scale:g} differs from the data's, "
            f"{train_data.intensity_scale:g} "
            f"(sqrt(nphotons) / (N/2) at nphotons={train_data.nphotons:g}); each model takes its data's scale"
        )
    config = config_from_params(train_data)
    stack_data = train_data.to_stack()
    result = _train(stack_data, config)
    _params.set("intensity_scale", train_data.intensity_scale)
    model_manager.remember(result.model.autoencoder, config, stack_data.inputs())
    history = keras.callbacks.History()
    history.history = dict(result.history)
    return result.model.autoencoder, history


def train_eval(ptycho_dataset: PtychoDataset) -> dict[str, Any]:
    """Train on ``ptycho_dataset.train_data``; with test data, also its predictions:
    ``{"history", "model_instance"}`` and ``reconstructed_obj`` (the object patches),
    ``pred_amp`` (the predicted diffraction amplitudes), ``reconstructed_obj_cdi`` (the same
    patches) and ``stitched_obj`` (``reassemble_position`` of them, ``M = 20``)."""
    from .tf_helper import reassemble_position

    model, history = train(ptycho_dataset.train_data)
    results: dict[str, Any] = {"history": history.history, "model_instance": model}
    test = ptycho_dataset.test_data
    if test is not None:
        inputs = [np.asarray(test.X) * test.intensity_scale, np.asarray(test.coords_nominal)]
        obj, amplitude, _ = model.predict(inputs, verbose=0)
        results.update(
            reconstructed_obj=obj,
            pred_amp=amplitude,
            reconstructed_obj_cdi=obj,
            stitched_obj=reassemble_position(
                obj, test.global_offsets, M=min(20, obj.shape[1] // 2 * 2)
            ).numpy(),
        )
    return results
