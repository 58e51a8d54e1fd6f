"""Training, inference and stitching.

``train`` fits a fresh model to a ``PtychoDataContainer``; ``reconstruct`` predicts every group's
object patch and stitches them into the full object at the groups' centroids
(``ptycho.tensors.stitching.reassemble_position``); ``train_eval`` does both and writes the history.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

import contracts

from .config.config import TrainingConfig
from .data.container import PtychoDataContainer
from .distributed.strategy import StrategySpec, resolve_strategy, strategy_scope
from .model.factory import CompiledModel, create_compiled_model
from .tensors import margin
from .tensors.stitching import reassemble_position
from .tensors.translation import BackendRequest

log = logging.getLogger(__name__)


class _LogProgress(keras.callbacks.Callback):
    """One log line per epoch (progress without a terminal progress bar)."""

    def __init__(self, total: int) -> None:
        super().__init__()
        self.total = total

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        values = ", ".join(f"{k}={v:.6g}" for k, v in (logs or {}).items())
        log.info("epoch %d/%d: %s", epoch + 1, self.total, values)


@dataclass
class TrainResult:
    model: CompiledModel
    history: dict[str, list[float]]


def train(
    data: PtychoDataContainer,
    config: TrainingConfig,
    validation: PtychoDataContainer | None = None,
    callbacks: list[Any] | None = None,
    *,
    strategy: StrategySpec = None,
    devices: Sequence[str] | None = None,
    backup_dir: str | Path | None = None,
    epoch_order: bool | None = None,
) -> TrainResult:
    """Build a fresh model for ``config`` and fit it on ``data``; the data must fit the model.

    ``strategy``: ``None``, ``"mirrored"`` (with ``devices``, or all local devices),
    ``"multiworker"`` or a ``tf.distribute.Strategy`` (``ptycho.distributed.strategy``); the model
    and optimizer are built under its scope, ``config.batch_size`` is the global batch, split
    among the replicas. ``backup_dir``, ``epoch_order``: see ``fit`` (a strategy implies
    ``epoch_order``).
    """
    check_data(data, config)
    resolved = resolve_strategy(strategy, devices)
    with strategy_scope(resolved):
        compiled = create_compiled_model(config, probe=data.probe)
    if epoch_order is None:
        epoch_order = resolved is not None or backup_dir is not None
    history = fit(
        compiled, data, config, validation, callbacks, backup_dir=backup_dir, epoch_order=epoch_order
    )
    return TrainResult(compiled, history)


def check_data(data: PtychoDataContainer, config: TrainingConfig) -> None:
    """Refuse data whose N, gridsize or offsets the model for ``config`` cannot hold."""
    model_config = config.model
    assert model_config is not None
    if data.N != model_config.N or data.gridsize != model_config.gridsize:
        raise ValueError(
            f"data has N={data.N}, gridsize={data.gridsize}; the model has N={model_config.N}, "
            f"gridsize={model_config.gridsize}"
        )
    if not np.isclose(data.nphotons, config.nphotons, rtol=1e-6):
        raise ValueError(
            f"the data was prepared for nphotons={data.nphotons:g} and the config says "
            f"nphotons={config.nphotons:g}; the model's intensity scale comes from the config, so "
            "they must agree (build the config with the data's nphotons)"
        )
    margin.refuse_beyond(data.coords, model_config.N, model_config.padded_size)


def fit(
    compiled: CompiledModel,
    data: PtychoDataContainer,
    config: TrainingConfig,
    validation: PtychoDataContainer | None = None,
    callbacks: list[Any] | None = None,
    *,
    backup_dir: str | Path | None = None,
    epoch_order: bool | None = None,
) -> dict[str, list[float]]:
    """Fit ``compiled.trainer`` on ``data`` for ``config.nepochs`` epochs (0: no fit); the history.

    ``epoch_order``: shuffle each epoch by ``(config.seed, epoch)`` (``as_dataset(epoch=)``)
    instead of tf.data's reshuffling, whose order depends on how often the data set was iterated
    (a distributed data set is iterated differently: measured, two replicas then train on another
    order than one device). Default: on under a strategy and with ``backup_dir``; off otherwise,
    which keeps the one-device results recorded before it existed. The two orders differ.
    ``backup_dir``: keep the weights, the optimizer and the epoch there after every epoch
    (``keras.callbacks.BackupAndRestore``), so that a run started again after an interruption at
    epoch k resumes at epoch k + 1 with the data order the uninterrupted run had (it implies
    ``epoch_order``). The directory is removed when training completes.
    The history then holds the resumed epochs only. The learning-rate schedule and early stopping
    restart their patience counts on resumption.
    A contract violation inside the training step (on any replica) is raised as
    ``ShapeContractError``.
    """
    check_data(data, config)
    if config.nepochs == 0:
        return {}
    target = "intensity" if config.loss == "nll" else "amplitude"

    fit_callbacks = [
        keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=2, min_lr=1e-4),
        keras.callbacks.EarlyStopping(monitor="loss", patience=3),
        _LogProgress(config.nepochs),
        *(callbacks or []),
    ]
    if backup_dir is not None and epoch_order is False:
        raise ValueError("backup_dir needs epoch_order (a resumed run must see the same data order)")
    if epoch_order is None:
        epoch_order = backup_dir is not None or compiled.trainer.distribute_strategy.num_replicas_in_sync > 1
    epoch = None
    if epoch_order:
        epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="data_epoch")
        fit_callbacks = [_DataEpoch(epoch), *fit_callbacks]
    if backup_dir is not None:
        fit_callbacks = [keras.callbacks.BackupAndRestore(str(backup_dir)), *fit_callbacks]
    training = data.as_dataset(config.batch_size, shuffle=True, seed=config.seed, target=target, epoch=epoch)
    validating = None if validation is None else validation.as_dataset(config.batch_size, target=target)
    with contracts.raising_contract_errors():
        history = compiled.trainer.fit(
            _shard_by_data(training),
            validation_data=None if validating is None else _shard_by_data(validating),
            epochs=config.nepochs,
            verbose=0,
            shuffle=False,
            callbacks=fit_callbacks,
        )
    return {k: [float(v) for v in values] for k, values in history.history.items()}


class _DataEpoch(keras.callbacks.Callback):
    """Sets the data set's epoch (``PtychoDataContainer.as_dataset(epoch=)``) as each epoch starts."""

    def __init__(self, epoch: tf.Variable) -> None:
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch.assign(epoch)


def _shard_by_data(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """Several workers split every global batch (not the files: there are none), in order."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def predict(model: keras.Model, data: PtychoDataContainer, batch_size: int = 32) -> Any:
    """``model.predict`` on ``data.inputs()``, refusing offsets beyond the model's canvas margin.

    The data is checked before the model runs (``tensors.margin``); a model compiled with XLA
    cannot raise from inside, so NaN rows in the output are traced back to the offending group
    and refused with the same message.
    """
    config = getattr(model, "model_config", None)
    if config is not None:
        margin.refuse_beyond(data.coords, config.N, config.padded_size)
    if len(data) == 0:  # Keras' predict fails on no batches at all: empty outputs of the right shapes
        return _empty_outputs(model)
    out = model.predict(data.inputs(), batch_size=batch_size, verbose=0)
    first = out[0] if isinstance(out, (list, tuple)) else out
    if config is not None and len(first) and np.isnan(first).any():
        margin.refuse_beyond(data.coords, config.N, config.padded_size)
    return out


def _empty_outputs(model: keras.Model) -> Any:
    outputs = [
        np.zeros((0, *tuple(t.shape)[1:]), dtype=keras.backend.standardize_dtype(t.dtype))
        for t in model.outputs
    ]
    return outputs if len(outputs) > 1 else outputs[0]


def reconstruct(
    diffraction_to_obj: keras.Model,
    data: PtychoDataContainer,
    object_shape: tuple[int, int],
    batch_size: int = 32,
    crop: int | None = None,
) -> np.ndarray:
    """Predict every group's object patch and stitch them into the full object ``(H, W)`` complex.

    ``crop``: stitch only the central ``crop x crop`` of each patch (same centre, CONVENTIONS.md);
    the network's patches have support only in their central ``N/2`` box, so stitching the whole
    ``N x N`` window would average in zeros. Stitched with the model's translation backend.
    """
    patches = predict(diffraction_to_obj, data, batch_size)
    n = patches.shape[1]
    if crop is not None:
        if not (0 < crop <= n and (n - crop) % 2 == 0):
            raise ValueError(
                f"reconstruct: crop must be in (0, N={n}] with N - crop even; received: crop={crop!r}"
            )
        start = (n - crop) // 2
        patches = patches[:, start : start + crop, start : start + crop]
    # The model's own backend (a model loaded from a file has none recorded: decided here).
    backend: BackendRequest = getattr(diffraction_to_obj, "translate_backend", "auto")
    return reassemble_position(patches, data.global_offsets, object_shape, backend=backend).numpy()


def train_eval(
    train_data: PtychoDataContainer,
    test_data: PtychoDataContainer,
    config: TrainingConfig,
    object_shape: tuple[int, int],
    output_dir: str | Path | None = None,
) -> tuple[TrainResult, np.ndarray]:
    """Train, reconstruct the test data, and (with ``output_dir``) save ``history.json``."""
    result = train(train_data, config)
    stitched = reconstruct(result.model.diffraction_to_obj, test_data, object_shape, config.batch_size)
    if output_dir is not None:
        out = Path(output_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "history.json").write_text(json.dumps(result.history, indent=2))
    return result, stitched
