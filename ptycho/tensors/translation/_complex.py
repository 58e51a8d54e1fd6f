"""Complex images as real stacks: the XLA kernels move the real and imaginary parts alike."""

from __future__ import annotations

import tensorflow as tf


def split_complex(images: tf.Tensor) -> tuple[tf.Tensor, bool]:
    """Complex images ``(B, H, W, C)`` as real and imaginary parts stacked on the channel axis:
    ``(B, H, W, 2C)``, and whether they were complex."""
    if images.dtype.is_complex:
        return tf.concat([tf.math.real(images), tf.math.imag(images)], axis=-1), True
    return images, False


def join_complex(stacked: tf.Tensor) -> tf.Tensor:
    """The inverse of ``split_complex`` for complex images: ``(B, H, W, 2C)`` -> ``(B, H, W, C)``."""
    real, imag = tf.split(stacked, 2, axis=-1)
    return tf.complex(real, imag)
