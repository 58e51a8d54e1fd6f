"""The training losses, on the model's predicted intensity or amplitude (shared/CONVENTIONS.md, Physics).

Each loss has a per-example form ``(B,)`` (the mean over one example's pixels and channels), from
which a trainer forms the mean over every example of the global batch: under ``tf.distribute`` a
replica's share of the batch can be uneven or empty, and only the per-example values let the
replicas divide by the global count of real examples (``ptycho.model.factory.Trainer``).
"""

from __future__ import annotations

import tensorflow as tf

POISSON_EPS = 1e-6


def poisson_nll_per_example(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """Mean of ``lambda - k log(lambda + eps)`` over each example: k counts (target), lambda
    predicted intensity, both ``(B, N, N, C)``; ``(B,)``, finite at lambda = 0."""
    return _per_example_mean(y_pred - y_true * tf.math.log(y_pred + POISSON_EPS))


def amplitude_mae_per_example(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """Mean absolute difference of target and predicted amplitudes over each example; ``(B,)``."""
    return _per_example_mean(tf.abs(y_pred - y_true))


def poisson_nll(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """Mean of ``lambda - k log(lambda + eps)`` over the batch; 0 for an empty batch."""
    return _batch_mean(poisson_nll_per_example(y_true, y_pred))


def amplitude_mae(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """Mean absolute difference of the target and predicted amplitudes over the batch."""
    return _batch_mean(amplitude_mae_per_example(y_true, y_pred))


def _per_example_mean(values: tf.Tensor) -> tf.Tensor:
    """The mean over every axis but the first (the batch)."""
    rank = values.shape.rank
    return tf.reduce_mean(values, axis=tf.range(1, tf.rank(values)) if rank is None else list(range(1, rank)))


def _batch_mean(per_example: tf.Tensor) -> tf.Tensor:
    count = tf.cast(tf.size(per_example), per_example.dtype)
    return tf.math.divide_no_nan(tf.reduce_sum(per_example), count)
