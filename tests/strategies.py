"""hypothesis strategies for the stack's dims (shared/CONVENTIONS.md), for the tests."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import strategies as st


def canvas_side(N: int, max_offset: float) -> int:
    """``M = N + 2*ceil(max_offset)``, rounded up to even, as CONVENTIONS.md states it."""
    m = N + 2 * math.ceil(max_offset)
    return m + (m % 2)


@st.composite
def stack_dims(
    draw: Any,
    max_batch: int = 16,
    gridsizes: tuple[int, ...] = (1, 2, 3),
    n_range: tuple[int, int] = (8, 64),
    max_offset_range: tuple[float, float] = (0.0, 8.0),
) -> dict[str, int]:
    """``{"B", "g", "C", "N", "M"}``: B in [0, max_batch] (0 and 1 included), N even, C = g*g."""
    B = draw(st.integers(0, max_batch))
    g = draw(st.sampled_from(gridsizes))
    N = 2 * draw(st.integers(n_range[0] // 2, n_range[1] // 2))
    max_offset = draw(st.floats(*max_offset_range, allow_nan=False))
    return {"B": B, "g": g, "C": g * g, "N": N, "M": canvas_side(N, max_offset)}
