"""Rendering of the diagnostics' records: plain aligned text, rich tables on a terminal, or JSON.

Each ``*_document`` function turns a subcommand's records into a ``Document`` (lines and tables);
``write`` prints it as plain text (pipes, files, tests) or with ``rich`` (a terminal). The same
document gives both, so what a test reads is what a terminal shows, less the colour.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from .incident import INCIDENT, INCIDENT_DOC

if TYPE_CHECKING:  # the records only; explain and faults output must not import TensorFlow
    from .audit import AuditResult
    from .doctor import Finding
    from .explain import Explanation
    from .faults import Fault
    from .recorder import FunctionCall, LayerCall
    from .run import RunResult
    from .trace import TraceRecord, TraceResult, TraceViolation

REFUTED = "REFUTED"
RECENT_SHOWN = 8


@dataclass(frozen=True)
class Line:
    text: str
    style: str | None = None  # a rich style, used on a terminal only


@dataclass
class Table:
    header: tuple[str, ...]
    rows: list[tuple[str, ...]] = field(default_factory=list)
    styles: dict[tuple[int, int], str] = field(default_factory=dict)  # (row, column) -> rich style
    wrap: tuple[int, ...] = ()  # columns a narrow terminal may wrap (the others are never wrapped)


Document = list[Line | Table]


def _lines(texts: Iterable[str], style: str | None = None) -> list[Line | Table]:
    return [Line(t, style) for t in texts]


# Trace


def _shape(shape: Sequence[int | None] | None) -> str:
    if shape is None:
        return "?"
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def _name(function: str) -> str:
    """``"Layer.call (ptycho/model/layers.py:130)"`` -> ``"Layer.call"``."""
    return function.split(" (")[0]


def _trace_heading(result: TraceResult) -> list[Line | Table]:
    d, cfg = result.dims, result.config
    return [
        Line(
            f"shape trace  B={d['B']} g={d['g']} C={d['C']} N={d['N']} M={d['M']}  backend={result.backend} "
            f"({result.backend_source})  mode={cfg.mode}  fault={cfg.fault or 'none'}"
        ),
        Line(""),
    ]


def _cell(outcomes: Iterable[str]) -> str:
    kinds = set(outcomes)
    if "refuted" in kinds:
        return REFUTED
    return "deferred" if "deferred" in kinds else "proved"


def _is_violation(record: TraceRecord, violation: TraceViolation | None) -> bool:
    return (
        violation is not None
        and record.mode == violation.mode
        and _name(record.function) == _name(violation.function)
        and _name(record.argument) == violation.argument
    )


def _signature(specs: dict[str, str]) -> str:
    """``{"patches": "B N N C", "offsets": "B 1 2 C", "return value": "B M M 1"}`` ->
    ``"patches B N N C, offsets B 1 2 C -> B M M 1"``."""
    arguments = ", ".join(f"{a} {s}" for a, s in specs.items() if not a.startswith("return value"))
    returns = ", ".join(s for a, s in specs.items() if a.startswith("return value"))
    return f"{arguments} -> {returns}" if returns else arguments


BOUNDARY_LEGEND = (
    "proved: decided while tracing; deferred: checked at run time; REFUTED: broken; blank: not run"
)


def boundary_table(result: TraceResult) -> Table:
    """One row per contracted function, its signature in named dims, one column per trace mode.

    A cell sums up the checks of that function's arguments and return value in that mode:
    ``proved`` (all decided while tracing), ``deferred`` (some relation left to a run-time check),
    ``REFUTED``, or blank when the mode did not run. A run-time failure of a deferred check is the
    trace's violation and shows as ``REFUTED`` too.
    """
    from .trace import TRACE_MODES

    specs: dict[str, dict[str, str]] = {}
    cells: dict[str, dict[str, list[str]]] = {}
    violation = result.violation
    for r in result.records:
        if r.mode not in TRACE_MODES:
            continue  # the values check is not a boundary: its outcome is printed below the table
        function = _name(r.function)
        specs.setdefault(function, {}).setdefault(_name(r.argument), r.spec)
        outcome = "refuted" if _is_violation(r, violation) else r.outcome
        cells.setdefault(function, {}).setdefault(r.mode, []).append(outcome)
    if violation is not None and violation.mode in TRACE_MODES:
        modes = cells.setdefault(_name(violation.function), {})
        modes[violation.mode] = [*modes.get(violation.mode, []), "refuted"]
    table = Table(("function", "signature (named dims)", *TRACE_MODES), wrap=(1,))
    for row, (function, by_mode) in enumerate(cells.items()):
        outcomes = tuple(_cell(by_mode[m]) if m in by_mode else "" for m in TRACE_MODES)
        table.rows.append((function, _signature(specs.get(function, {})), *outcomes))
        for column, text in enumerate(outcomes, start=2):
            if text == REFUTED:
                table.styles[(row, column)] = table.styles[(row, 0)] = "bold red"
    return table


def record_table(result: TraceResult) -> Table:
    """One row per record, in the order the checks ran (``--verbose``)."""
    table = Table(("mode", "function", "argument", "spec", "shape", "outcome"))
    for row, r in enumerate(result.records):
        shape = _shape(r.concrete_shape or r.static_shape)
        mode = r.mode if r.replica is None else f"{r.mode} ({r.replica})"
        table.rows.append((mode, _name(r.function), _name(r.argument), r.spec, shape, r.outcome))
        if r.outcome == "refuted":
            table.styles[(row, 5)] = "bold red"
    return table


def trace_document(
    result: TraceResult, *, verbose: bool = False, baseline: dict[str, Any] | None = None
) -> Document:
    """The trace as a table; ``baseline`` (``baseline.compare``) adds a CHANGED line when it differs."""
    doc = _trace_heading(result)
    if verbose:
        doc += [record_table(result), Line("")]
    else:
        doc += [boundary_table(result), Line(BOUNDARY_LEGEND, "dim")]
        values = [r for r in result.records if r.mode == "values"]
        if values:
            doc.append(Line(f"values check ({_name(values[0].function)}): {values[0].outcome}"))
        doc.append(Line(""))
    counts = result.counts()
    if result.violation:
        v = result.violation
        doc.append(Line(f"FIRST VIOLATION ({v.mode}) at {_name(v.function)}, {v.argument}:", "bold red"))
        doc += _lines(v.message.splitlines())
    elif result.error:
        doc += _lines(
            [
                f"TensorFlow failed outside any contract: {result.error}",
                'run: trace_shapes explain "<that message>" with this configuration',
            ]
        )
    elif not result.records:
        doc.append(Line("nothing was traced: no contract check ran (is PTYCHO_CONTRACTS=off?)"))
    else:
        doc.append(
            Line(
                f"all {len(result.records)} contract checks hold "
                f"(proved {counts['proved']}, deferred to run time {counts['deferred']})",
                "green",
            )
        )
    if baseline is not None and baseline["status"] == "differs":
        doc.append(Line(baseline["message"], "bold yellow"))
    return doc


# Audit


def _short(place: str | None) -> str:
    if not place:
        return "?"
    import os

    path, _, line = place.rpartition(":")
    try:
        rel = os.path.relpath(path)
    except ValueError:
        rel = path
    return f"{rel if not rel.startswith('..') else path}:{line}"


def audit_document(result: AuditResult) -> Document:
    dims = " ".join(f"{k}={v}" for k, v in result.dims.items())
    doc: Document = [
        Line(
            f"audit {result.target}  batch sizes {', '.join(map(str, result.batches))}  "
            f"modes {', '.join(result.modes)}" + (f"  dims {dims}" if dims else "")
        ),
        Line(""),
    ]
    table = Table(("layer", "class", "inferred signature", "source"), wrap=(2,))
    flagged = {f.layer for f in result.findings}
    for row, site in enumerate(result.sites):
        table.rows.append((site.key, site.cls, site.signature(), _short(site.where)))
        if site.key in flagged:
            table.styles[(row, 0)] = "bold red"
    doc += [table, Line("")]
    if not result.findings:
        doc.append(
            Line(f"no findings: {len(result.sites)} layer call sites follow one formula of B each", "green")
        )
        return doc
    doc.append(Line(f"{len(result.findings)} finding(s):", "bold red"))
    for f in result.findings:
        doc.append(Line(f"  {f.kind}  layer '{f.layer}' ({f.cls}) at {_short(f.where)}", "bold"))
        doc.append(Line(f"      {f.detail}"))
    return doc


# Explain, doctor, faults


def explain_document(e: Explanation) -> Document:
    dims = " ".join(f"{k}={v}" for k, v in e.dims.items()) or "none (name some with --dim NAME=VALUE)"
    lines = [
        f"message: {e.message}",
        f"dims: {dims}" + (f"  (preset {e.preset})" if e.preset != "generic" else ""),
        "",
    ]
    if e.impossible:
        return _lines([*lines, f"cannot explain: {e.conclusion}"])
    for label, n in e.numbers:
        lines.append(f"{label}: {n}")
        facts = e.factorisations.get(n, [])
        if e.dims:
            lines += [f"  {f.text}" for f in facts[:4]] or ["  (no product of the named dims)"]
        lines += [f"  {m.text}" for m in e.tensors.get(str(n), [])]
    for label, shape in e.shapes:
        text = (
            "("
            + ", ".join("None" if d is None else str(d) for d in shape)
            + ("," if len(shape) == 1 else "")
            + ")"
        )
        lines.append(f"{label}: {text}")
        for d in dict.fromkeys(d for d in shape if d is not None and d > 1):
            lines += [f"  {f.text}" for f in e.factorisations.get(d, [])[:1]]
        lines += [f"  {m.text}" for m in e.tensors.get(text, [])]
    if e.ratio:
        lines += ["", f"ratio: {e.ratio}"]
    if e.conclusion:
        lines += [f"reading: {e.conclusion}"]
    if e.hypotheses:
        lines += ["", f"{INCIDENT}'s hypotheses (the story: {INCIDENT_DOC}):"]
        lines += [
            f"  {h.id} ({h.claim}): {h.verdict}" + (f" - {h.why}" if h.why else "") for h in e.hypotheses
        ]
    return _lines(lines)


# Run


def _tensors(tensors: Sequence[Any]) -> str:
    return ", ".join(t.text() for t in tensors) or "-"


def call_line(call: LayerCall | FunctionCall) -> str:
    """``layer 'flat' (Flatten) graph (None, 28, 28) float32 -> (None, 784) float32  at train.py:12``."""
    from .recorder import LayerCall

    arrow = f" -> {_tensors(call.outputs)}" if isinstance(call, LayerCall) and call.outputs else ""
    ran = ""
    if isinstance(call, LayerCall) and call.run_inputs is not None:
        ran = f" (ran as {_tensors(call.run_inputs)} -> {_tensors(call.run_outputs or [])})"
    failed = f"  RAISED {call.error}" if call.error else ""
    times = f" x{call.count}" if call.count > 1 else ""
    where = f"  at {call.called_at or '?'}"
    return f"{call.label} {call.mode}{times}: {_tensors(call.inputs)}{arrow}{ran}{where}{failed}"


def run_document(result: RunResult) -> Document:
    from .recorder import LayerCall

    record = result.record
    summary = (
        f"trace-shapes: {len(record['layer_calls'])} distinct layer calls, "
        f"{len(record['function_calls'])} distinct tf.function calls, "
        f"{len(record['checks'])} contract checks "
        f"recorded in {result.seconds:.1f} s; the program's exit code {result.program_exit_code}"
    )
    loc = result.localisation
    if loc is None:
        return [Line(summary, "dim")]
    doc: Document = [
        Line(""),
        Line(f"trace-shapes: the program died of {loc.exception} at {loc.where}", "bold red"),
    ]
    call = loc.layer or loc.function
    lines: list[str] = []
    if isinstance(call, LayerCall):
        lines += [
            f"  layer      {call.name} ({call.cls}), created at {call.created_at or '?'}",
            f"  called at  {call.called_at or '?'} ({call.mode}"
            + (f", while tracing tf.function '{call.function}')" if call.function else ")"),
            f"  inputs     {_tensors(call.inputs)}",
        ]
        if call.outputs:
            lines.append(f"  outputs    {_tensors(call.outputs)}")
        if call.declared_outputs is not None:
            lines.append(f"  compute_output_shape declares {_tensors(call.declared_outputs)}")
    elif call is not None:
        lines += [
            f"  function   {call.name}, defined at {call.defined_at or '?'}",
            f"  called at  {call.called_at or '?'} ({'traced' if call.traced else 'no trace'}, "
            f"tracing count {call.tracing_count})",
            f"  arguments  {_tensors(call.inputs)}",
        ]
        if call.input_signature is not None:
            lines.append(f"  input_signature {_tensors(call.input_signature)}")
    if loc.contract:
        c = loc.contract
        lines.append(f"  contract   {c['function']} {c['argument']} [{c['spec']}] at {c['location']}")
    if loc.node:
        lines.append(
            f"  graph node {loc.node}"
            + (f", defined at {loc.node_defined_at}" if loc.node_defined_at else "")
        )
    if loc.raised_at:
        lines.append(f"  raised at  {loc.raised_at} (the innermost line of your code in the traceback)")
    doc += _lines(lines)
    explained = [(q, loc.matches.get(q.text(), [])) for q in loc.quantities]
    shown: set[int | None] = set()
    if any(m for _, m in explained):
        doc += [Line(""), Line("the numbers of the message, by recorded tensors:")]
        exact_shape = False
        for q, found in explained:
            redundant = q.label.startswith("elements of") and (q.value in shown or exact_shape)
            exact_shape = q.shape is not None and any(m.strength == 0 for m in found)
            if found and not redundant:
                doc += _lines(
                    [f"  {q.label}: {q.text()}", *(f"    {m.text}  at {m.where or '?'}" for m in found[:2])]
                )
            shown.add(q.value)
    if loc.named_layers:
        doc += [Line(""), Line("layers the message names:")]
        doc += _lines(
            f"  {c.label} created at {c.created_at or '?'}"
            + (f", shape {_tensors(c.outputs)}" if c.outputs else "")
            for c in loc.named_layers
        )
    if loc.batch_changes:
        doc += [
            Line(""),
            Line("suspects: layer calls that returned a different batch size than they were given:", "bold"),
        ]
        doc += _lines(f"  {call_line(c)}" for c in loc.batch_changes[:RECENT_SHOWN])
    if loc.recent:
        doc += [Line(""), Line(f"the last {len(loc.recent)} calls before it:")]
        doc += _lines(f"  {call_line(c)}" for c in loc.recent)
    doc += [Line(""), Line(summary, "dim")]
    return doc


_VERDICT_STYLE = {"fails": "bold red", "violation": "bold red", "error": "red", "skipped": "yellow"}


def doctor_document(findings: Sequence[Finding], cfg_line: str) -> Document:
    doc: Document = _lines(
        [
            f"doctor  {cfg_line}",
            f"{INCIDENT}'s hypotheses (the story: {INCIDENT_DOC}) and the stack's invariants",
            "",
        ]
    )
    for f in findings:
        doc.append(Line(f"{f.verdict.upper():<10} {f.id}: {f.claim}", _VERDICT_STYLE.get(f.verdict)))
        doc += _lines(f"{'':<10} {line}" for line in f.evidence.splitlines())
    return doc


def faults_document(faults: Iterable[Fault]) -> Document:
    lines = []
    for f in faults:
        lines += [
            f"{f.name:<26} {f.description}",
            f"{'':<26} shows at: {f.shows_at}",
            f"{'':<26} contracts off: {f.contracts_off}",
        ]
    return _lines(lines)


# Output


def plain_text(document: Document) -> str:
    out: list[str] = []
    for block in document:
        if isinstance(block, Line):
            out.append(block.text)
            continue
        rows = [block.header, *block.rows]
        widths = [max(len(row[i]) for row in rows) for i in range(len(block.header))]
        out += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(out)


def _rich_print(document: Document, stream: TextIO) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table as RichTable
    from rich.text import Text

    console = Console(file=stream, highlight=False)
    for block in document:
        if isinstance(block, Line):
            console.print(Text(block.text, style=block.style or ""))
            continue
        table = RichTable(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
        for j, name in enumerate(block.header):
            table.add_column(name, no_wrap=j not in block.wrap)
        for i, row in enumerate(block.rows):
            table.add_row(*(Text(cell, style=block.styles.get((i, j), "")) for j, cell in enumerate(row)))
        console.print(table)


def write(document: Document, stream: TextIO, *, styled: bool) -> None:
    """Print ``document``: with rich (colour, table rules) when ``styled``, else as plain aligned text."""
    if styled:
        _rich_print(document, stream)
    else:
        print(plain_text(document), file=stream)


def to_json(payload: dict[str, Any]) -> str:
    return json.dumps(payload, indent=2, default=str)
