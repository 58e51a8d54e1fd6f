"""The one check that relative offsets fit the canvas margin ``(M - N)/2``, in every execution mode.

A patch whose offset exceeds the margin would be moved partly off its canvas, and the result would
be finite and wrong. So such an offset is refused, never clipped, with one message that names the
group, the patch, the offset and the margin:

* in NumPy and eagerly: ``ValueError(margin_message(...))``, before anything is computed;
* in a graph: ``tf.debugging.Assert`` with the same facts (``as_margin_error`` rebuilds the message);
* inside an XLA cluster, which drops ``Assert``: the outputs of the affected groups become NaN
  (``poison_groups``), and the callers that hold the data (``training.fit``, ``training.predict``,
  ``training.reconstruct``) refuse it with the same ``ValueError`` before or after running.

A NaN offset does not fit either.
"""

from __future__ import annotations

import re

import numpy as np
import tensorflow as tf

from contracts import in_xla_context

ASSERT_TAG = "relative offset beyond the canvas margin (group, patch, x, y, margin, N, M)"
_NUMBER = r"\[([^\]]+)\]"
_ASSERT_RE = re.compile(re.escape(ASSERT_TAG) + r"\]?\s*" + r"\s*".join([_NUMBER] * 7))


def margin(N: int, M: int) -> float:
    """``(M - N)/2``: how far (px) a patch centre may move from its canvas centre and stay on it."""
    return (M - N) / 2


def margin_message(group: int, patch: int, x: float, y: float, N: int, M: int) -> str:
    """The error text for patch ``patch`` of group ``group`` at relative offset ``[x, y]``."""
    need = max(abs(x), abs(y))
    fix = (
        f"build the model with max_offset >= {need:.4g}" if np.isfinite(need) else "the offset is not finite"
    )
    return (
        f"the relative offset [x, y] = [{x:.4g}, {y:.4g}] px of patch {patch} in group {group} exceeds the "
        f"canvas margin (M - N)/2 = {margin(N, M):g} px (N={N}, M={M}); {fix} "
        "(offsets are refused, never clipped)"
    )


def first_beyond(offsets: np.ndarray, N: int, M: int) -> tuple[int, int, float, float] | None:
    """``(group, patch, x, y)`` of the first channel offset ``(B, 1, 2, C)`` beyond the margin, or None."""
    values = np.asarray(offsets, dtype=np.float64)
    if values.ndim != 4 or values.shape[1:3] != (1, 2):
        raise ValueError(f"offsets must be channel offsets (B, 1, 2, C); received: shape={values.shape}")
    beyond = ~(np.abs(values) <= margin(N, M))  # NaN counts as beyond
    per_patch = beyond.any(axis=(1, 2))  # (B, C)
    if not per_patch.any():
        return None
    group, patch = (int(i) for i in np.argwhere(per_patch)[0])
    return group, patch, float(values[group, 0, 0, patch]), float(values[group, 0, 1, patch])


def refuse_beyond(offsets: np.ndarray, N: int, M: int) -> None:
    """Raise the margin ``ValueError`` for the first channel offset ``(B, 1, 2, C)`` beyond the margin."""
    found = first_beyond(offsets, N, M)
    if found is not None:
        raise ValueError(margin_message(*found, N=N, M=M))


def fits(offsets: tf.Tensor, N: int, M: int) -> tf.Tensor:
    """``(B,)`` True where every channel offset ``(B, 1, 2, C)`` of the group is within the margin
    (NaN is not): the ops alone, no check, for a kernel that poisons what does not fit."""
    return tf.reduce_all(tf.abs(offsets) <= tf.constant(margin(N, M), offsets.dtype), axis=[1, 2, 3])


def check(offsets: tf.Tensor, N: int, M: int) -> tf.Tensor:
    """``(B,)`` True where every offset of the group fits; raises eagerly, asserts in a graph.

    ``offsets``: channel offsets ``(B, 1, 2, C)``. Under XLA the assertion is dropped: apply
    ``poison_groups`` with the result to the outputs.
    """
    if tf.executing_eagerly():
        values = offsets.numpy()
        refuse_beyond(values, N, M)
        return tf.ones([values.shape[0]], tf.bool)  # every group fits, or it has raised
    limit = tf.constant(margin(N, M), offsets.dtype)
    fits = tf.reduce_all(tf.abs(offsets) <= limit, axis=[1, 2])  # (B, C); NaN does not fit
    beyond = tf.reshape(tf.logical_not(fits), [-1])  # (B*C,), flat order b*C + c
    c = tf.shape(offsets)[3]
    first = tf.argmax(tf.cast(tf.concat([beyond, [True]], 0), tf.int32), output_type=tf.int32)
    flat = tf.reshape(tf.transpose(offsets, [0, 3, 1, 2]), [-1, 2])  # (B*C, 2)
    xy = tf.gather(tf.concat([flat, tf.zeros([1, 2], offsets.dtype)], 0), first)
    # The readable sentence first (what a user of Keras' own fit sees in TensorFlow's long graph
    # error), then the tagged facts that ``as_margin_error`` reads back. Not under XLA: it drops
    # the Assert and has no kernel for StringFormat.
    if in_xla_context():
        return tf.reduce_all(fits, axis=1)
    readable = tf.strings.format(
        "the relative offset [x, y] = [{}, {}] px of patch {} in group {} exceeds the canvas margin "
        f"(M - N)/2 = {margin(N, M):g} px (N={N}, M={M}); build the model with a larger max_offset "
        "(offsets are refused, never clipped)",
        [xy[0], xy[1], first % c, first // c],
    )
    tf.debugging.Assert(
        tf.logical_not(tf.reduce_any(beyond)),
        [readable, ASSERT_TAG, first // c, first % c, xy[0], xy[1], margin(N, M), N, M],
        summarize=8,
    )
    return tf.reduce_all(fits, axis=1)


def poison_groups(values: tf.Tensor, fits: tf.Tensor) -> tf.Tensor:
    """``values`` ``(B*k, ...)`` with the rows of every group that does not fit set to NaN.

    ``fits``: ``(B,)`` from ``check``; each group owns ``k = rows / B`` consecutive rows (1 for a
    canvas, C for flat patches).
    """
    if tf.executing_eagerly() and bool(np.all(fits.numpy())):
        return values  # nothing to poison (``check`` has already raised eagerly for any group)
    rows = tf.shape(values)[0]
    groups = tf.shape(fits)[0]
    per_row = tf.repeat(fits, rows // tf.maximum(groups, 1))
    real = values.dtype.real_dtype
    factor = tf.where(
        per_row, tf.ones_like(per_row, real), tf.fill(tf.shape(per_row), tf.constant(np.nan, real))
    )
    factor = tf.reshape(factor, tf.concat([[-1], tf.ones([tf.rank(values) - 1], tf.int32)], 0))
    if values.dtype.is_complex:
        factor = tf.complex(factor, tf.zeros_like(factor))
    return values * factor


def as_margin_error(exc: BaseException) -> ValueError | None:
    """The margin ``ValueError`` behind a graph's failed margin assertion, or None."""
    found = _ASSERT_RE.search(str(exc))
    if found is None:
        return None
    group, patch, x, y, _, n, m = found.groups()
    return ValueError(margin_message(int(group), int(patch), float(x), float(y), int(n), int(m)))
