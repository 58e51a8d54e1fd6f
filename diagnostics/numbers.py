"""The numbers and shapes of a TensorFlow/Keras shape error, and the recorded tensors they belong to.

``quantities(message)`` reads the numbers and shapes out of a message, labelled by what the message
says they are when it is one of the known forms (``PATTERNS``: TensorFlow's kernels and shape
functions, Keras' layer and loss checks); any other number or shape in the message is kept unlabelled.
``match(quantity, tensors)`` names the recorded tensors a quantity belongs to: a shape equal to a
tensor's, a count equal to a tensor's elements (with at most one unknown dim solved for), one of its
dims, or a product of adjacent dims (``778752 = elements of layer 'reassembly' output (128, 78, 78, 1)``).

Nothing here imports TensorFlow or the ``ptycho`` stack.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

Shape = tuple[int | None, ...]
ROWS_FACTOR = 16  # a batch merged or split by at most this factor (the 778752 incident's: C = 4)

_SHAPE = r"[\(\[]\s*(?:-?\d+|None|\?)?(?:\s*,\s*(?:-?\d+|None|\?))*\s*,?\s*[\)\]]"

# (pattern, the label of each group): a group is a number or a shape, told apart by its text.
PATTERNS: list[tuple[re.Pattern[str], tuple[str, ...]]] = [
    (
        re.compile(r"Input to reshape is a tensor with (-?\d+) values, but the requested shape has (-?\d+)"),
        ("values in the input", "values in the requested shape"),
    ),
    (
        re.compile(
            r"Input to reshape is a tensor with (-?\d+) values, "
            r"but the requested shape requires a multiple of (-?\d+)"
        ),
        ("values in the input", "the requested shape's known part"),
    ),
    (
        re.compile(
            rf"total size of the tensor must be unchanged\. "
            rf"Received: input_shape=({_SHAPE}), target_shape=({_SHAPE})"
        ),
        ("input shape", "target shape"),
    ),
    (re.compile(rf"Incompatible shapes: ({_SHAPE}) vs\. ({_SHAPE})"), ("first shape", "second shape")),
    (re.compile(r"Dimensions must be equal, but are (-?\d+) and (-?\d+)"), ("first dim", "second dim")),
    (
        re.compile(rf"with input shapes: ({_SHAPE}), ({_SHAPE})"),
        ("first input shape", "second input shape"),
    ),
    (
        re.compile(
            rf"expected axis (-?\d+) of input shape to have value (-?\d+), "
            rf"but received input with shape ({_SHAPE})"
        ),
        ("axis", "size the layer expects", "shape received"),
    ),
    (
        re.compile(rf"expected shape=({_SHAPE}), found shape=({_SHAPE})"),
        ("shape the layer expects", "shape received"),
    ),
    (
        re.compile(rf"expected ndim=(-?\d+), found ndim=(-?\d+)\. Full shape received: ({_SHAPE})"),
        ("rank the layer expects", "rank received", "shape received"),
    ),
    (re.compile(rf"Shapes ({_SHAPE}) and ({_SHAPE}) are incompatible"), ("first shape", "second shape")),
    (
        re.compile(rf"target\.shape=({_SHAPE}), output\.shape=({_SHAPE})"),
        ("labels' shape", "model output's shape"),
    ),
    (
        re.compile(rf"Matrix size-incompatible: In\[0\]: ({_SHAPE}), In\[1\]: ({_SHAPE})"),
        ("left operand", "right operand"),
    ),
    (
        re.compile(
            rf"logits and labels must have the same first dimension, got logits shape ({_SHAPE}) "
            rf"and labels shape ({_SHAPE})"
        ),
        ("logits shape", "labels shape"),
    ),
    (
        re.compile(rf"Received: labels\.shape=({_SHAPE}) and logits\.shape=({_SHAPE})"),
        ("labels shape", "logits shape"),
    ),
    (
        re.compile(r"Negative dimension size caused by subtracting (-?\d+) from (-?\d+)"),
        ("window (kernel or pool) size", "input size along that axis"),
    ),
    (
        re.compile(r"input depth must be evenly divisible by filter depth: (-?\d+) vs (-?\d+)"),
        ("input channels", "filter's input channels"),
    ),
    (re.compile(r"evenly divisible by (-?\d+) but is (-?\d+)"), ("divisor", "size")),
    (
        re.compile(
            rf"ConcatOp : Dimension (-?\d+) in both shapes must be equal: shape\[0\] = ({_SHAPE}) "
            rf"vs\. shape\[\d+\] = ({_SHAPE})"
        ),
        ("axis that differs", "first shape", "other shape"),
    ),
    (
        re.compile(
            rf"requires inputs with matching shapes except for the concatenation axis\. "
            rf"Received: input_shape=\[({_SHAPE}), ({_SHAPE})"
        ),
        ("first input shape", "second input shape"),
    ),
    (re.compile(r"Shape must be rank (-?\d+) but is rank (-?\d+)"), ("rank expected", "rank received")),
    (re.compile(r"Dimension must be (-?\d+) but is (-?\d+)"), ("rank of the tensor", "rank the op expects")),
    (
        re.compile(r"Invalid reduction dimension (-?\d+) for input with (-?\d+) dimensions"),
        ("axis reduced", "rank of the tensor"),
    ),
    (re.compile(r"dim (\w+): .* is (-?\d+), .* is (-?\d+)"), ("dim", "actual", "expected")),
    (re.compile(r"Dimension (-?\d+) must be >= 0"), ("size of the requested dim",)),
]

_ANY_SHAPE = re.compile(_SHAPE)
_ANY_NUMBER = re.compile(r"(?<![\w.])-?\d+(?![\w.])")
# Text that holds numbers that are not sizes: source lines, node names, step counters.
_NOISE = re.compile(r'File "[^"]*", line \d+|line \d+|node [\w/.:-]+|\{\{[^}]*\}\}|\b\w+_\d+\b|step \d+')


@dataclass(frozen=True)
class Quantity:
    """A number or a shape read from the message, with what the message says it is."""

    label: str
    value: int | None = None
    shape: Shape | None = None

    def text(self) -> str:
        return str(self.value) if self.shape is None else shape_text(self.shape)


@dataclass(frozen=True)
class TensorRef:
    """A recorded tensor: ``label`` names its producer, e.g. ``layer 'flat' (Flatten) output``."""

    label: str
    shape: Shape
    where: str | None = None  # the user's file:line of the call
    seq: int = 0


@dataclass(frozen=True)
class Match:
    quantity: str  # Quantity.text()
    tensor: str  # TensorRef.label
    shape: str
    where: str | None
    text: str  # "778752 = elements of layer 'x' (Reassembly) output (128, 78, 78, 1)"
    strength: int  # 0 exact shape or element count; 1 a dim or adjacent dims; 2 with an unknown dim solved


def shape_text(shape: Sequence[int | None]) -> str:
    dims = ", ".join("None" if d is None else str(d) for d in shape)
    return f"({dims}{',' if len(shape) == 1 else ''})"


def parse_shape(text: str) -> Shape:
    inner = text.strip()[1:-1]
    return tuple(None if p.strip() in ("None", "?", "-1") else int(p) for p in inner.split(",") if p.strip())


def _quantity(label: str, text: str) -> list[Quantity]:
    text = text.strip()
    if text[:1] in "([":
        shape = parse_shape(text)
        out = [Quantity(label, shape=shape)]
        if shape and all(d is not None and d >= 0 for d in shape) and len(shape) > 1:
            n = 1
            for d in shape:
                n *= d  # type: ignore[operator]
            out.append(Quantity(f"elements of the {label}", value=n))
        return out
    try:
        return [Quantity(label, value=int(text))]
    except ValueError:
        return []


def quantities(message: str) -> list[Quantity]:
    """The numbers and shapes in ``message``: labelled ones from a known pattern first, then the rest."""
    found: list[Quantity] = []
    spans: list[tuple[int, int]] = []
    for pattern, labels in PATTERNS:
        for m in pattern.finditer(message):
            spans.append(m.span())
            for label, group in zip(labels, m.groups()):
                if group is not None and not (label == "dim" and not group.isdigit()):
                    found += [q for q in _quantity(label, group) if q not in found]
    rest = _NOISE.sub(lambda m: " " * len(m.group()), message)
    for a, b in spans:
        rest = rest[:a] + " " * (b - a) + rest[b:]
    for m in _ANY_SHAPE.finditer(rest):
        found += [q for q in _quantity("shape", m.group()) if q not in found and _useful(q)]
    rest = _ANY_SHAPE.sub(lambda m: " " * len(m.group()), rest)
    for m in _ANY_NUMBER.finditer(rest):
        q = Quantity("number", value=int(m.group()))
        if _useful(q) and all(f.value != q.value for f in found):
            found.append(q)
    return found


# A count written before what it counts, in a message of no known form: "a tensor with -5 values".
_COUNT = re.compile(r"(?<![\w.])(-?\d+) (values|elements|entries|rows|columns|channels|dimensions)\b")


def impossible(message: str, found: Sequence[Quantity]) -> list[Quantity]:
    """What no tensor can have: a negative count, size or rank, or a shape with a dim below -1.

    An axis may be negative (it counts from the end) and a dim of -1 in a shape means unknown (or
    "infer it" in a reshape's target): neither is refused. ``found`` is ``quantities(message)``;
    a negative count written in words outside the known forms ("-5 values") is refused too.
    """
    out = [
        q
        for q in found
        if (q.value is not None and q.value < 0 and q.label != "number" and not q.label.startswith("axis"))
        or (q.shape is not None and any(d is not None and d < 0 for d in q.shape))
    ]
    for m in _COUNT.finditer(message):
        value = int(m.group(1))
        if value < 0 and all(q.value != value for q in out):
            out.append(Quantity(m.group(2), value=value))
    return out


def _useful(q: Quantity) -> bool:
    if q.shape is not None:
        return len(q.shape) > 0
    return q.value is not None and q.value > 1


def _product(dims: Iterable[int | None]) -> int | None:
    n = 1
    for d in dims:
        if d is None:
            return None
        n *= d
    return n


def match(quantity: Quantity, tensor: TensorRef, max_rows: int | None = None) -> Match | None:
    """The strongest way ``quantity`` is a property of ``tensor``, or None.

    An unknown leading dim (a batch traced as ``None``) is solved for only when the value it would
    take is at most ``max_rows`` (when given): a batch, or a batch times a small factor, not any
    quotient that happens to divide.
    """
    shape = tensor.shape
    st = shape_text(shape)

    def found(text: str, strength: int) -> Match:
        return Match(quantity.text(), tensor.label, st, tensor.where, text, strength)

    if quantity.shape is not None:
        q = quantity.shape
        if len(q) != len(shape) or not any(a is not None and a == b for a, b in zip(q, shape)):
            return None
        if q == shape:
            return found(f"{shape_text(q)} = shape of {tensor.label} {st}", 0)
        if all(a is None or b is None or a == b for a, b in zip(q, shape)):
            return found(f"{shape_text(q)} fits the shape of {tensor.label} {st}", 1)
        return None
    n = quantity.value
    if n is None or n < 2:
        return None
    total = _product(shape)
    if total == n and len(shape) > 1:
        return found(f"{n} = elements of {tensor.label} {st}", 0)
    for i, d in enumerate(shape):
        if d == n:
            return found(f"{n} = axis {i} of {tensor.label} {st}", 1)
    for length in range(2, len(shape)):
        for i in range(len(shape) - length + 1):
            if _product(shape[i : i + length]) == n:
                dims = " x ".join(str(d) for d in shape[i : i + length])
                return found(f"{n} = axes {i}-{i + length - 1} ({dims}) of {tensor.label} {st}", 1)
    unknown = [i for i, d in enumerate(shape) if d is None]
    if unknown == [0] and len(shape) > 1:
        known = _product(d for d in shape if d is not None) or 1
        if n % known == 0 and 1 < n // known <= (max_rows or n):
            solved = list(shape)
            solved[unknown[0]] = n // known
            return found(
                f"{n} = elements of {tensor.label} {st} if its axis {unknown[0]} is {n // known} "
                f"{shape_text(solved)}",
                2,
            )
    return None


def matches(
    items: Sequence[Quantity], tensors: Sequence[TensorRef], *, per_quantity: int = 3
) -> dict[str, list[Match]]:
    """For each quantity, its best matches over ``tensors`` (given most relevant first).

    A traced ``None`` batch is solved for up to ``ROWS_FACTOR`` times the largest batch recorded
    concretely (no limit when nothing was recorded concretely).
    """
    concrete = [t.shape[0] for t in tensors if t.shape and t.shape[0] is not None and None not in t.shape]
    max_rows = ROWS_FACTOR * max(d for d in concrete if d is not None) if concrete else None
    out: dict[str, list[Match]] = {}
    for q in items:
        found = [m for t in tensors if (m := match(q, t, max_rows)) is not None]
        found.sort(key=lambda m: m.strength)  # stable: relevance order within a strength
        unique: list[Match] = []
        for m in found:
            if all(m.text != u.text for u in unique):
                unique.append(m)
        out[q.text()] = unique[:per_quantity]
    return out


def tensor_refs(
    label: str, kind: str, shapes: Sequence[Shape | None], where: str | None, seq: int, note: str = ""
) -> list[TensorRef]:
    """``layer 'x' (Dense) input 1 at run time``: one ref per known shape, numbered when there are several."""
    return [
        TensorRef(
            f"{label} {kind}" + (f" {i}" if len(shapes) > 1 else "") + (f" {note}" if note else ""),
            tuple(shape),
            where,
            seq,
        )
        for i, shape in enumerate(shapes)
        if shape is not None
    ]


def tensors_from_record(record: dict[str, Any]) -> list[TensorRef]:
    """The tensors of a ``run``, ``audit`` or ``trace`` JSON record, most recent first."""
    refs: list[TensorRef] = []
    for call in record.get("layer_calls", []):
        label = f"{call.get('kind', 'layer')} '{call['name']}' ({call['cls']})"
        where, seq = call.get("called_at"), call.get("seq", 0)
        for kind in ("outputs", "inputs", "run_outputs", "run_inputs"):
            shapes = [t.get("shape") for t in call.get(kind) or []]
            note = "at run time" if kind.startswith("run_") else ""
            refs += tensor_refs(label, kind.removeprefix("run_")[:-1], shapes, where, seq, note)
    for call in record.get("function_calls", []):
        shapes = [t.get("shape") for t in call.get("inputs") or []]
        label = f"tf.function '{call['name']}'"
        refs += tensor_refs(label, "argument", shapes, call.get("called_at"), call.get("seq", 0))
    for i, r in enumerate(record.get("records", [])):  # a ``trace`` of contract checks
        shape = r.get("concrete_shape") or r.get("static_shape")
        if shape is not None:
            label = f"{r['function'].split(' (')[0]} {r['argument']} [{r.get('spec', '')}]"
            refs.append(TensorRef(label, tuple(shape), r.get("location"), i))
    for i, c in enumerate(record.get("checks", [])):  # contract checks recorded by ``run``
        shape = c.get("concrete_shape") or c.get("static_shape")
        if shape is not None:
            label = f"{c['function']} {c['argument']} [{c.get('spec', '')}]"
            refs.append(TensorRef(label, tuple(shape), c.get("location"), i))
    return sorted(refs, key=lambda r: -r.seq)
