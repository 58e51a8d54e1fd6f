"""hypothesis strategies: consistent stack dims, and tensors that satisfy a spec.

    @given(dims=stack_dims(), data=st.data())
    def test_x(dims, data):
        images = data.draw(arrays_for(ChannelImages, dims))

Arrays are filled from a seeded NumPy generator (hypothesis draws the seed), which keeps large
tensors cheap to draw while every example stays reproducible.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import strategies as st

from ._errors import ContractDefinitionError
from ._spec import ArraySpec, parse_annotation


def canvas_side(N: int, max_offset: float) -> int:
    """``M = N + 2*ceil(max_offset)``, rounded up to even (CONVENTIONS.md)."""
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


def _spec_of(annotation: Any) -> ArraySpec:
    spec = parse_annotation(annotation, "strategies")
    if spec is None:
        raise ContractDefinitionError(f"{annotation!r} is not a jaxtyping array annotation")
    return spec


def shape_for(annotation: Any, dims: dict[str, int]) -> tuple[int, ...]:
    """The concrete shape ``annotation`` asks for under ``dims``."""
    spec = _spec_of(annotation)
    shape = []
    for ax in spec.axes:
        if ax.kind == "fixed":
            shape.append(int(ax.size))  # type: ignore[arg-type]
        elif ax.kind == "named":
            if ax.name not in dims:
                raise KeyError(f"dim {ax.name} of '{spec.text}' is not in {sorted(dims)}")
            shape.append(dims[ax.name])  # type: ignore[index]
        elif ax.kind == "expr":
            assert ax.code is not None
            shape.append(int(eval(ax.code, {"__builtins__": {}}, dims)))  # noqa: S307
        else:
            raise ContractDefinitionError(f"'{spec.text}': '{ax.text}' has no single size")
    return tuple(shape)


def _dtype_for(spec: ArraySpec, dtype: str | None) -> str:
    if dtype is not None:
        return dtype
    names = spec.dtype_names or frozenset({"float32"})
    for preferred in ("float32", "complex64", "int32", "bool"):
        if preferred in names:
            return preferred
    return sorted(names)[0]


@st.composite
def arrays_for(
    draw: Any, annotation: Any, dims: dict[str, int], dtype: str | None = None, scale: float = 1.0
) -> np.ndarray:
    """A NumPy array of the shape and a dtype that ``annotation`` accepts."""
    spec = _spec_of(annotation)
    shape = shape_for(annotation, dims)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    name = _dtype_for(spec, dtype)
    if name.startswith("complex"):
        values = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    elif name == "bool":
        values = rng.random(shape) < 0.5
    else:
        values = rng.standard_normal(shape)
    return (values * scale if name != "bool" else values).astype(name)
