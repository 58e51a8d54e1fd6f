"""Explain a TensorFlow shape error by factorising its numbers over the configuration's named dims.

``Input to reshape is a tensor with 778752 values, but the requested shape has 24336`` with N=64,
gridsize 2, batch 32 (M=78): 778752 = (B*C)*M*M and 24336 = C*M*M, ratio 32 = B: a tensor held
C canvases where B*C rows were expected, i.e. the batch of groups was merged upstream.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from .incident import HYPOTHESES

# (pattern, label of the first number, label of the second number)
PATTERNS: list[tuple[re.Pattern[str], str, str]] = [
    (
        re.compile(r"Input to reshape is a tensor with (\d+) values, but the requested shape has (\d+)"),
        "values in the input",
        "values in the requested shape",
    ),
    (re.compile(r"Dimensions must be equal, but are (\d+) and (\d+)"), "first dim", "second dim"),
    (re.compile(r"Incompatible shapes: \[([\d,\s]+)\] vs\. \[([\d,\s]+)\]"), "first shape", "second shape"),
    (re.compile(r"evenly divisible by (\d+) but is (\d+)"), "divisor", "size"),
    (re.compile(r"Dimension must be (\d+) but is (\d+)"), "rank of the tensor", "rank the op expects"),
    (
        re.compile(r"Invalid reduction dimension (\d+) for input with (\d+) dimensions"),
        "axis reduced",
        "rank of the tensor",
    ),
    (re.compile(r"Shapes \(([\d,\s]+)\) and \(([\d,\s]+)\) are incompatible"), "first shape", "second shape"),
    (re.compile(r"dim B: .* is (\d+), .* is (\d+)"), "actual", "expected"),
]


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
    numbers: list[tuple[str, int]] = field(default_factory=list)
    factorisations: dict[int, list[Factorisation]] = field(default_factory=dict)
    ratio: str | None = None
    conclusion: str | None = None
    hypotheses: list[HypothesisReading] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["factorisations"] = {str(k): [asdict(f) for f in v] for k, v in self.factorisations.items()}
        return out


def named_quantities(dims: dict[str, int]) -> dict[str, int]:
    """The config's dims and the composites the stack forms (B*C)."""
    q = {k: v for k, v in dims.items() if v > 1}
    if "B" in dims and "C" in dims and dims["B"] * dims["C"] > 1:
        q["B*C"] = dims["B"] * dims["C"]
    return q


def factorise(number: int, dims: dict[str, int], max_factors: int = 4) -> list[Factorisation]:
    """Products of named quantities equal to ``number``, fewest factors first, then larger factors first."""
    q = named_quantities(dims)
    names = sorted(q, key=lambda n: -q[n])
    found: dict[tuple[str, ...], Factorisation] = {}
    for k in range(1, max_factors + 1):
        for combo in itertools.combinations_with_replacement(names, k):
            product = 1
            for n in combo:
                product *= q[n]
            if product == number:
                key = tuple(sorted(combo, key=lambda n: (-q[n], n)))
                if "B*C" in key and ("B" in key and "C" in key):
                    continue  # B*C together with B and C counts the batch twice
                found.setdefault(
                    key, Factorisation(number, key, f"{number} = " + " x ".join(f"({n}={q[n]})" for n in key))
                )
    return sorted(found.values(), key=lambda f: (len(f.factors), -max(q[n] for n in f.factors)))


def _numbers(message: str) -> list[tuple[str, int]]:
    for pattern, first, second in PATTERNS:
        m = pattern.search(message)
        if m:

            def total(s: str) -> int:
                parts = [int(p) for p in re.findall(r"\d+", s)]
                out = 1
                for p in parts:
                    out *= p
                return out

            return [(first, total(m.group(1))), (second, total(m.group(2)))]
    return [(f"number {i}", int(n)) for i, n in enumerate(re.findall(r"\b\d{2,}\b", message)[:4])]


def explain(message: str, dims: dict[str, int]) -> Explanation:
    """Factorise the numbers of ``message`` over ``dims`` and say what the best reading implies."""
    result = Explanation(message=message.strip(), dims=dict(dims))
    result.numbers = _numbers(message)
    for _, n in result.numbers:
        result.factorisations[n] = factorise(n, dims)
    if len(result.numbers) == 2:
        a, b = result.numbers[0][1], result.numbers[1][1]
        big, small = max(a, b), min(a, b)
        if small and big % small == 0 and big != small:
            k = big // small
            names = [n for n, v in named_quantities(dims).items() if v == k]
            result.ratio = f"{big} / {small} = {k}" + (f" = {' = '.join(names)}" if names else "")
            if "B" in names:
                result.conclusion = _batch_conclusion(result, dims)
    result.hypotheses = _incident_hypotheses(result, dims)
    return result


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
