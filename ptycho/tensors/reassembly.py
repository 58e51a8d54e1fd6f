"""Patches <-> one canvas per group: padding, per-group reassembly, extraction and trimming.

Per group (shared/CONVENTIONS.md): patch c is placed with its centre at canvas centre + relative
offset c (translate by ``+rel``); extraction is the inverse (translate the canvas by ``-rel``, crop the
centre N x N). One canvas per group: the batch is never merged, so every output has its input's
batch. Overlaps are averaged: the sum of translated patches divided by the sum of translated
weights (a translated window of ones), where that weight is non-zero. Stitching all groups of a
data set into the whole object is ``stitching.reassemble_position``.
"""

from __future__ import annotations

import math

import tensorflow as tf
from jaxtyping import Inexact

from contracts import contract

from . import margin
from .compiled import run_compiled
from .layouts import _channel_to_flat, flatten_offsets, repeat_per_patch
from .translation import Backend, BackendRequest, resolve_backend, translate
from .vocabulary import AnyCanvas, AnyChannelImages, AnyFlatImages, ChannelOffsets


def canvas_size(N: int, max_offset: float) -> int:
    """``M = N + 2*ceil(max_offset)``, rounded up to even."""
    if max_offset < 0 or not math.isfinite(max_offset):
        raise ValueError(
            f"canvas_size: max_offset must be finite and >= 0; received: max_offset={max_offset!r}"
        )
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
def pad_patches(patches: AnyChannelImages, padded_size: int) -> Inexact[tf.Tensor, "B M M C"]:
    """Zero-pad each N x N patch to ``padded_size`` (M) around its centre: ``(B, N, N, C)`` ->
    ``(B, M, M, C)``; flat images are the case ``C = 1`` with ``B*C`` rows."""
    n = patches.shape[1]
    _check_sides("pad_patches", n, padded_size, "N", "padded_size")
    p = (padded_size - n) // 2
    return tf.pad(patches, [[0, 0], [p, p], [p, p], [0, 0]])


@contract
def trim_reconstruction(canvas: Inexact[tf.Tensor, "B M M C"], N: int) -> AnyChannelImages:
    """The central N x N of each canvas: ``(B, M, M, C)`` -> ``(B, N, N, C)`` (a canvas has C = 1;
    flat canvases have ``B*C`` rows)."""
    m = canvas.shape[1]
    if m is not None:
        _check_sides("trim_reconstruction", N, m, "N", "M")
        p = (m - N) // 2
        return canvas[:, p : p + N, p : p + N, :]
    start = (tf.shape(canvas)[1] - N) // 2
    return tf.slice(canvas, tf.stack([0, start, start, 0]), tf.stack([-1, N, N, -1]))


@contract
def reassemble_patches_position_real(
    patches: AnyChannelImages,
    offsets: ChannelOffsets,
    padded_size: int,
    backend: BackendRequest = "auto",
    support: int | None = None,
) -> AnyCanvas:
    """Channel patches ``(B, N, N, C)`` + channel offsets ``(B, 1, 2, C)`` -> one overlap-averaged canvas
    per group ``(B, M, M, 1)``, ``M = padded_size``.

    The overlap weight of a patch is its translated ``support`` window: ones on the central
    ``support x support`` box (default: the whole ``N x N`` patch). Patches that are zero outside
    a central box (the PINN's object patches, support ``N/2``) must say so, or their zeros would
    be averaged in where another patch has content.
    """
    n = patches.shape[1]
    if support is not None and not (support > 0 and (n is None or (support <= n and (n - support) % 2 == 0))):
        raise ValueError(
            f"reassemble_patches_position_real: support must be in (0, N={n}] with N - support even; "
            f"received: support={support!r}"
        )
    margin.check(offsets, n, padded_size)  # raises eagerly, asserts in a graph; the kernel poisons
    chosen = resolve_backend(backend)
    if chosen == "xla" and patches.shape[1:].is_fully_defined():
        return run_compiled(_reassemble, (patches, offsets), padded_size=padded_size, support=support)
    return _reassemble(patches, offsets, padded_size, support, chosen)


def _reassemble(
    patches: tf.Tensor, offsets: tf.Tensor, padded_size: int, support: int | None, backend: Backend = "xla"
) -> tf.Tensor:
    """The reassembly itself (arguments checked): one XLA kernel with the ``"xla"`` backend. Groups
    with an offset beyond the margin come out NaN (under XLA nothing else can refuse them)."""
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
    return margin.poison_groups(
        average_overlaps(total, weight), margin.fits(offsets, patches.shape[1], padded_size)
    )


def average_overlaps(total: tf.Tensor, weight: tf.Tensor) -> tf.Tensor:
    """``total / weight`` where weight > 0, else 0 (no patch reached that pixel)."""
    covered = weight > 1e-6
    inverse = tf.where(covered, 1.0 / tf.where(covered, weight, tf.ones_like(weight)), tf.zeros_like(weight))
    if total.dtype.is_complex:  # tf.complex, not tf.cast: its gradient keeps the real part without a warning
        inverse = tf.complex(inverse, tf.zeros_like(inverse))
    return total * inverse


@contract
def extract_patches_position(
    canvas: AnyCanvas,
    offsets: ChannelOffsets,
    N: int,
    backend: BackendRequest = "auto",
) -> AnyFlatImages:
    """Canvases ``(B, M, M, 1)`` + channel offsets ``(B, 1, 2, C)`` -> flat patches ``(B*C, N, N, 1)``:
    each patch of each group cut from its group's canvas at its offset.

    Offsets beyond the canvas margin ``(M - N)/2`` are refused as in reassembly (``margin``): the
    patch would reach outside the canvas.
    """
    m = canvas.shape[1]
    if m is not None:
        margin.check(offsets, N, m)  # raises eagerly, asserts in a graph; the kernel poisons
    chosen = resolve_backend(backend)
    if chosen == "xla" and canvas.shape[1:].is_fully_defined() and offsets.shape[1:].is_fully_defined():
        grouped = run_compiled(_extract, (canvas, offsets), N=N)
    else:
        grouped = _extract(canvas, offsets, N, chosen)
    return tf.reshape(grouped, [-1, N, N, 1])  # (B*C, N, N, 1), group-major


def _extract(canvas: tf.Tensor, offsets: tf.Tensor, N: int, backend: Backend = "xla") -> tf.Tensor:
    """The extraction itself, per group ``(B, C, N, N, 1)`` (one XLA kernel with ``"xla"``); the
    groups with an offset beyond the margin NaN, when the canvas size is known."""
    spread = repeat_per_patch(canvas, offsets)  # (B*C, M, M, 1), group-major
    shifts = -tf.cast(flatten_offsets(offsets), tf.float32)
    patches = trim_reconstruction(translate(spread, shifts, backend=backend), N)
    grouped = tf.reshape(patches, tf.stack([-1, tf.shape(offsets)[3], N, N, 1]))
    m = canvas.shape[1]
    return grouped if m is None else margin.poison_groups(grouped, margin.fits(offsets, N, m))
