"""Explain a TensorFlow/Keras shape error: its numbers over named dims, and over recorded tensors.

``explain(message, dims)`` reads the message's numbers and shapes (``numbers.quantities``) and
writes each number as a product of the named dims (``--dim NAME=VALUE``); with ``tensors`` (from a
``run``, ``trace`` or ``audit`` record, ``--trace FILE.json``) it also names the recorded tensors
each number or shape belongs to. With the ptycho preset, ``Input to reshape is a tensor with 778752
values, but the requested shape has 24336`` at N=64, gridsize 2, batch 32 (M=78) reads 778752 =
(B*C)*M*M and 24336 = C*M*M, ratio 32 = B: a tensor held C canvases where B*C rows were expected,
i.e. the batch of groups was merged upstream; and the 778752 incident's hypotheses are read. A
message with a negative count, size or dim (``a tensor with -5 values``) is not read further: no
tensor has one, so ``impossible`` names it and nothing is explained.

Nothing here imports TensorFlow or the ``ptycho`` stack.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, field
from typing import Any

from .incident import HYPOTHESES
from .numbers import Match, TensorRef, impossible, matches, quantities
from .presets import GENERIC, Preset


@dataclass(frozen=True)
class Factorisation:
    number: int
    factors: tuple[str, ...]  # e.g. ("B*C", "M", "M")
    text: str  # "778752 = (B*C=128) x (M=78) x (M=78)"


@dataclass(frozen=True)
class HypothesisReading:
    """What the two numbers say about one of the 778752 incident's hypotheses."""

    id: str
    claim: str
    verdict: str  # "supported", "refuted", "refuted as the cause", "not decided by these numbers"
    why: str


@dataclass
class Explanation:
    message: str
    dims: dict[str, int]
    preset: str = GENERIC.name
    numbers: list[tuple[str, int]] = field(default_factory=list)
    shapes: list[tuple[str, list[int | None]]] = field(default_factory=list)
    factorisations: dict[int, list[Factorisation]] = field(default_factory=dict)
    tensors: dict[str, list[Match]] = field(default_factory=dict)  # quantity -> recorded tensors
    ratio: str | None = None
    conclusion: str | None = None
    hypotheses: list[HypothesisReading] = field(default_factory=list)
    # numbers or shapes no tensor can have (a negative count or dim): then nothing else is read
    impossible: list[tuple[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["factorisations"] = {str(k): [asdict(f) for f in v] for k, v in self.factorisations.items()}
        return out

    def explained(self) -> bool:
        if self.impossible:
            return False
        return any(self.factorisations.values()) or any(self.tensors.values())


def named_quantities(dims: dict[str, int], composites: tuple[tuple[str, ...], ...] = ()) -> dict[str, int]:
    """The dims above 1, and the products a preset names as one quantity (the stack's B*C)."""
    q = {k: v for k, v in dims.items() if v > 1}
    for parts in composites:
        if all(p in dims for p in parts):
            value = 1
            for p in parts:
                value *= dims[p]
            if value > 1:
                q["*".join(parts)] = value
    return q


def factorise(
    number: int, dims: dict[str, int], max_factors: int = 4, composites: tuple[tuple[str, ...], ...] = ()
) -> list[Factorisation]:
    """Products of named quantities equal to ``number``, fewest factors first, then larger factors first."""
    q = named_quantities(dims, composites)
    names = sorted(q, key=lambda n: -q[n])
    found: dict[tuple[str, ...], Factorisation] = {}
    for k in range(1, max_factors + 1):
        for combo in itertools.combinations_with_replacement(names, k):
            product = 1
            for n in combo:
                product *= q[n]
            if product == number:
                key = tuple(sorted(combo, key=lambda n: (-q[n], n)))
                if any(c in key and any(p in key for p in c.split("*")) for c in q if "*" in c):
                    continue  # B*C together with B or C counts a dim twice
                found.setdefault(
                    key, Factorisation(number, key, f"{number} = " + " x ".join(f"({n}={q[n]})" for n in key))
                )
    return sorted(found.values(), key=lambda f: (len(f.factors), -max(q[n] for n in f.factors)))


def explain(
    message: str,
    dims: dict[str, int],
    *,
    preset: Preset = GENERIC,
    tensors: list[TensorRef] | None = None,
) -> Explanation:
    """Factorise the numbers of ``message`` over ``dims``, name the ``tensors`` they belong to, and
    say what the best reading implies (with the ptycho preset: for the 778752 incident's hypotheses)."""
    result = Explanation(message=message.strip(), dims=dict(dims), preset=preset.name)
    found = quantities(message)
    bad = impossible(message, found)
    if bad:
        result.impossible = [(q.label, q.text()) for q in bad]
        result.conclusion = _impossible_conclusion(result.impossible)
        return result
    result.numbers = [(q.label, q.value) for q in found if q.value is not None]
    result.shapes = [(q.label, list(q.shape)) for q in found if q.shape is not None]
    values = [n for _, n in result.numbers] + [
        d for _, s in result.shapes for d in s if d is not None and d > 1
    ]
    for n in dict.fromkeys(values):
        result.factorisations[n] = factorise(n, dims, composites=preset.composites)
    if tensors:
        result.tensors = matches(found, tensors)
    if len(result.numbers) >= 2:
        a, b = result.numbers[0][1], result.numbers[1][1]
        big, small = max(a, b), min(a, b)
        if small > 0 and big % small == 0 and big != small:
            k = big // small
            names = [n for n, v in named_quantities(dims, preset.composites).items() if v == k]
            result.ratio = f"{big} / {small} = {k}" + (f" = {' = '.join(names)}" if names else "")
            if names:
                result.conclusion = _ratio_conclusion(result, dims, names, preset)
    if preset.incident:
        result.hypotheses = _incident_hypotheses(result, dims)
    return result


def _impossible_conclusion(items: list[tuple[str, str]]) -> str:
    said = "; ".join(f"{label} = {text}" for label, text in items)
    return (
        f"the message says {said}, and no tensor has a negative count, size or dim (an axis may count "
        "from the end, and -1 in a shape means unknown): check that the message was copied whole, or, "
        "if TensorFlow printed it, look for where that size was computed (a subtraction that went "
        "below zero); nothing is factorised or matched"
    )


def _ratio_conclusion(result: Explanation, dims: dict[str, int], names: list[str], preset: Preset) -> str:
    if preset.incident and "B" in names:
        return _batch_conclusion(result, dims)
    name = names[0]
    value = named_quantities(dims, preset.composites)[name]
    return (
        f"the two sides differ by a factor {name} = {value}: "
        f"a dim of that size was dropped, merged into another or broadcast on one side; look for the "
        f"tensor whose shape lacks (or repeats) {name}"
    )


def _batch_conclusion(result: Explanation, dims: dict[str, int]) -> str:
    b, c = dims.get("B", 0), dims.get("C", 0)
    big_has_bc = any("B*C" in f.factors for f in result.factorisations[max(n for _, n in result.numbers)])
    small_has_c = any("C" in f.factors for f in result.factorisations[min(n for _, n in result.numbers)])
    if big_has_bc and small_has_c:
        return (
            f"one tensor holds B*C = {b}*{c} = {b * c} rows while the other side counts only C = {c}: "
            f"the batch of B = {b} groups collapsed into one group's worth of canvases upstream "
            "(a batch merged into one canvas); look for the layer whose output batch is not its input's"
        )
    return f"the two sides differ by a factor B = {b}: a batch dim was dropped or merged on one side"


def _incident_hypotheses(result: Explanation, dims: dict[str, int]) -> list[HypothesisReading]:
    """What the numbers say about the 778752 incident's hypotheses (H1-revised, H2-revised, H2, H3, H4)."""
    b, c, m = dims.get("B", 0), dims.get("C", 0), dims.get("M", 0)
    values = [n for _, n in result.numbers]
    merged = result.conclusion is not None and "collapsed" in result.conclusion
    undecided = "not decided by these numbers"
    verdicts: dict[str, tuple[str, str]] = {}
    unflattened = b * m * m  # translations of batch B against B*C images would ask for B*M*M
    if unflattened in values:
        verdicts["H1-revised"] = ("supported", f"{unflattened} = B*M*M appears")
    else:
        verdicts["H1-revised"] = (
            "refuted",
            f"unflattened (B, 2) offsets would make one side B*M*M = {unflattened}; neither number is",
        )
    if merged:
        verdicts["H2-revised"] = (
            "refuted",
            f"the small side is C*M*M = {c * m * m}: a whole group of C canvases, not a traced B=1; "
            "the batch was merged in the data path, which a trace-time batch cannot do",
        )
    else:
        verdicts["H2-revised"] = (undecided, "")
    backend_only = (
        "which backend runs cannot change how many rows a tensor has: a B-fold element "
        "mismatch is a layout fault, present with either backend"
    )
    for name in ("H2", "H3", "H4"):
        verdicts[name] = ("refuted as the cause", backend_only) if merged else (undecided, "")
    return [HypothesisReading(h.id, h.claim, *verdicts[h.id]) for h in HYPOTHESES.values()]
