"""Global stitching: every patch of a data set placed at its position on the whole object.

A patch's centre goes to its ``[x, y]`` position in object pixels (x along the width), and each
object pixel is the sum of the translated patches divided by the sum of the translated weights
(windows of ones), so identical overlapping patches reproduce their value (shared/CONVENTIONS.md).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from jaxtyping import Float, Inexact

from contracts import contract

from ..progress import progress
from .compiled import run_compiled
from .reassembly import average_overlaps
from .translation import BackendRequest, resolve_backend

STITCH_MEMORY = 256 * 2**20  # bytes a chunk of patches may take while it is placed


def reassemble_position(
    patches: np.ndarray | tf.Tensor,
    global_offsets: np.ndarray | tf.Tensor,
    object_shape: tuple[int, int],
    backend: BackendRequest = "auto",
    chunk: int | None = None,
    memory: int = STITCH_MEMORY,
) -> tf.Tensor:
    """Stitch all patches of a data set into the full object ``(H, W)``.

    ``patches`` ``(P, N, N, 1)``; ``global_offsets`` ``(P, 1, 2, 1)``: the ``[x, y]`` of each patch
    centre in object pixels (x along the width). Each patch is placed bilinearly at its position and
    the sum is divided by the sum of the placed weights (windows of ones), so identical overlapping
    patches reproduce their value; pixels that no patch reaches are 0.

    Time and memory grow with P, not with P times the object: each patch is moved by the fraction of
    its position only, inside an (N+1) x (N+1) window (a two-tap bilinear shift, compiled by XLA),
    and added into the object at its whole-pixel corner. The patches go through in chunks of
    ``chunk`` (default: as many as fit in ``memory`` bytes while placed). ``backend`` is checked
    and kept for callers of the per-group functions; placement needs no translation backend.
    """
    resolve_backend(backend)
    if not isinstance(global_offsets, tf.Tensor) or tf.executing_eagerly():
        _refuse_non_finite(np.asarray(global_offsets))
    if chunk is not None and not (isinstance(chunk, int) and chunk >= 1):
        raise ValueError(f"reassemble_position: chunk must be an int >= 1 or None; received: chunk={chunk!r}")
    if not (isinstance(memory, int) and memory >= 1):
        raise ValueError(f"reassemble_position: memory must be a number of bytes >= 1; received: {memory!r}")
    return _stitch(
        tf.convert_to_tensor(patches),
        tf.convert_to_tensor(global_offsets),
        (int(object_shape[0]), int(object_shape[1])),
        chunk,
        memory,
    )


def _refuse_non_finite(global_offsets: np.ndarray) -> None:
    """One NaN position would make every pixel its patch touches NaN: refused, by patch."""
    if global_offsets.ndim == 0 or len(global_offsets) == 0:
        return  # the contract judges the shape
    bad = ~np.isfinite(global_offsets.reshape(len(global_offsets), -1)).all(axis=1)
    if bad.any():
        first = int(np.argmax(bad))
        raise ValueError(
            f"reassemble_position: {int(bad.sum())} of {len(bad)} patch positions are NaN or inf "
            f"(first: patch {first} at {global_offsets[first].reshape(-1).tolist()}); expected finite "
            "[x, y] object-pixel positions"
        )


def chunk_for(N: int, dtype: tf.DType, memory: int = STITCH_MEMORY) -> int:
    """Patches per chunk: a placed patch holds its window, weights and indices, each (N+1)^2, and
    about as much again in temporaries."""
    per_patch = 2 * (N + 1) ** 2 * (dtype.size + 4 + 8)
    return max(1, memory // per_patch)


def _place(
    patches: tf.Tensor, positions: tf.Tensor, side: int, height: int, width: int
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """The kernel: each patch ``(b, N, N, 1)`` moved by the fraction of its position inside an
    (N+1) x (N+1) window, its weights (the window of ones, moved alike), and the window's pixels
    as flat indices into the margined canvas ``(height + 2 side, width + 2 side)``."""
    n = patches.shape[1]
    corner = positions - (n - 1) / 2.0  # object (x, y) of patch pixel (0, 0)
    whole = tf.floor(corner)
    fraction = corner - whole  # in [0, 1)
    fx, fy = fraction[:, 0, None], fraction[:, 1, None]  # (b, 1)

    def taps(f: tf.Tensor, values: tf.Tensor, axis: int) -> tf.Tensor:
        # out(q) = (1 - f) in(q) + f in(q - 1), q = 0..N, in zero outside 0..N-1
        pad = [[0, 0]] * values.shape.rank
        pad[axis] = [1, 1]
        padded = tf.pad(values, pad)
        upper = tf.gather(padded, tf.range(1, n + 2), axis=axis)
        lower = tf.gather(padded, tf.range(0, n + 1), axis=axis)
        return upper + tf.cast(f, values.dtype) * (lower - upper)

    data = patches[..., 0]
    fy_, fx_ = fy[:, :, None], fx[:, None, :]
    moved = taps(fx_, taps(fy_, data, 1), 2)
    ones = tf.ones([1, n], tf.float32)
    weights = taps(fy, ones, 1)[:, :, None] * taps(fx, ones, 1)[:, None, :]
    # A window wholly outside the object only ever reaches the margin: clamp it there.
    limits = tf.constant([width, height], tf.float32)
    start = tf.cast(tf.clip_by_value(whole, -float(side), limits), tf.int32) + side  # (b, 2) canvas
    span = tf.range(n + 1)
    rows = start[:, 1, None, None] + span[None, :, None]
    columns = start[:, 0, None, None] + span[None, None, :]
    indices = tf.cast(rows, tf.int64) * (width + 2 * side) + tf.cast(columns, tf.int64)
    return moved, weights, indices


@contract
def _stitch(
    patches: Inexact[tf.Tensor, "P N N 1"],
    global_offsets: Float[tf.Tensor, "P 1 2 1"],
    object_shape: tuple[int, int],
    chunk: int | None,
    memory: int,
) -> Inexact[tf.Tensor, "H W"]:
    height, width = object_shape
    n = int(patches.shape[1])
    if height < n or width < n:
        raise ValueError(f"reassemble_position: object_shape {object_shape} is smaller than a patch (N={n})")
    side = n + 1  # the margin: a clamped window lies wholly in it
    pixels = (height + 2 * side) * (width + 2 * side)
    positions = tf.cast(tf.reshape(global_offsets, [-1, 2]), tf.float32)
    total = _Canvas(pixels, patches.dtype)
    weight = _Canvas(pixels, tf.float32)
    count = int(patches.shape[0])
    step = chunk or chunk_for(n, patches.dtype, memory)
    with progress("stitching", count) as advance:
        for begin in range(0, count, step):
            part = patches[begin : begin + step]
            moved, weights, indices = run_compiled(
                _place, (part, positions[begin : begin + step]), side=side, height=height, width=width
            )
            flat = tf.reshape(indices, [-1, 1])
            total.add(flat, tf.reshape(moved, [-1]))
            weight.add(flat, tf.reshape(weights, [-1]))
            advance(int(part.shape[0]))
    canvas = tf.reshape(
        average_overlaps(total.value(), weight.value()), [height + 2 * side, width + 2 * side]
    )
    return canvas[side : side + height, side : side + width]


class _Canvas:
    """A flat canvas that sums updates at indices: in place (a variable) when eager, else a tensor."""

    def __init__(self, pixels: int, dtype: tf.DType) -> None:
        zeros = tf.zeros([pixels], dtype)
        eager = tf.executing_eagerly()
        self._data: tf.Variable | tf.Tensor = tf.Variable(zeros, trainable=False) if eager else zeros

    def add(self, indices: tf.Tensor, updates: tf.Tensor) -> None:
        if isinstance(self._data, tf.Variable):
            self._data.scatter_nd_add(indices, updates)
        else:
            self._data = tf.tensor_scatter_nd_add(self._data, indices, updates)

    def value(self) -> tf.Tensor:
        return tf.convert_to_tensor(self._data)


def covered_border(global_offsets: np.ndarray, crop: int, shape: tuple[int, int]) -> int:
    """The smallest border outside which every pixel is covered by a stitched ``crop``-box."""
    ones = np.ones((len(global_offsets), crop, crop, 1), np.float32)
    covered = reassemble_position(ones, np.asarray(global_offsets, np.float32), shape).numpy() > 0.5
    for border in range(min(shape) // 2):
        if covered[border : shape[0] - border, border : shape[1] - border].all():
            return border
    raise ValueError(f"no stitched patch covers the object's centre (shape {shape}, crop {crop})")
