"""The non-XLA backend: ``ImageProjectiveTransformV3`` (bilinear, zero fill), which has no XLA kernel.

The transform maps an output pixel to the input point it samples, so a move by ``+t`` is
``[1, 0, -t_x, 0, 1, -t_y, 0, 0]`` (shared/CONVENTIONS.md).
"""

from __future__ import annotations

import tensorflow as tf
from jaxtyping import Float, Inexact

from contracts import contract


@contract
def translate_v3(
    images: Inexact[tf.Tensor, "B H W C"], translations: Float[tf.Tensor, "B 2"]
) -> Inexact[tf.Tensor, "B H W C"]:
    """Move each image's content by ``+[t_x, t_y]``: images ``(B, H, W, C)``, translations ``(B, 2)``."""
    if images.dtype.is_complex:
        real = translate_v3(tf.math.real(images), translations)
        imag = translate_v3(tf.math.imag(images), translations)
        return tf.complex(real, imag)
    t = tf.cast(translations, tf.float32)
    b = tf.shape(t)[0]
    ones, zeros = tf.ones([b, 1]), tf.zeros([b, 1])
    transforms = tf.concat([ones, zeros, -t[:, :1], zeros, ones, -t[:, 1:], zeros, zeros], axis=1)
    out = tf.raw_ops.ImageProjectiveTransformV3(
        images=tf.cast(images, tf.float32) if images.dtype != tf.float32 else images,
        transforms=transforms,
        output_shape=tf.shape(images)[1:3],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )
    return tf.cast(out, images.dtype)
