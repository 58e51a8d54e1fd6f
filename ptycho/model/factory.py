"""The physics-informed autoencoder (PtychoPINN's architecture, PHYSICS.md), built fresh on every call.

Inputs ``[X (B, N, N, C), coords (B, 1, 2, C)]`` where ``X`` is the diffraction amplitude times the
intensity scale. Outputs: object ``(B, N, N, 1)`` complex64, predicted amplitude ``(B, N, N, C)``,
predicted intensity ``(B, N, N, C)``. No module state: two models never share a variable. The
translation backend is decided here, once per model, and handed to its layers as ``"xla"`` or
``"v3"``.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, NamedTuple

import keras
import numpy as np
import tensorflow as tf

from ..config.config import Backend, ConvPrecision, ModelConfig, TrainingConfig
from ..data.container import intensity_scale
from ..physics.losses import amplitude_mae_per_example, poisson_nll_per_example
from ..physics.probe import get_default_probe, validate_probe
from ..tensors.translation import decide_backend
from . import layers as L

OUTPUTS = ("object", "pred_amplitude", "pred_intensity")


def _filters(N: int, scale: int) -> tuple[list[int], list[int]]:
    levels = int(math.log2(N // 8))  # bottleneck 8 x 8
    encoder = [scale * 32 * 2**i for i in range(levels)]
    return encoder, encoder[-2::-1]


# Keras dtype policy of the convolution stack per ModelConfig.conv_precision: "mixed_bfloat16"
# computes in bfloat16 with float32 weights. The heads stay float32 (the amplitude and phase the
# physics receives keep their precision), and so does every physics layer (Keras casts their inputs).
_CONV_POLICY = {"float32": "float32", "bfloat16": "mixed_bfloat16"}


def _relu_conv(filters: int, policy: str) -> Any:
    # He initialisation, not Keras' default Glorot: the stack is ReLU convolutions only (no skips,
    # no normalisation), and with Glorot the forward signal fades with width and depth. Measured on
    # the untrained full preset (N=64, 2x filters): the object's spread across groups was 0.0006
    # (an output that ignores its input, and a network that never left it), 0.108 with He.
    return L.Conv2D(
        filters, 3, padding="same", activation="relu", kernel_initializer="he_normal", dtype=policy
    )


def _encoder(x: Any, filters: list[int], policy: str) -> Any:
    for f in filters:
        x = _relu_conv(f, policy)(x)
        x = _relu_conv(f, policy)(x)
        x = L.MaxPooling2D(2, dtype=policy)(x)
    return x


def _decoder(x: Any, filters: list[int], channels: int, activation: str, name: str, policy: str) -> Any:
    for f in filters:
        x = _relu_conv(f, policy)(x)
        x = _relu_conv(f, policy)(x)
        x = keras.layers.UpSampling2D(2, interpolation="nearest", dtype=policy)(x)
    x = L.Conv2D(channels, 3, padding="same", activation=activation, name=f"{name}_head")(x)
    return x


def create_model_with_gridsize(
    gridsize: int,
    N: int,
    translate_backend: Backend | None = None,
    *,
    n_filters_scale: int = 2,
    max_offset: float = 7.0,
    probe: np.ndarray | None = None,
    probe_mask: bool = False,
    nphotons: float = 1e9,
    conv_precision: ConvPrecision = "float32",
) -> tuple[keras.Model, keras.Model]:
    """``(autoencoder, diffraction_to_obj)``: a new model on every call.

    ``translate_backend``: "xla" or "v3"; None decides now from ``USE_XLA_TRANSLATE``, then
    ``params.cfg['use_xla_translate']``, then XLA. The choice is recorded on both models as
    ``translate_backend``, and the source that made it as ``translate_backend_source``.
    """
    config = ModelConfig(
        N=N,
        gridsize=gridsize,
        n_filters_scale=n_filters_scale,
        max_offset=max_offset,
        probe_mask=probe_mask,
        translate_backend=translate_backend,
        conv_precision=conv_precision,
    )
    decision = decide_backend(translate_backend)
    backend = decision.backend
    c, m = config.C, config.padded_size
    probe = get_default_probe(N) if probe is None else validate_probe(probe, N)

    diffraction = keras.Input((N, N, c), name="diffraction")
    coords = keras.Input((1, 2, c), name="coords")
    scale = L.IntensityScale(intensity_scale(nphotons, N), name="intensity_scale")
    down, up = _filters(N, n_filters_scale)
    policy = _CONV_POLICY[config.conv_precision]
    encoded = _encoder(scale(diffraction), down, policy)
    amplitude = _decoder(encoded, up, c, "sigmoid", "amplitude", policy)
    phase_raw = _decoder(encoded, up, c, "tanh", "phase", policy)
    phase = keras.layers.Rescaling(math.pi, name="phase")(phase_raw)
    patches = L.CombineComplex(N, name="patches")(amplitude, phase)
    # Overlap weights on the patches' support (the central N/2 box), as PtychoPINN's centre mask.
    canvas = L.ReassemblePatchesLayer(m, backend=backend, support=N // 2, name="reassemble")(patches, coords)
    obj = L.TrimReconstruction(N, name="object")(canvas)
    flat = L.ExtractPatchesPositionLayer(N, backend=backend, name="extract")(canvas, coords)
    waves = L.ProbeIllumination(N, probe=probe, mask=probe_mask, name="illumination")(flat)
    predicted = L.DiffractionAmplitude(c, name="diffraction_amplitude")(waves)
    amplitude_out = scale(predicted, inverse=True)
    amplitude_out = keras.layers.Identity(name="pred_amplitude")(amplitude_out)
    intensity_out = L.Square(name="pred_intensity")(amplitude_out)

    autoencoder = keras.Model([diffraction, coords], [obj, amplitude_out, intensity_out], name="autoencoder")
    diffraction_to_obj = keras.Model([diffraction, coords], obj, name="diffraction_to_obj")
    for model in (autoencoder, diffraction_to_obj):
        model.translate_backend = backend
        model.translate_backend_source = decision.source
        model.model_config = replace(config, translate_backend=backend)
    return autoencoder, diffraction_to_obj


class CompiledModel(NamedTuple):
    """The autoencoder and object models, and ``trainer``: the autoencoder's layers with the one
    output the loss is on, compiled (Keras needs a target for every output it was compiled with)."""

    autoencoder: keras.Model
    diffraction_to_obj: keras.Model
    trainer: keras.Model


# The trainer's loss: the output it is on and its per-example form.
LOSSES = {
    "nll": ("pred_intensity", poisson_nll_per_example),
    "mae": ("pred_amplitude", amplitude_mae_per_example),
}


@keras.saving.register_keras_serializable(package=L.PACKAGE)
class Trainer(keras.Model):
    """A functional model whose loss is the mean over every real example of the global batch.

    Keras divides each replica's loss by that replica's own batch and then by the number of
    replicas, which weighs examples unequally when the last batch splits unevenly (2 + 1) and is
    NaN-prone on an empty share (1 + 0); a loss that returns a scalar is not scaled at all, so its
    gradients are summed over replicas. Here each replica sums its per-example losses
    (``per_example_loss(y_true, y_pred) -> (B,)``) and divides by the global count of examples
    (an all-reduce), so the gradients Keras' optimizer sums over replicas are those of the global
    mean, and an empty share contributes zero. The reported ``loss`` is that global mean too. On
    one device it is the plain batch mean.
    """

    def __init__(self, *args, per_example_loss: str = "nll", **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        if per_example_loss not in LOSSES:
            raise ValueError(
                f"per_example_loss must be one of {sorted(LOSSES)}; received: {per_example_loss!r}"
            )
        self.per_example_loss = per_example_loss
        self.loss_tracker = keras.metrics.Mean(name="loss")

    @property
    def metrics(self) -> list:  # type: ignore[override]
        return [self.loss_tracker]

    def _global_mean_loss(
        self, x: Any, y: Any, training: bool, sample_weight: Any = None
    ) -> tuple[tf.Tensor, tf.Tensor]:
        per_example = LOSSES[self.per_example_loss][1](y, self(x, training=training))
        if sample_weight is not None:  # weighs examples; the count stays the number of examples
            per_example = per_example * tf.reshape(tf.cast(sample_weight, per_example.dtype), [-1])
        count = tf.cast(tf.size(per_example), per_example.dtype)
        replicas = 1
        context = tf.distribute.get_replica_context()
        if context is not None and context.num_replicas_in_sync > 1:
            count = context.all_reduce(tf.distribute.ReduceOp.SUM, count)
            replicas = context.num_replicas_in_sync
        loss = tf.math.divide_no_nan(tf.reduce_sum(per_example), count)
        if self.losses:  # added losses are the same on every replica: each adds its share
            loss = loss + tf.add_n(self.losses) / replicas
        return per_example, loss

    def train_step(self, data: Any) -> dict[str, Any]:
        x, y, weight = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            per_example, loss = self._global_mean_loss(x, y, training=True, sample_weight=weight)
            scaled = self.optimizer.scale_loss(loss)
        gradients = tape.gradient(scaled, self.trainable_weights)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_weights))
        self.loss_tracker.update_state(per_example)
        return self._step_logs()

    def test_step(self, data: Any) -> dict[str, Any]:
        x, y, weight = keras.utils.unpack_x_y_sample_weight(data)
        per_example, _ = self._global_mean_loss(x, y, training=False, sample_weight=weight)
        self.loss_tracker.update_state(per_example)
        return self._step_logs()

    def _step_logs(self) -> dict[str, Any]:
        """A step's logs. Under ``MultiWorkerMirroredStrategy`` Keras 3.15 reduces every step output
        with ``strategy.reduce("MEAN", value, axis=0)``, which fails on a scalar ("Invalid reduction
        dimension 0 for input with 0 dimensions"; Keras' own train step fails the same way), so
        there the loss has a leading axis of 1. The epoch's logs and the history do not come from
        here: Keras reads the tracker itself, summed over replicas and workers."""
        loss = self.loss_tracker.result()
        if isinstance(self.distribute_strategy, tf.distribute.MultiWorkerMirroredStrategy):
            loss = tf.reshape(loss, [1])
        return {"loss": loss}

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "per_example_loss": self.per_example_loss}

    def _maybe_symbolic_build(self, iterator: Any = None, data_batch: Any = None) -> None:
        """Build the optimizer under the strategy's scope, without Keras' look at the first batch.

        Keras 3.15's TensorFlow trainer (``fit``, ``evaluate``) averages the first batch's replica
        shares with ``strategy.reduce("MEAN", ...)`` before building, which fails when the shares
        differ in size (2 + 1 rows: "Inputs to operation AddN ... must have the same size and
        shape") and under ``MultiWorkerMirroredStrategy`` ("Attempt to convert a value
        (PerReplica...) ... to a Tensor"), both measured. This model is built when it is made and
        compiles no loss or metrics, so the optimizer's variables are all that is left to build.
        (Overrides a private Keras method: ``tests/test_distributed.py`` notices if it changes.)
        """
        if self.optimizer is not None and not self.optimizer.built:
            with self.distribute_strategy.scope():
                self.optimizer.build(self.trainable_variables)


def training_model(
    autoencoder: keras.Model, loss: str, learning_rate: float = 1e-3, jit_compile: bool = False
) -> Trainer:
    """Adam on Poisson NLL of the intensity (``"nll"``) or MAE of the amplitude (``"mae"``).

    Shares every layer (so every weight) with ``autoencoder``; its target is ``(s X)^2`` for
    ``"nll"`` and ``s X`` for ``"mae"`` (``ptycho.data.container.PtychoDataContainer.as_dataset``).
    Build it under the strategy's scope to train on several replicas (``Trainer``).
    """
    if loss not in LOSSES:
        raise ValueError(f"loss must be 'nll' or 'mae'; received: loss={loss!r}")
    output = LOSSES[loss][0]
    outputs = autoencoder.get_layer(output).output
    trainer = Trainer(autoencoder.inputs, outputs, name=f"trainer_{loss}", per_example_loss=loss)
    trainer.compile(optimizer=keras.optimizers.Adam(learning_rate), jit_compile=jit_compile)
    return trainer


def create_compiled_model(config: TrainingConfig, probe: np.ndarray | None = None) -> CompiledModel:
    """A fresh model for ``config`` (its gridsize, N, backend and nphotons) with its trainer."""
    model = config.model
    assert model is not None
    autoencoder, diffraction_to_obj = create_model_with_gridsize(
        model.gridsize,
        model.N,
        model.translate_backend,
        n_filters_scale=model.n_filters_scale,
        max_offset=model.max_offset,
        probe=probe,
        probe_mask=model.probe_mask,
        nphotons=config.nphotons,
        conv_precision=model.conv_precision,
    )
    return CompiledModel(
        autoencoder, diffraction_to_obj, training_model(autoencoder, config.loss, config.learning_rate)
    )
