"""Patches <-> canvases: padding, per-group reassembly, extraction, trimming and global stitching.

Per group (shared/CONVENTIONS.md): patch c is placed with its centre at canvas centre + relative
offset c (translate by ``+rel``); extraction is the inverse (translate the canvas by ``-rel``, crop the
centre N x N). One canvas per group: the batch is never merged, so every output has its input's
batch. Overlaps are averaged: the sum of translated patches divided by the sum of translated
weights (a translated window of ones), where that weight is non-zero.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf
from jaxtyping import Float, Inexact

from contracts import contract

from .layouts import _channel_to_flat, flatten_offsets, repeat_per_patch
from .translation import Backend, translate


def canvas_size(N: int, max_offset: float) -> int:
    """``M = N + 2*ceil(max_offset)``, rounded up to even."""
    if max_offset < 0 or not math.isfinite(max_offset):
        raise ValueError(f"canvas_size: max_offset must be finite and >= 0; received: max_offset={max_offset!r}")
    m = N + 2 * math.ceil(max_offset)
    return m + (m % 2)


def _check_sides(where: str, small: int | None, large: int, small_name: str, large_name: str) -> None:
    if small is None:
        return
    if large < small or (large - small) % 2:
        raise ValueError(
            f"{where}: {large_name} must be >= {small_name} with an even difference; "
            f"received: {small_name}={small}, {large_name}={large}"
        )


@contract
def pad_patches(patches: Inexact[tf.Tensor, "R N N K"], padded_size: int) -> Inexact[tf.Tensor, "R M M K"]:
    """Zero-pad each N x N patch to ``padded_size`` (M) around its centre."""
    n = patches.shape[1]
    _check_sides("pad_patches", n, padded_size, "N", "padded_size")
    p = (padded_size - n) // 2
    return tf.pad(patches, [[0, 0], [p, p], [p, p], [0, 0]])


@contract
def trim_reconstruction(canvas: Inexact[tf.Tensor, "B M M K"], N: int) -> Inexact[tf.Tensor, "B N N K"]:
    """The central N x N of each canvas."""
    m = canvas.shape[1]
    if m is not None:
        _check_sides("trim_reconstruction", N, m, "N", "M")
        p = (m - N) // 2
        return canvas[:, p : p + N, p : p + N, :]
    start = (tf.shape(canvas)[1] - N) // 2
    return tf.slice(canvas, tf.stack([0, start, start, 0]), tf.stack([-1, N, N, -1]))


def _refuse_out_of_range(offsets: tf.Tensor, N: int, padded_size: int, where: str) -> None:
    """Offsets beyond what the canvas holds are refused, never clipped (eagerly; asserted in graphs)."""
    limit = (padded_size - N) / 2
    if tf.executing_eagerly():
        worst = float(tf.reduce_max(tf.abs(offsets))) if tf.size(offsets) > 0 else 0.0
        if worst > limit:
            raise ValueError(
                f"{where}: a relative offset of {worst:.3g} px exceeds the canvas margin "
                f"(M - N)/2 = {limit:g} px (N={N}, M={padded_size}); build the model with a larger "
                "max_offset instead of clipping the data"
            )
    else:
        magnitudes = tf.concat([tf.reshape(tf.abs(offsets), [-1]), tf.zeros([1], offsets.dtype)], 0)
        tf.debugging.assert_less_equal(  # a value check: it runs in graphs; XLA drops it
            tf.reduce_max(magnitudes),
            tf.constant(limit, offsets.dtype),
            message=f"{where}: a relative offset exceeds the canvas margin (M - N)/2 = {limit:g} px",
        )


@contract
def reassemble_patches_position_real(
    patches: Inexact[tf.Tensor, "B N N C"],
    offsets: Float[tf.Tensor, "B 1 2 C"],
    padded_size: int,
    backend: Backend = "auto",
    support: int | None = None,
) -> Inexact[tf.Tensor, "B M M 1"]:
    """Channel patches + relative offsets -> one overlap-averaged canvas per group.

    The overlap weight of a patch is its translated ``support`` window: ones on the central
    ``support x support`` box (default: the whole ``N x N`` patch). Patches that are zero outside
    a central box (the PINN's object patches, support ``N/2``) must say so, or their zeros would
    be averaged in where another patch has content.
    """
    n = patches.shape[1]
    if support is not None and not (0 < support and (n is None or (support <= n and (n - support) % 2 == 0))):
        raise ValueError(f"reassemble_patches_position_real: support must be in (0, N={n}] with N - support even; "
                         f"received: support={support!r}")
    _refuse_out_of_range(offsets, n, padded_size, "reassemble_patches_position_real")
    flat = _channel_to_flat(patches)  # (B*C, N, N, 1)
    shifts = tf.cast(flatten_offsets(offsets), tf.float32)  # (B*C, 2), same row order
    placed = translate(pad_patches(flat, padded_size), shifts, backend=backend)
    ones = flat if support is None else flat[:, :support, :support]
    window = pad_patches(tf.ones_like(ones, dtype=tf.float32), padded_size)
    weights = translate(window, shifts, backend=backend)
    c = tf.shape(patches)[3]
    m = tf.shape(placed)[1]
    per_group = tf.stack([-1, c, m, m, 1])
    total = tf.reduce_sum(tf.reshape(placed, per_group), axis=1)
    weight = tf.reduce_sum(tf.reshape(weights, per_group), axis=1)
    return _divide(total, weight)


def _divide(total: tf.Tensor, weight: tf.Tensor) -> tf.Tensor:
    """``total / weight`` where weight > 0, else 0 (no patch reached that pixel)."""
    covered = weight > 1e-6
    inverse = tf.where(covered, 1.0 / tf.where(covered, weight, tf.ones_like(weight)), tf.zeros_like(weight))
    if total.dtype.is_complex:  # tf.complex, not tf.cast: its gradient keeps the real part without a warning
        inverse = tf.complex(inverse, tf.zeros_like(inverse))
    return total * inverse


@contract
def extract_patches_position(
    canvas: Inexact[tf.Tensor, "B M M 1"],
    offsets: Float[tf.Tensor, "B 1 2 C"],
    N: int,
    backend: Backend = "auto",
) -> Inexact[tf.Tensor, "B*C N N 1"]:
    """Each patch of each group cut from its group's canvas at its offset (flat layout).

    Offsets beyond the canvas margin ``(M - N)/2`` are refused, as in reassembly: the patch
    would reach outside the canvas.
    """
    m = canvas.shape[1]
    if m is not None:
        _refuse_out_of_range(offsets, N, m, "extract_patches_position")
    spread = repeat_per_patch(canvas, offsets)  # (B*C, M, M, 1), group-major
    shifts = -tf.cast(flatten_offsets(offsets), tf.float32)
    return trim_reconstruction(translate(spread, shifts, backend=backend), N)


def reassemble_position(
    patches: np.ndarray | tf.Tensor,
    global_offsets: np.ndarray | tf.Tensor,
    object_shape: tuple[int, int],
    backend: Backend = "auto",
    chunk: int = 256,
) -> tf.Tensor:
    """Stitch all patches of a data set into the full object ``(H, W)``.

    ``patches`` ``(P, N, N, 1)``; ``global_offsets`` ``(P, 1, 2, 1)``: the ``[x, y]`` of each patch
    centre in object pixels (x along the width). Each patch is placed on an H x W canvas and the sum
    is divided by the sum of the translated weights, so identical overlapping patches reproduce their
    value; pixels that no patch reaches are 0.
    """
    return _stitch(tf.convert_to_tensor(patches), tf.convert_to_tensor(global_offsets), object_shape, backend, chunk)


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
    for start in range(0, count, chunk):
        part = patches[start : start + chunk]
        shifts = positions[start : start + chunk] - centre  # canvas (x, y) = object (x, y)
        padded = tf.pad(part, [[0, 0], [pad, pad], [pad, pad], [0, 0]])
        window = tf.pad(tf.ones_like(part, dtype=tf.float32), [[0, 0], [pad, pad], [pad, pad], [0, 0]])
        total += tf.reduce_sum(translate(padded, shifts, backend=backend)[..., 0], axis=0)
        weight += tf.reduce_sum(translate(window, shifts, backend=backend)[..., 0], axis=0)
    return _divide(total, weight)[:height, :width]
