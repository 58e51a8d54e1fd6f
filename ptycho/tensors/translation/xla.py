"""The XLA backend: ``translate_xla``, translation in pure TensorFlow ops that XLA compiles.

``translate_xla(images, t)`` moves content by ``+t``: ``out(x, y) = in(x - t_x, y - t_y)``, integer
pixel centres, each bilinear corner outside the image read as 0 (shared/CONVENTIONS.md).

Two kernels. The row-window kernel (H, W and C static): a translation is separable, and every
output row is a blend of two source rows, each read from its whole-pixel x shift on as one window
one pixel wider than the image (one gather per row, a contiguous copy), then blended in x and y.
The stack is read as one long row of pixels, so a window that leaves its image row runs on into
the next one and is masked there: no padded copy of the images. The row kernel (any shapes): a
two-tap shift of whole rows along y, then the same along x on the transposed stack.
"""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf
from jaxtyping import Float, Inexact

from contracts import contract

from ..compiled import run_compiled
from ._compat import gather_dimension_numbers, xla_gather
from ._complex import join_complex, split_complex


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


def _translate_rows(data: tf.Tensor, shift: tf.Tensor) -> tf.Tensor:
    """Real ``data`` moved by ``+shift`` as a shift of rows along y, then along x (any shapes)."""
    moved_y = _shift_rows(data, shift[:, 1])
    # x as rows of the transposed stack: two transposes cost less than a gather along x.
    return tf.transpose(_shift_rows(tf.transpose(moved_y, [0, 2, 1, 3]), shift[:, 0]), [0, 2, 1, 3])


# Operand: the image stack seen as B*H*W pixels of C channels; index (B, H, 2) = [pixel, channel];
# each index takes W + 1 consecutive pixels, which may run on into a neighbouring row (masked).
_PIXEL_RUNS = gather_dimension_numbers(
    offset_dims=[2, 3], collapsed_slice_dims=[], start_index_map=[0, 1], index_vector_dim=2
)

_INT32_PIXELS = 2**31 - 1


def _row_windows(
    data: tf.Tensor, shift: tf.Tensor
) -> tuple[tuple[tf.Tensor, tf.Tensor], tuple[tf.Tensor, tf.Tensor], tf.Tensor]:
    """For the interior images 1..B-2 of ``data`` (H, W, C static), moved by ``shift`` (B-2, 2):
    the two source rows of every output row as (W+1)-wide windows, and the bilinear weights.

    Returns ``((top, top_inside), (bottom, bottom_inside), weights)``: ``top[b, i]`` is source row
    ``i + floor(-t_y)`` from column ``floor(-t_x)`` on (columns outside the image zero), so
    ``[..., :-1, :]`` and ``[..., 1:, :]`` are its two x taps; ``top_inside`` (B-2, H, 1, 1) is 0
    where that row is outside the image; ``bottom`` is the row below; ``weights`` is ``(B-2, 2)``
    ``[w_x, w_y]`` in [0, 1).

    A window is W + 1 consecutive pixels of the stack read as one long row, so a shifted window
    runs on into the neighbouring image row instead of needing a padded copy; those pixels are
    masked. An interior image always has a neighbour to run on into: only the stack's first and
    last images could ask for pixels beyond the stack (where XLA clamps the start). The row mask
    is returned, not applied: multiplied in before the x blend it costs XLA a pass.
    """
    height, width, channels = data.shape[1:]
    known = data.shape[0]
    # int32 positions are faster under XLA; int64 when the stack may hold 2**31 pixels or more.
    index_dtype = (
        tf.int32 if known is not None and known * height * width + width + 1 <= _INT32_PIXELS else tf.int64
    )
    batch = tf.shape(data, out_type=index_dtype)[0]
    pixels = tf.reshape(data, [-1, channels])
    source = -shift
    base = tf.floor(source)
    # Beyond one image width every tap is outside anyway; the clip keeps the int cast in range.
    limits = tf.constant([width, height], data.dtype)
    whole = tf.cast(tf.clip_by_value(base, -limits - 1, limits), index_dtype)
    column = whole[:, 0]
    taps = column[:, None] + tf.range(width + 1, dtype=index_dtype)[None, :]  # source columns
    columns_inside = tf.cast((taps >= 0) & (taps < width), data.dtype)[:, None, :, None]
    images = tf.range(1, tf.maximum(batch - 1, 1), dtype=index_dtype)[:, None]  # none when B <= 2
    # A slice may not be longer than the stack: an empty stack (no windows to take) takes none.
    size = tf.stack(
        [
            tf.minimum(tf.constant(width + 1, index_dtype), batch * height * width),
            tf.constant(channels, index_dtype),
        ]
    )

    def window(row: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        inside = tf.cast((row >= 0) & (row < height), data.dtype)[:, :, None, None]
        start = (images * height + tf.clip_by_value(row, 0, height - 1)) * width + column[:, None]
        index = tf.stack([start, tf.zeros_like(start)], axis=-1)
        taken = xla_gather(pixels, index, _PIXEL_RUNS, size)
        return tf.reshape(taken, [-1, height, width + 1, channels]) * columns_inside, inside

    rows = whole[:, 1:2] + tf.range(height, dtype=index_dtype)[None, :]  # the top tap's source row
    return window(rows), window(rows + 1), source - base


def _blend(data: tf.Tensor, shift: tf.Tensor) -> tuple[tf.Tensor, Callable[[tf.Tensor], tf.Tensor]]:
    """The interior images of ``data`` moved by ``shift`` (B-2, 2), and their shift gradient: a
    function of the upstream gradient, minus the weights' derivative (``w = -t - floor(-t)``)."""
    top, bottom, weights = _row_windows(data, shift)
    wx, wy = weights[:, 0, None, None, None], weights[:, 1, None, None, None]

    def blend_x(window: tf.Tensor, inside: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        step = window[:, :, 1:] - window[:, :, :-1]
        return (window[:, :, :-1] + wx * step) * inside, step * inside

    (upper, upper_step), (lower, lower_step) = blend_x(*top), blend_x(*bottom)

    def shift_gradient(upstream: tf.Tensor) -> tf.Tensor:
        d_wx = (1 - wy) * upper_step + wy * lower_step
        d_wy = lower - upper
        return -tf.stack(
            [tf.reduce_sum(upstream * d_wx, [1, 2, 3]), tf.reduce_sum(upstream * d_wy, [1, 2, 3])], 1
        )

    return upper + wy * (lower - upper), shift_gradient


def _ends(x: tf.Tensor) -> tf.Tensor:
    """The first and the last image (the one image twice when B = 1; none when B = 0)."""
    return tf.concat([x[:1], x[-1:]], 0)


def _between_ends(ends: tf.Tensor, interior: tf.Tensor, batch: tf.Tensor) -> tf.Tensor:
    """``[first end, *interior, last end]``, cut to the batch (B = 1 has its one image twice).

    Zeros are concatenated and the ends written over them in place: concatenating the computed
    ends directly costs XLA 20-30% of the whole kernel.
    """
    blank = tf.zeros_like(ends[:1])  # no rows when B = 0
    stack = tf.concat([blank, interior, blank], 0)
    places = tf.stack([0, tf.shape(stack)[0] - 1])[: tf.shape(ends)[0], None]
    return tf.tensor_scatter_nd_update(stack, places, ends)[:batch]


_ONE_IMAGE_EACH_SIDE = [[1, 1], [0, 0], [0, 0], [0, 0]]


def _translate_windows(data: tf.Tensor, shift: tf.Tensor) -> tf.Tensor:
    """Real ``data`` (H, W, C static and non-zero; any B) moved by ``+shift``, row-window kernel.

    The interior images are read straight from the stack. The first and last are copied out
    between two zero images and moved as that small stack's interior, with the same arithmetic,
    so an image's result does not depend on where it stands in the batch; no branch on B. Its own
    gradient (XlaGather has none): the image gradient is the adjoint of a bilinear, zero-filled
    translation by ``t``, the same translation by ``-t``.
    """

    @tf.custom_gradient
    def run(data: tf.Tensor, shift: tf.Tensor):  # type: ignore[no-untyped-def]
        batch = tf.shape(data)[0]
        end_out, end_gradient = _blend(tf.pad(_ends(data), _ONE_IMAGE_EACH_SIDE), _ends(shift))
        inner, inner_gradient = _blend(data, shift[1:-1])
        out = _between_ends(end_out, inner, batch)
        out.set_shape(data.shape)

        def grad(upstream: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            d_shift = _between_ends(end_gradient(_ends(upstream)), inner_gradient(upstream[1:-1]), batch)
            return _translate_windows(upstream, -shift), d_shift

        return out, grad

    return run(data, shift)


@contract
def translate_xla(
    images: Inexact[tf.Tensor, "B H W C"], translations: Float[tf.Tensor, "B 2"]
) -> Inexact[tf.Tensor, "B H W C"]:
    """Move each image's content by ``+[t_x, t_y]`` (bilinear, zero outside), in XLA-compilable ops.

    Differentiable with respect to the images and the translations; any translation, in or out of
    frame. With static, non-zero H, W and C (any batch) it runs the row-window kernel, compiled by
    XLA wherever it is called from (``ptycho.tensors.compiled``); otherwise two 1-D row shifts,
    compiled only inside the caller's XLA cluster.
    """
    if images.shape[1:].is_fully_defined() and images.shape[1:].num_elements() > 0:
        return run_compiled(_translate, (images, translations))
    return _translate(images, translations)


def _translate(images: tf.Tensor, translations: tf.Tensor) -> tf.Tensor:
    data, is_complex = split_complex(images)
    t = tf.cast(translations, data.dtype)
    windows = data.shape[1:].is_fully_defined() and data.shape[1:].num_elements() > 0
    moved = _translate_windows(data, t) if windows else _translate_rows(data, t)
    return join_complex(moved) if is_complex else moved
