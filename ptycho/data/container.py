"""``PtychoDataContainer``: grouped data, normalised, checked against a model, as tensors.

Normalisation (PHYSICS.md): amplitudes are scaled so that the mean over groups and channels of
``sum_pixels X^2`` is ``(N/2)^2``; the intensity scale ``s = sqrt(nphotons) / (N/2)`` then makes
``s * X`` carry ``nphotons`` mean total counts per pattern. The model's input is ``s * X``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from ..config.config import ModelConfig
from ..physics.probe import validate_probe
from ..tensors import margin
from .grouping import GroupedData
from .raw import refuse_bad_values


def intensity_scale(nphotons: float, N: int) -> float:
    """``s = sqrt(nphotons) / (N/2)``."""
    return float(np.sqrt(nphotons) / (N / 2))


def normalise_amplitudes(diffraction: np.ndarray) -> np.ndarray:
    """Scale so the mean over groups and channels of ``sum_pixels X^2`` equals ``(N/2)^2``."""
    n = diffraction.shape[1]
    refuse_bad_values("the diffraction data", diffraction, "finite amplitudes", where="normalise_amplitudes")
    energy = np.mean(np.sum(diffraction.astype(np.float64) ** 2, axis=(1, 2)))
    if not np.isfinite(energy) or energy <= 0:
        raise ValueError(f"normalise_amplitudes: the diffraction data has no signal (mean energy {energy!r})")
    return (diffraction * (n / 2) / np.sqrt(energy)).astype(np.float32)


@dataclass(frozen=True)
class PtychoDataContainer:
    """NumPy in, tensors out: ``X`` (B, N, N, C), ``Y`` complex, ``coords`` (B, 1, 2, C), probe, offsets."""

    X: np.ndarray  # normalised amplitudes
    coords: np.ndarray  # relative offsets, channel layout
    global_offsets: np.ndarray  # (B, 1, 2, 1) group centroids in object pixels
    probe: np.ndarray  # (N, N) complex64
    nphotons: float
    Y: np.ndarray | None = None
    nn_indices: np.ndarray | None = None

    @classmethod
    def from_grouped(
        cls, grouped: GroupedData, probe: np.ndarray, nphotons: float, model: ModelConfig | None = None
    ) -> PtychoDataContainer:
        """Normalise ``grouped`` and, given the model's config, refuse data it cannot hold."""
        n = grouped.diffraction.shape[1]
        if model is not None:
            check_against_model(grouped, model)
        return cls(
            X=normalise_amplitudes(grouped.diffraction),
            coords=grouped.coords_relative.astype(np.float32),
            global_offsets=grouped.coords_offsets.astype(np.float32),
            probe=validate_probe(probe, n),
            nphotons=float(nphotons),
            Y=grouped.Y,
            nn_indices=grouped.nn_indices,
        )

    @property
    def N(self) -> int:
        return int(self.X.shape[1])

    @property
    def gridsize(self) -> int:
        return round(np.sqrt(self.X.shape[-1]))

    @property
    def intensity_scale(self) -> float:
        return intensity_scale(self.nphotons, self.N)

    def __len__(self) -> int:
        return int(self.X.shape[0])

    def inputs(self) -> list[tf.Tensor]:
        """The model's inputs ``[s * X, coords]``."""
        return [tf.constant(self.X * self.intensity_scale), tf.constant(self.coords)]

    def as_dataset(
        self,
        batch_size: int,
        shuffle: bool = False,
        seed: int = 0,
        target: str | None = None,
        epoch: tf.Variable | None = None,
    ) -> tf.data.Dataset:
        """``((s*X, coords), (s*X, (s*X)^2))``: inputs, then amplitude and intensity targets.

        ``target="amplitude"`` or ``"intensity"`` yields that target alone (what a trainer with one
        output is fitted on) instead of the pair. ``epoch``: with ``shuffle``, the order is a
        function of ``(seed, epoch)``, read each time the data set is iterated, so that a training
        run resumed at epoch k sees the order an uninterrupted run saw (the trainer sets it at
        each epoch's start); without it, tf.data reshuffles on every iteration from ``seed``.
        """
        scaled = (self.X * self.intensity_scale).astype(np.float32)
        targets = {None: (scaled, scaled**2), "amplitude": scaled, "intensity": scaled**2}
        if target not in targets:
            raise ValueError(
                f"as_dataset: target must be None, 'amplitude' or 'intensity'; received: target={target!r}"
            )
        if shuffle and epoch is not None:
            inputs, wanted, count = (scaled, self.coords), targets[target], len(self)

            def order(_: tf.Tensor) -> tf.data.Dataset:
                key = tf.stack([tf.constant(seed, tf.int64), tf.cast(epoch.read_value(), tf.int64)])
                return tf.data.Dataset.from_tensor_slices(
                    tf.random.experimental.stateless_shuffle(tf.range(count, dtype=tf.int64), seed=key)
                )

            def gather(i: tf.Tensor) -> tuple:
                return tf.nest.map_structure(lambda t: tf.gather(t, i), (inputs, wanted))

            ordered = tf.data.Dataset.range(1).flat_map(order)
            ordered = ordered.apply(tf.data.experimental.assert_cardinality(count))
            return ordered.map(gather).batch(batch_size)
        data = tf.data.Dataset.from_tensor_slices(((scaled, self.coords), targets[target]))
        if shuffle:
            data = data.shuffle(len(self), seed=seed, reshuffle_each_iteration=True)
        return data.batch(batch_size)


def check_against_model(grouped: GroupedData, model: ModelConfig) -> None:
    """Data gridsize, N and offsets must fit the model; nothing is clipped to make them fit."""
    n, c = grouped.diffraction.shape[1], grouped.diffraction.shape[-1]
    if n != model.N:
        raise ValueError(f"data N={n} differs from the model's N={model.N}")
    if c != model.C:
        raise ValueError(
            f"data has C={c} patches per group (gridsize {round(np.sqrt(c))}); "
            f"the model expects C={model.C} (gridsize {model.gridsize})"
        )
    margin.refuse_beyond(grouped.coords_relative, model.N, model.padded_size)
