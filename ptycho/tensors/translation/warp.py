"""A general image warp (homography) in pure TensorFlow ops that XLA compiles.

Conventions (shared/CONVENTIONS.md): integer pixel centres, no half-pixel shift; a transform maps an
output pixel to the input point it samples (as ``ImageProjectiveTransformV3`` does); with
``fill_mode="zeros"`` each bilinear corner outside the image reads 0, so an edge pixel is blended
with zero, not replaced. The model's translations do not use it (``xla.translate_xla`` is faster
for a pure shift); it is the XLA-compilable stand-in for ``ImageProjectiveTransformV3`` in general.
"""

from __future__ import annotations

from typing import Literal

import tensorflow as tf
from jaxtyping import Float, Inexact

from contracts import contract

from ._complex import join_complex, split_complex

Interpolation = Literal["bilinear", "nearest"]
FillMode = Literal["zeros", "edge"]


def _sample(images: tf.Tensor, ys: tf.Tensor, xs: tf.Tensor, fill_mode: FillMode) -> tf.Tensor:
    """``images[b, ys, xs, :]`` for integer ``ys, xs`` of shape (B, H, W); zeros outside when asked."""
    height, width = tf.shape(images)[1], tf.shape(images)[2]
    inside = (ys >= 0) & (ys < height) & (xs >= 0) & (xs < width)
    yc = tf.clip_by_value(ys, 0, height - 1)
    xc = tf.clip_by_value(xs, 0, width - 1)
    values = tf.gather_nd(images, tf.stack([yc, xc], axis=-1), batch_dims=1)
    if fill_mode == "zeros":
        values = values * tf.cast(inside, values.dtype)[..., None]
    return values


@contract
def projective_warp_xla(
    images: Inexact[tf.Tensor, "B H W C"],
    transforms: Float[tf.Tensor, "B 8"],
    interpolation: Interpolation = "bilinear",
    fill_mode: FillMode = "zeros",
) -> Inexact[tf.Tensor, "B H W C"]:
    """Warp each image ``(H, W, C)`` of the batch by its homography ``[a0, a1, a2, b0, b1, b2, c0, c1]``.

    The output pixel (x, y) samples the input at ``((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k)``
    with ``k = c0 x + c1 y + 1``. float32, float64 and complex (real and imaginary parts alike).
    """
    if interpolation not in ("bilinear", "nearest"):
        raise ValueError(
            f"projective_warp_xla: interpolation must be 'bilinear' or 'nearest'; "
            f"received: interpolation={interpolation!r}"
        )
    if fill_mode not in ("zeros", "edge"):
        raise ValueError(
            f"projective_warp_xla: fill_mode must be 'zeros' or 'edge'; received: fill_mode={fill_mode!r}"
        )
    data, is_complex = split_complex(images)
    real_dtype = data.dtype
    t = tf.cast(transforms, real_dtype)
    height, width = tf.shape(data)[1], tf.shape(data)[2]
    gy, gx = tf.meshgrid(tf.range(height), tf.range(width), indexing="ij")
    gx = tf.cast(gx, real_dtype)[None]
    gy = tf.cast(gy, real_dtype)[None]

    def coef(i: int) -> tf.Tensor:
        return t[:, i][:, None, None]

    k = coef(6) * gx + coef(7) * gy + 1.0
    sx = (coef(0) * gx + coef(1) * gy + coef(2)) / k
    sy = (coef(3) * gx + coef(4) * gy + coef(5)) / k
    if interpolation == "nearest":
        out = _sample(data, tf.cast(tf.round(sy), tf.int32), tf.cast(tf.round(sx), tf.int32), fill_mode)
    else:
        x0f, y0f = tf.floor(sx), tf.floor(sy)
        wx, wy = (sx - x0f)[..., None], (sy - y0f)[..., None]
        x0, y0 = tf.cast(x0f, tf.int32), tf.cast(y0f, tf.int32)
        out = (
            _sample(data, y0, x0, fill_mode) * (1 - wy) * (1 - wx)
            + _sample(data, y0, x0 + 1, fill_mode) * (1 - wy) * wx
            + _sample(data, y0 + 1, x0, fill_mode) * wy * (1 - wx)
            + _sample(data, y0 + 1, x0 + 1, fill_mode) * wy * wx
        )
    return join_complex(out) if is_complex else out


projective_warp_xla_jit = tf.function(projective_warp_xla, jit_compile=True)
