"""Image warps in pure TensorFlow ops that XLA compiles (ImageProjectiveTransformV3 has no XLA kernel).

Conventions (shared/CONVENTIONS.md): integer pixel centres, no half-pixel shift; a transform maps an
output pixel to the input point it samples (as ImageProjectiveTransformV3 does); with
``fill_mode="zeros"`` each bilinear corner outside the image reads 0, so an edge pixel is blended
with zero, not replaced. ``translate_xla(images, t)`` moves content by ``+t``:
``out(x, y) = in(x - t_x, y - t_y)``.

``translate_xla`` does not go through the general warp: a translation is separable, so it is done as
one 1-D shift along y, then one along x, each a per-image gather of whole rows for two taps. With
``max_shift`` (a bound on every ``|t_x|`` and ``|t_y|``) it uses a faster kernel instead: the image
padded along x by the bound, and for each output row one gather of each of its two source rows as
a window one pixel wider than the image, starting at the row's whole-pixel x shift.
"""

from __future__ import annotations

import math
from typing import Literal

import tensorflow as tf
from tensorflow.compiler.tf2xla.python import xla as tf2xla
from tensorflow.compiler.xla import xla_data_pb2
from jaxtyping import Float, Inexact

from contracts import contract

Interpolation = Literal["bilinear", "nearest"]
FillMode = Literal["zeros", "edge"]


def _split_complex(images: tf.Tensor) -> tuple[tf.Tensor, bool]:
    """Complex images as real and imaginary parts stacked on the channel axis."""
    if images.dtype.is_complex:
        return tf.concat([tf.math.real(images), tf.math.imag(images)], axis=-1), True
    return images, False


def _join_complex(stacked: tf.Tensor) -> tf.Tensor:
    real, imag = tf.split(stacked, 2, axis=-1)
    return tf.complex(real, imag)


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
    """Warp each image by its homography ``[a0, a1, a2, b0, b1, b2, c0, c1]``.

    The output pixel (x, y) samples the input at ``((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k)``
    with ``k = c0 x + c1 y + 1``. float32, float64 and complex (real and imaginary parts alike).
    """
    if interpolation not in ("bilinear", "nearest"):
        raise ValueError(f"projective_warp_xla: interpolation must be 'bilinear' or 'nearest'; received: interpolation={interpolation!r}")
    if fill_mode not in ("zeros", "edge"):
        raise ValueError(f"projective_warp_xla: fill_mode must be 'zeros' or 'edge'; received: fill_mode={fill_mode!r}")
    data, is_complex = _split_complex(images)
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
    return _join_complex(out) if is_complex else out


projective_warp_xla_jit = tf.function(projective_warp_xla, jit_compile=True)


def _shift_rows(data: tf.Tensor, shift: tf.Tensor) -> tf.Tensor:
    """Move each image's content by ``shift[b]`` pixels (real) along axis 1, two taps, zero outside.

    ``out[i] = (1 - w) in[i + s0] + w in[i + s0 + 1]`` with ``s0 + w = -shift``, ``w`` in [0, 1); a
    tap outside the image reads 0 (a mask, no padded copy). Gathering whole rows keeps each gather
    a contiguous copy, which is what makes this fast under XLA on a CPU.
    """
    length = tf.shape(data)[1]
    source = -shift
    base = tf.floor(source)
    weight = tf.cast(source - base, data.dtype)[:, None, None, None]
    positions = tf.range(length)[None, :] + tf.cast(base, tf.int32)[:, None]  # (B, L)

    def tap(index: tf.Tensor) -> tf.Tensor:
        inside = tf.cast((index >= 0) & (index < length), data.dtype)[:, :, None, None]
        rows = tf.gather(data, tf.clip_by_value(index, 0, length - 1), axis=1, batch_dims=1)
        return rows * inside

    first, second = tap(positions), tap(positions + 1)
    return first + weight * (second - first)


# Index (B, H, 4) = [image, row, column, channel]; each index takes a (1, 1, width, C) window.
_ROW_WINDOWS = xla_data_pb2.GatherDimensionNumbers(
    offset_dims=[2, 3], collapsed_slice_dims=[0, 1], start_index_map=[0, 1, 2, 3], index_vector_dim=2
)


def _row_windows(data: tf.Tensor, shift: tf.Tensor, pad: int) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """The two source rows of every output row as (W+1)-wide windows, and the bilinear weights.

    Returns ``(top, bottom, weights)``: ``top[b, i]`` is source row ``i + floor(-t_y)`` (zero when
    outside), ``bottom`` the row below, each from column ``floor(-t_x)`` on, so ``[..., :-1, :]``
    and ``[..., 1:, :]`` are the two x taps; ``weights`` is ``(B, 2)`` ``[w_x, w_y]`` in [0, 1).
    Needs every ``floor(-t_x)`` in ``[-pad, pad - 1]``.
    """
    shape = tf.shape(data)
    batch, height, width, channels = shape[0], shape[1], shape[2], shape[3]
    # One spare (never indexed) image: XlaGather refuses a batch of 0 with its slice size of 1.
    padded = tf.pad(data, [[0, 1], [0, 0], [pad, pad], [0, 0]])
    source = -shift
    base = tf.floor(source)
    whole = tf.cast(base, tf.int32)
    rows = tf.range(height)[None, :] + whole[:, 1:2]  # (B, H): the top tap's source row
    images = tf.broadcast_to(tf.range(batch)[:, None], tf.shape(rows))
    columns = tf.broadcast_to(whole[:, 0:1] + pad, tf.shape(rows))
    static_width, static_channels = data.shape[2], data.shape[3]
    if static_width is not None and static_channels is not None:  # a constant size keeps the static shape
        size = tf.constant([1, 1, static_width + 1, static_channels])
    else:
        size = tf.stack([1, 1, width + 1, channels])

    def window(row: tf.Tensor) -> tf.Tensor:
        inside = tf.cast((row >= 0) & (row < height), data.dtype)[:, :, None, None]
        index = tf.stack([images, tf.clip_by_value(row, 0, height - 1), columns, tf.zeros_like(columns)], axis=-1)
        return tf2xla.gather(padded, index, _ROW_WINDOWS, size, indices_are_sorted=False) * inside

    return window(rows), window(rows + 1), source - base


def _translate_bounded(data: tf.Tensor, shift: tf.Tensor, pad: int) -> tf.Tensor:
    """Real ``data`` moved by ``+shift`` with the row-window kernel; its own gradient (XlaGather has none).

    The image gradient is the adjoint of a bilinear, zero-filled translation by ``t``: the same
    translation by ``-t``. The shift gradient is minus the weights' derivative (``w = -t - floor(-t)``).
    """

    @tf.custom_gradient
    def run(data: tf.Tensor, shift: tf.Tensor):  # type: ignore[no-untyped-def]
        top, bottom, weights = _row_windows(data, shift, pad)
        wx, wy = weights[:, 0, None, None, None], weights[:, 1, None, None, None]
        top_step, bottom_step = top[:, :, 1:] - top[:, :, :-1], bottom[:, :, 1:] - bottom[:, :, :-1]
        upper, lower = top[:, :, :-1] + wx * top_step, bottom[:, :, :-1] + wx * bottom_step

        def grad(upstream: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            d_wx = (1 - wy) * top_step + wy * bottom_step
            d_wy = lower - upper
            d_shift = -tf.stack([tf.reduce_sum(upstream * d_wx, [1, 2, 3]), tf.reduce_sum(upstream * d_wy, [1, 2, 3])], 1)
            return _translate_bounded(upstream, -shift, pad), d_shift

        return upper + wy * (lower - upper), grad

    return run(data, shift)


def _check_max_shift(max_shift: float | None) -> int | None:
    """The x pad the bounded kernel needs for ``|t_x| <= max_shift``, or None for the general kernel."""
    if max_shift is None:
        return None
    if isinstance(max_shift, bool) or not isinstance(max_shift, (int, float)) or not 0 <= max_shift < math.inf:
        raise ValueError(f"translate_xla: max_shift must be a number >= 0 or None; received: max_shift={max_shift!r}")
    return math.floor(max_shift) + 1  # floor(-t_x) in [-ceil(m), floor(m)] within [-pad, pad - 1]


@contract
def translate_xla(
    images: Inexact[tf.Tensor, "B H W C"], translations: Float[tf.Tensor, "B 2"], max_shift: float | None = None
) -> Inexact[tf.Tensor, "B H W C"]:
    """Move each image's content by ``+[t_x, t_y]`` (bilinear, zero outside), in XLA-compilable ops.

    Differentiable with respect to the images and the translations. ``max_shift``: a promise that
    every ``|t_x|`` and ``|t_y|`` is at most this many pixels, for the faster kernel. A translation
    beyond it raises ValueError in eager mode; traced (where XLA drops asserts) its image comes out
    NaN, so the broken promise cannot pass unnoticed.
    """
    pad = _check_max_shift(max_shift)
    data, is_complex = _split_complex(images)
    t = tf.cast(translations, data.dtype)
    if pad is None:
        moved_y = _shift_rows(data, t[:, 1])
        # x as rows of the transposed stack: two transposes cost less than a gather along x.
        moved = tf.transpose(_shift_rows(tf.transpose(moved_y, [0, 2, 1, 3]), t[:, 0]), [0, 2, 1, 3])
    else:
        within = tf.reduce_all(tf.abs(t) <= max_shift, axis=1)  # (B,)
        if tf.executing_eagerly() and not bool(tf.reduce_all(within)):
            worst = float(tf.reduce_max(tf.abs(t)))
            raise ValueError(f"translate_xla: a translation exceeds max_shift={max_shift} px (largest |t| = {worst:.4g}); "
                             "raise max_shift or pass max_shift=None for the general kernel")
        poison = tf.where(within, tf.zeros_like(within, data.dtype), tf.constant(math.nan, data.dtype))
        moved = _translate_bounded(data, t, pad) + poison[:, None, None, None]
        moved.set_shape(data.shape)  # whatever the gather could not infer, the input's shape says
    return _join_complex(moved) if is_complex else moved
