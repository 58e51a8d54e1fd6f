"""The named dims of the reconstruction stack (shared/CONVENTIONS.md), defined once.

Every contract, docstring, error message and trace uses these names. The layouts below are the
shapes the stack passes between its stages; an error message names the layout it expected and, when
the actual shape fits another layout, that one too.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Dim:
    """One named dim: its letter in specs and what it means physically."""

    name: str
    meaning: str
    notes: str = ""


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


@dataclass(frozen=True)
class Layout:
    """A named tensor layout of the stack, written in the dims above."""

    name: str
    spec: str
    description: str


LAYOUTS: tuple[Layout, ...] = (
    Layout("channel images", "B N N C", "one group per row, its C patches on the last axis"),
    Layout("flat images", "B*C N N 1", "row b*C + c holds patch c of group b"),
    Layout("channel offsets", "B 1 2 C", "[x, y] offset of each patch of each group"),
    Layout("flat offsets", "B*C 2", "row b*C + c is [x, y] of patch c of group b"),
    Layout("canvas", "B M M 1", "one reassembled object region per group"),
    Layout("group offsets", "B 1 2 1", "one [x, y] position per group"),
)

LAYOUT_BY_SPEC: dict[str, Layout] = {layout.spec: layout for layout in LAYOUTS}
