"""The stack's named dims and layouts (shared/CONVENTIONS.md), defined once and registered with contracts.

Dims (every spec in ``ptycho/`` uses only these letters):

=====  ========================================================  =======================================
``B``  groups in a batch                                         may be None while tracing; may be 0
``g``  gridsize (patches per group side)                         1, 2 or 3
``C``  patches per group, ``C = g*g``                            channel axis of the channel layout
``N``  patch side in pixels (probe and diffraction are N x N)    even, >= 16
``M``  padded canvas side used to reassemble one group           ``M = N + 2*pad``; even
``P``  scan positions in a data set
``K``  neighbour pool size used to form groups                   ``K >= C``
``H``  object (image) height in pixels
``W``  object (image) width in pixels
=====  ========================================================  =======================================

Layouts: channel images ``B N N C``, flat images ``B*C N N 1``, channel offsets ``B 1 2 C``, flat
offsets ``B*C 2``, canvas ``B M M 1``, group offsets ``B 1 2 1``. The aliases below spell them as
jaxtyping annotations (``Inexact`` admits real and complex dtypes: reassembly and translation treat
complex images as their real and imaginary parts).

Importing this module registers the vocabulary for every contract defined in ``ptycho``: error
messages then name the layout they expected, and two hints name the stack's usual mistakes (a
flat layout where the channel layout was expected, the gridsize where C was expected).
"""

from __future__ import annotations

import tensorflow as tf
from jaxtyping import Complex, Float, Inexact

from contracts import Dim, DimConflict, Layout, register_vocabulary

SCOPE = "ptycho"

DIMS: dict[str, Dim] = {
    d.name: d
    for d in (
        Dim("B", "groups in a batch", "may be None while tracing; may be 0 on an idle replica"),
        Dim("g", "gridsize (patches per group side)", "1, 2 or 3"),
        Dim("C", "patches per group, C = g*g", "channel axis of the channel layout"),
        Dim("N", "patch side in pixels (probe and diffraction are N x N)", "even, >= 16"),
        Dim("M", "padded canvas side used to reassemble one group", "M = N + 2*pad; even"),
        Dim("P", "scan positions in a data set"),
        Dim("K", "neighbour pool size used to form groups", "K >= C"),
        Dim("H", "object height in pixels"),
        Dim("W", "object width in pixels"),
    )
}

LAYOUTS: tuple[Layout, ...] = (
    Layout("channel images", "B N N C", "one group per row, its C patches on the last axis"),
    Layout("flat images", "B*C N N 1", "row b*C + c holds patch c of group b"),
    Layout("channel offsets", "B 1 2 C", "[x, y] offset of each patch of each group"),
    Layout("flat offsets", "B*C 2", "row b*C + c is [x, y] of patch c of group b"),
    Layout("canvas", "B M M 1", "one reassembled object region per group"),
    Layout("group offsets", "B 1 2 1", "one [x, y] position per group"),
)

ChannelImages = Float[tf.Tensor, "B N N C"]
FlatImages = Float[tf.Tensor, "B*C N N 1"]
ComplexChannelImages = Complex[tf.Tensor, "B N N C"]
ComplexFlatImages = Complex[tf.Tensor, "B*C N N 1"]
AnyChannelImages = Inexact[tf.Tensor, "B N N C"]
AnyFlatImages = Inexact[tf.Tensor, "B*C N N 1"]

ChannelOffsets = Float[tf.Tensor, "B 1 2 C"]
FlatOffsets = Float[tf.Tensor, "B*C 2"]
GroupOffsets = Float[tf.Tensor, "B 1 2 1"]

Canvas = Float[tf.Tensor, "B M M 1"]
ComplexCanvas = Complex[tf.Tensor, "B M M 1"]
AnyCanvas = Inexact[tf.Tensor, "B M M 1"]


def merged_batch_hint(conflict: DimConflict) -> str | None:
    """A side with C times the other's rows: the flat layout met the channel layout (C named first)."""
    c = conflict.known.get("C")
    if c is None or c <= 1 or conflict.dim == "C":
        return None
    dim, value, bound = conflict.dim, conflict.value, conflict.bound
    if value == bound * c:
        return (
            f"{conflict.argument} has {value} = {bound} x C({c}) where {dim} = {bound} was expected: a flat "
            f"layout ({dim}*C, ...) was passed where the channel layout was expected (or C was merged into "
            f"{dim} upstream)"
        )
    if bound == value * c:
        return (
            f"{conflict.bound_source} has {bound} = {value} x C({c}) where {conflict.argument} has {value}: "
            f"one side is in the flat layout ({dim}*C, ...) and the other in the channel layout (or C was "
            f"merged into {dim} upstream)"
        )
    return None


def gridsize_hint(conflict: DimConflict) -> str | None:
    """C and the gridsize g confused: one side holds the square of the other."""
    value, bound = conflict.value, conflict.bound
    if conflict.dim not in ("C", "g") or value <= 1 or bound <= 1:
        return None
    if value * value == bound:
        return (
            f"{value} is the gridsize of C = {value}*{value} = {bound}: "
            "gridsize was passed where C was expected"
        )
    if bound * bound == value:
        return (
            f"{value} = {bound}*{bound} is C for gridsize {bound}: "
            "C was passed where the gridsize was expected"
        )
    return None


register_vocabulary(
    scope=SCOPE, dims=DIMS.values(), layouts=LAYOUTS, hints=[merged_batch_hint, gridsize_hint]
)

__all__ = [
    "DIMS",
    "LAYOUTS",
    "SCOPE",
    "AnyCanvas",
    "AnyChannelImages",
    "AnyFlatImages",
    "Canvas",
    "ChannelImages",
    "ChannelOffsets",
    "ComplexCanvas",
    "ComplexChannelImages",
    "ComplexFlatImages",
    "FlatImages",
    "FlatOffsets",
    "GroupOffsets",
    "gridsize_hint",
    "merged_batch_hint",
]
