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
from .reassembly import average_overlaps
from .translation import Backend, BackendRequest, resolve_backend, translate


def reassemble_position(
    patches: np.ndarray | tf.Tensor,
    global_offsets: np.ndarray | tf.Tensor,
    object_shape: tuple[int, int],
    backend: BackendRequest = "auto",
    chunk: int = 256,
) -> tf.Tensor:
    """Stitch all patches of a data set into the full object ``(H, W)``.

    ``patches`` ``(P, N, N, 1)``; ``global_offsets`` ``(P, 1, 2, 1)``: the ``[x, y]`` of each patch
    centre in object pixels (x along the width). Each patch is placed on an H x W canvas and the sum
    is divided by the sum of the translated weights, so identical overlapping patches reproduce their
    value; pixels that no patch reaches are 0. ``"auto"`` is decided once, here.
    """
    if not isinstance(global_offsets, tf.Tensor) or tf.executing_eagerly():
        _refuse_non_finite(np.asarray(global_offsets))
    return _stitch(
        tf.convert_to_tensor(patches),
        tf.convert_to_tensor(global_offsets),
        object_shape,
        resolve_backend(backend),
        chunk,
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


@contract
def _stitch(
    patches: Inexact[tf.Tensor, "P N N 1"],
    global_offsets: Float[tf.Tensor, "P 1 2 1"],
    object_shape: tuple[int, int],
    backend: Backend,
    chunk: int,
) -> Inexact[tf.Tensor, "H W"]:
    height, width = (int(s) for s in object_shape)
    n = int(patches.shape[1])
    if height < n or width < n:
        raise ValueError(f"reassemble_position: object_shape {object_shape} is smaller than a patch (N={n})")
    side = max(height, width) + n + (max(height, width) + n) % 2
    pad = (side - n) // 2
    centre = (side - 1) / 2.0
    positions = tf.cast(tf.reshape(global_offsets, [-1, 2]), tf.float32)
    total = tf.zeros([side, side], patches.dtype)
    weight = tf.zeros([side, side], tf.float32)
    count = int(patches.shape[0])
    with progress("stitching", count) as advance:
        for start in range(0, count, chunk):
            part = patches[start : start + chunk]
            shifts = positions[start : start + chunk] - centre  # canvas (x, y) = object (x, y)
            padded = tf.pad(part, [[0, 0], [pad, pad], [pad, pad], [0, 0]])
            window = tf.pad(tf.ones_like(part, dtype=tf.float32), [[0, 0], [pad, pad], [pad, pad], [0, 0]])
            total += tf.reduce_sum(translate(padded, shifts, backend=backend)[..., 0], axis=0)
            weight += tf.reduce_sum(translate(window, shifts, backend=backend)[..., 0], axis=0)
            advance(int(part.shape[0]))
    return average_overlaps(total, weight)[:height, :width]


def covered_border(global_offsets: np.ndarray, crop: int, shape: tuple[int, int]) -> int:
    """The smallest border outside which every pixel is covered by a stitched ``crop``-box."""
    ones = np.ones((len(global_offsets), crop, crop, 1), np.float32)
    covered = reassemble_position(ones, np.asarray(global_offsets, np.float32), shape).numpy() > 0.5
    for border in range(min(shape) // 2):
        if covered[border : shape[0] - border, border : shape[1] - border].all():
            return border
    raise ValueError(f"no stitched patch covers the object's centre (shape {shape}, crop {crop})")
