"""The training losses, on the model's predicted intensity or amplitude (shared/CONVENTIONS.md, Physics)."""

from __future__ import annotations

import tensorflow as tf

POISSON_EPS = 1e-6


def poisson_nll(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """Mean of ``lambda - k log(lambda + eps)``: k counts (target), lambda predicted intensity, both
    ``(B, N, N, C)``; finite at lambda = 0."""
    return tf.reduce_mean(y_pred - y_true * tf.math.log(y_pred + POISSON_EPS))


def amplitude_mae(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """Mean absolute difference of the target and predicted amplitudes, both ``(B, N, N, C)``."""
    return tf.reduce_mean(tf.abs(y_pred - y_true))
