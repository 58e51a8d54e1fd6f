"""The error a broken contract raises, and how its message is written.

``ShapeContractError`` keeps ``Exception.__init__`` so that AutoGraph can rebuild it from its
message when it re-raises from inside ``tf.function`` (any other constructor turns it into a
``StagingError``), and it tells Keras not to rewrite its message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ._vocabulary import EMPTY, DimConflict, Vocabulary

ViolationKind = Literal["not_tensor", "rank", "dtype", "dim"]


class ShapeContractError(Exception):
    """A tensor's shape or dtype broke the contract of the function it was passed to."""

    _keras_call_info_injected = True  # Keras: keep this message as it is
    violation: Violation | None = None


class ContractDefinitionError(TypeError):
    """A contract itself is malformed (raised at decoration time)."""


@dataclass(frozen=True)
class Binding:
    """A dim's value and the argument axis that bound it first."""

    name: str
    value: int | None  # None: only known when the graph runs
    source: str  # "images axis 0"


@dataclass(frozen=True)
class Violation:
    """What was wrong, with everything the message needs."""

    kind: ViolationKind
    function: str  # "channels_to_rows (contracts/demo.py:23)"
    argument: str  # "labels" or "return value"
    expected: str  # annotation text
    layout: str | None
    actual_type: str  # "float32" or "numpy.ndarray"
    actual_shape: tuple[int | None, ...] | None
    detail: str  # the "conflict:" line
    dim: str | None = None
    value: int | None = None
    bound_value: int | None = None
    bound_source: str | None = None
    bindings: tuple[Binding, ...] = field(default_factory=tuple)
    likely_cause: str | None = None
    replica: str | None = None  # "replica 1 of 2" under tf.distribute: the dims are that replica's


def format_shape(shape: tuple[int | None, ...] | None) -> str:
    if shape is None:
        return "(unknown rank)"
    inner = ", ".join("None" if d is None else str(d) for d in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


def format_bindings(bindings: tuple[Binding, ...]) -> str:
    if not bindings:
        return "(none)"
    parts = []
    for b in bindings:
        value = "?" if b.value is None else str(b.value)
        parts.append(f"{b.name}={value} ({b.source})")
    return ", ".join(parts)


def format_violation(v: Violation) -> str:
    expected = v.expected + (f"  ({v.layout})" if v.layout else "")
    lines = [
        f"shape contract violated in {v.function}" + (f" on {v.replica}" if v.replica else ""),
        f"  argument:     {v.argument}",
        f"  expected:     {expected}",
        f"  actual:       {v.actual_type} {format_shape(v.actual_shape)}",
        f"  conflict:     {v.detail}",
        f"  bindings:     {format_bindings(v.bindings)}",
    ]
    if v.replica:
        lines.append(f"  replica:      {v.replica}: batch dims are this replica's share of the global batch")
    if v.likely_cause:
        lines.append(f"  likely cause: {v.likely_cause}")
    return "\n".join(lines)


def make_error(v: Violation) -> ShapeContractError:
    err = ShapeContractError(format_violation(v))
    err.violation = v
    return err


def _matching_layouts(
    shape: tuple[int | None, ...], known: dict[str, int], vocabulary: Vocabulary
) -> list[str]:
    """Layouts of the vocabulary that ``shape`` fits, given the dims bound so far."""
    found = []
    for layout in vocabulary.layouts:
        words = layout.spec.split()
        if len(words) != len(shape):
            continue
        ok = True
        for word, size in zip(words, shape):
            if size is None:
                continue
            if word.isdigit():
                ok = int(word) == size
            elif word in known:
                ok = known[word] == size
            elif "*" in word:
                a, b = word.split("*", 1)
                if a in known and b in known:
                    ok = known[a] * known[b] == size
            if not ok:
                break
        if ok:
            found.append(f"{layout.name} ({layout.spec})")
    return found


def likely_cause_for_rank(
    shape: tuple[int | None, ...] | None,
    expected_layout: str | None,
    known: dict[str, int],
    vocabulary: Vocabulary = EMPTY,
) -> str | None:
    if shape is None:
        return None
    wanted = f" where {expected_layout} was expected" if expected_layout else ""
    matches = _matching_layouts(shape, known, vocabulary)
    if matches:
        return f"the shape fits the {' or the '.join(matches)} layout{wanted}"
    read = _read_as(shape, known)
    if read is None:
        return None
    return f"the shape reads as {read} in the dims bound so far{wanted}"


def _read_as(shape: tuple[int | None, ...], known: dict[str, int]) -> str | None:
    """``(32, 2)`` as ``(B, 2)`` when B = 32 is bound; None if no axis matches a dim."""
    by_size: dict[int, list[str]] = {}
    for name, value in known.items():
        if value > 2:
            by_size.setdefault(value, []).append(name)
    words, named = [], False
    for size in shape:
        names = by_size.get(size) if size is not None else None
        if names and len(names) == 1:
            words.append(names[0])
            named = True
        else:
            words.append("None" if size is None else str(size))
    return f"({', '.join(words)})" if named else None


def likely_cause_for_dim(
    conflict: DimConflict,
    swapped_axis: tuple[int, int] | None,
    vocabulary: Vocabulary = EMPTY,
) -> str | None:
    """Swapped axes, then the client's hints, then the generic ones (a product of two dims, a 1)."""
    if swapped_axis is not None:
        i, j = swapped_axis
        return f"axes {i} and {j} of {conflict.argument} look swapped"
    for hint in vocabulary.hints:
        text = hint(conflict)
        if text:
            return text
    dim, value, bound = conflict.dim, conflict.value, conflict.bound
    for name, size in conflict.known.items():
        if name == dim or size <= 1:
            continue
        if value == bound * size:
            return (
                f"{conflict.argument} has {value} = {bound} x {name}({size}) where {dim} = {bound} was "
                f"expected: {dim} and {name} look merged into one axis on this side (a reshape that "
                f"folded {name} into {dim}, or the merged tensor passed where the unmerged one was expected)"
            )
        if bound == value * size:
            return (
                f"{conflict.bound_source} has {bound} = {value} x {name}({size}) where {conflict.argument} "
                f"has {value}: {dim} and {name} are merged into one axis on one side and not on the other"
            )
    if value == 1 and bound > 1:
        return (
            f"{dim} became 1 in {conflict.argument} where {conflict.bound_source} has {bound}: a reduction "
            f"or a merge collapsed that axis upstream (or a keepdims sum over it)"
        )
    return None
