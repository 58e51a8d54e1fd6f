"""hypothesis strategies: arrays that satisfy a spec, given values for its dims.

    @given(dims=st.fixed_dictionaries({"B": st.integers(0, 8), "T": st.integers(1, 16)}), data=st.data())
    def test_x(dims, data):
        tokens = data.draw(arrays_for(Float[tf.Tensor, "B T 4"], dims))

Arrays are filled from a seeded NumPy generator (hypothesis draws its seed), which keeps large
tensors cheap to draw while every example stays reproducible.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from .._errors import ContractDefinitionError
from .._spec import ArraySpec, parse_annotation


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
            shape.append(dims[ax.name])
        elif ax.kind == "expr":
            assert ax.code is not None
            shape.append(int(eval(ax.code, {"__builtins__": {}}, dims)))
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
