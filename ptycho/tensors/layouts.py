"""Channel <-> flat layouts (shared/CONVENTIONS.md).

channel images ``(B, N, N, C)`` <-> flat images ``(B*C, N, N, 1)``: flat row ``b*C + c`` holds patch
``c`` of group ``b`` (group-major, patch-minor). Offsets follow the same order, so row i of the flat
offsets always belongs to row i of the flat images.
"""

from __future__ import annotations

import tensorflow as tf
from jaxtyping import Inexact

from contracts import contract

from .vocabulary import AnyCanvas, AnyChannelImages, AnyFlatImages, ChannelOffsets, FlatOffsets


def _check_channels(where: str, channels: object, rows: int | None, shape: tuple) -> None:
    """Refuse a C that does not divide the flat rows (a run-time contract covers rows = None)."""
    if not isinstance(channels, int) or isinstance(channels, bool) or channels < 1:
        raise ValueError(f"{where}: channels must be a positive int; received: channels={channels!r}")
    if rows is not None and rows % channels:
        raise ValueError(
            f"{where}: {rows} flat rows are not a whole number of groups of C={channels}; "
            f"received: shape={shape}"
        )


@contract
def _channel_to_flat(images: AnyChannelImages) -> AnyFlatImages:
    """Channel images ``(B, N, N, C)`` -> flat images ``(B*C, N, N, 1)``; flat row ``b*C + c`` is patch
    ``c`` of group ``b``."""
    shape = tf.shape(images)
    moved = tf.transpose(images, [0, 3, 1, 2])  # (B, C, N, N): patch-minor after reshape
    return tf.reshape(moved, tf.stack([shape[0] * shape[3], shape[1], shape[2], 1]))


@contract
def _flat_to_channel(flat: AnyFlatImages, channels: int) -> AnyChannelImages:
    """Flat images ``(B*C, N, N, 1)`` -> channel images ``(B, N, N, C)`` with ``C = channels``; the inverse
    of ``_channel_to_flat``."""
    _check_channels("_flat_to_channel", channels, flat.shape[0], tuple(flat.shape))
    shape = tf.shape(flat)
    grouped = tf.reshape(flat, tf.stack([-1, channels, shape[1], shape[2]]))
    return tf.transpose(grouped, [0, 2, 3, 1])


@contract
def flatten_offsets(offsets: ChannelOffsets) -> FlatOffsets:
    """Channel offsets ``(B, 1, 2, C)`` -> flat offsets ``(B*C, 2)``, row ``b*C + c`` = ``[x, y]``."""
    return tf.reshape(tf.transpose(offsets, [0, 3, 1, 2]), tf.stack([-1, 2]))


@contract
def unflatten_offsets(flat: FlatOffsets, channels: int) -> ChannelOffsets:
    """Flat offsets ``(B*C, 2)`` -> channel offsets ``(B, 1, 2, C)``."""
    _check_channels("unflatten_offsets", channels, flat.shape[0], tuple(flat.shape))
    grouped = tf.reshape(flat, tf.stack([-1, channels, 2]))
    return tf.transpose(grouped, [0, 2, 1])[:, None, :, :]


@contract
def repeat_per_patch(canvas: AnyCanvas, offsets: ChannelOffsets) -> Inexact[tf.Tensor, "B*C M M 1"]:
    """Canvases ``(B, M, M, 1)`` -> ``(B*C, M, M, 1)``: each group's canvas once per patch, in the flat
    order (the explicit spread of a group over its C patches)."""
    return tf.repeat(canvas, tf.shape(offsets)[3], axis=0)
