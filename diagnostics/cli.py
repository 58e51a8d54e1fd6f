"""trace-shapes: localise and explain shape errors in any TensorFlow/Keras program; trace the ptycho stack.

    trace-shapes run [--format text|json] [--out FILE] SCRIPT [ARGS...]
    trace-shapes run [--format text|json] [--out FILE] -m MODULE [ARGS...]
    trace-shapes explain "<error message>" [--dim NAME=VALUE ...] [--trace FILE.json]
                                           [--preset ptycho] [--N --gridsize --batch --max-offset]
    trace-shapes [trace] [--N 64 --gridsize 2 --batch 32 --backend xla|v3
                          --mode eager|graph|xla|keras|fit|all --fault NAME --verbose]
    trace-shapes doctor [--N --gridsize --batch --backend --fault]
    trace-shapes faults

(or ``python diagnostics/trace_shapes.py ...``). This module parses and dispatches; the work is in
``run``, ``explain``, ``trace``, ``doctor`` and ``faults``, the output in ``render``. ``run`` and
``explain`` work on anyone's program and import nothing of the ptycho stack; ``trace``, ``doctor``
and ``faults`` are about the stack itself.

Exit codes
    run: the program's own exit code (0 when it ends normally, 1 for an uncaught exception, the code
       of sys.exit), except 3 when it died of a shape error that was localised; 1 for a usage error
       (no script given, a script that does not exist)
    0  trace: every contract holds (also when its counts differ from the default configuration's
       baseline, diagnostics/trace_baseline.json: that prints a CHANGED line and sets
       "baseline.status": "differs", a reason to look, not a failure); explain: the message was
       explained; doctor: every check ran or was skipped and no invariant is broken; faults: always
    1  usage error (unknown option, fault or configuration; a flag out of range: --N, --gridsize,
       --batch, --filters not positive, --max-offset outside [0, 4*N], a configuration whose largest
       tensor exceeds this machine's memory, PTYCHO_CONTRACTS not off, static or full: refused before
       anything is built, one line naming the flag, the value and what is expected), an error outside
       any contract, or an internal error (the message says which)
    2  trace: nothing traced (no contract check ran, e.g. PTYCHO_CONTRACTS=off); explain: no number
       of the message is a product of the named dims, nor matches a recorded tensor, or the message
       holds a negative count, size or dim, which no tensor has ("cannot explain: ...")
    3  trace: a contract violation; doctor: a broken invariant or a contract violation met while
       running a check

JSON (``--format json``), one object per run, each with ``"exit_code"``:

trace
    ``{"config": {"N", "gridsize", "batch", "backend", "mode", "fault", "max_offset",
    "n_filters_scale", "seed", "strategy"}, "dims": {"B", "g", "C", "N", "M"}, "backend", "backend_source",
    "records": [{"mode": "keras"|"eager"|"graph"|"xla"|"fit"|"values", "function", "location",
    "argument", "spec", "layout", "dtype", "static_shape", "concrete_shape", "bindings",
    "outcome": "proved"|"deferred"|"refuted", "deferred", "replica": null | "replica i of n"}],
    "violation": null | {"mode",
    "function", "argument", "message"}, "error": null | str, "baseline": {"status": "same"|"differs"|
    "not compared", "why": null | str, "file", "expected": null | {"checks", "proved", "deferred"},
    "actual": {"checks", "proved", "deferred"}, "recorded_with": null | {"tensorflow", "keras"},
    "message": null | str}, "exit_code"}`` (``baseline``: the counts against the default
    configuration's, diagnostics/baseline.py)
run (``--format json`` on stderr, and ``--out FILE``)
    ``{"program": [argv], "exit_code", "program_exit_code", "exception": null | "Type: message",
    "traceback": null | str, "seconds", "localisation": null | {"exception", "message", "where",
    "layer": null | call, "function": null | call, "contract": null | check, "node",
    "node_defined_at", "raised_at", "recent": [call], "quantities": [{"label", "value", "shape"}],
    "matches": {"<quantity>": [{"quantity", "tensor", "shape", "where", "text", "strength"}]}},
    "record": {"layer_calls": [layer call], "function_calls": [function call], "checks": [check],
    "dropped"}}``; a layer call is ``{"seq", "last_seq", "count", "name", "cls", "created_at",
    "called_at", "mode": "eager"|"graph"|"symbolic", "depth", "inputs": [{"shape", "dtype"}],
    "outputs", "declared_outputs", "declared_error", "scope", "function", "error"}``, a function call
    ``{"seq", "last_seq", "count", "name", "defined_at", "called_at", "mode", "inputs", "traced",
    "tracing_count", "input_signature", "jit_compile", "error"}`` (``"kind"`` says which in
    ``recent``), a check is ``contracts.CheckEvent`` as a dict
audit
    ``{"target", "batches", "modes", "dims", "sites": [{"key", "name", "cls", "created_at",
    "called_at", "source", "depth", "leaf", "signature", "input_specs", "output_specs",
    "input_dtypes", "output_dtypes", "observations": [{"batch", "mode", "inputs", "outputs",
    "declared", "static_outputs", "error"}]}], "findings": [{"kind", "layer", "cls", "where",
    "detail", "batch", "mode"}], "error", "exit_code"}``; kinds: branches-on-batch,
    batch-not-preserved, static-shape-lie, mode-disagreement, crash, reference-disagreement
    (diagnostics/audit.py)
explain
    ``{"message", "dims", "preset": "generic"|"ptycho", "numbers": [[label, int]], "shapes": [[label,
    [int|null]]], "factorisations": {"<int>": [{"number", "factors", "text"}]}, "tensors":
    {"<quantity>": [match]}, "ratio", "conclusion", "hypotheses": [{"id", "claim", "verdict", "why"}]
    (ptycho preset only), "impossible": [[label, text]] (a negative count, size or dim: nothing else
    is read, ``conclusion`` says why), "exit_code"}``
doctor
    ``{"findings": [{"id", "claim", "verdict": "confirmed"|"refuted"|"holds"|"fails"|"violation"|
    "error"|"skipped", "evidence", "requires": [requirement id]}], "exit_code"}``
faults
    ``{"faults": [{"name", "description", "shows_at", "contracts_off"}], "exit_code"}``
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from . import render
from .incident import INCIDENT, INCIDENT_DOC

EXIT_OK, EXIT_ERROR, EXIT_NOTHING, EXIT_VIOLATION = 0, 1, 2, 3
SUBCOMMANDS = ("run", "audit", "trace", "explain", "doctor", "faults")
_EXIT_CODES = """exit codes: 0 ok; 1 usage, configuration or internal error; 2 nothing traced or
explained (explain: also a message with a negative count or dim); 3 a contract violation, a broken
invariant, or (run) a shape error localised; run otherwise exits with the program's own code. JSON
schemas: the docstring of diagnostics/cli.py."""


def _format_arg(
    p: argparse.ArgumentParser, what: str = "text or json (schema in diagnostics/cli.py)"
) -> None:
    p.add_argument("--format", choices=("text", "json"), default="text", help=what)


def _config_args(p: argparse.ArgumentParser, *, preset: bool = False) -> None:
    """The stack's configuration flags; with ``preset`` (explain) they default to None, so that
    giving any of them is what selects the ptycho preset."""
    said = "ptycho preset: " if preset else ""

    def default(value: Any) -> Any:
        return None if preset else value

    p.add_argument("--N", type=int, default=default(64), help=f"{said}patch side in pixels (default: 64)")
    p.add_argument(
        "--gridsize",
        type=int,
        default=default(2),
        choices=None if preset else (1, 2, 3),
        help=f"{said}patches per group side, C = g*g (default: 2)",
    )
    p.add_argument("--batch", type=int, default=default(32), help=f"{said}groups per batch, B (default: 32)")
    p.add_argument(
        "--max-offset",
        type=float,
        default=default(7.0),
        help=f"{said}largest offset in pixels the canvas holds; sets M = N + 2*ceil(max-offset) (default: 7)",
    )
    _format_arg(
        p,
        "text (a table, coloured on a terminal) or json (schema in diagnostics/cli.py)",
    )


def _backend_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--backend",
        choices=("xla", "v3"),
        default=None,
        help="translation backend of the model (default: decided as the model would: "
        "USE_XLA_TRANSLATE, then params.cfg, then xla)",
    )


def _fault_arg(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument(
        "--fault",
        default=None,
        metavar="NAME",
        help=f"{what} with a known defect injected (names: trace-shapes faults)",
    )


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="trace-shapes",
        description=(__doc__ or "").split("\n")[0],
        epilog=_EXIT_CODES,
    )
    sub = top.add_subparsers(dest="command", metavar="{run,audit,explain,trace,doctor,faults}")

    trace = sub.add_parser(
        "trace",
        help="trace named shapes through the stack (the default subcommand)",
        description="Build the model and run it in each mode, recording every contract check: one row "
        "per contracted function with its signature in named dims, one column per mode (--verbose: one "
        "row per check).",
        epilog=_EXIT_CODES,
    )
    _config_args(trace)
    _backend_arg(trace)
    trace.add_argument(
        "--mode",
        choices=("eager", "graph", "xla", "keras", "fit", "all"),
        default="all",
        help="run Keras construction and this mode only, or all of them plus the values check of the "
        "two backends (default: all)",
    )
    _fault_arg(trace, "trace the stack")
    trace.add_argument(
        "--strategy",
        choices=("none", "mirrored"),
        default="none",
        help="mirrored: split the CPU into two logical devices, build the model under a MirroredStrategy "
        "and trace fit on both replicas, each with its share of the batch (default: none)",
    )
    trace.add_argument(
        "--filters",
        type=int,
        default=2,
        help="n_filters_scale of the network (shapes do not depend on it; default: 2)",
    )
    trace.add_argument(
        "--verbose",
        action="store_true",
        help="print every check (mode, function, argument, spec, shape, outcome) instead of one row "
        "per boundary",
    )

    run = sub.add_parser(
        "run",
        help="run a Python program with every layer call recorded; localise the shape error it dies of",
        usage="trace-shapes run [-h] [--format {text,json}] [--out FILE] (SCRIPT | -m MODULE) [ARGS ...]",
        description="Run SCRIPT (or -m MODULE) as python would, with its arguments, recording every Keras "
        "layer call, tf.function call and contract check. If it dies of a shape error, name the layer or "
        "function it was raised in with its source line, the calls leading to it, and each number of the "
        "message as a recorded tensor. The report goes to stderr; the program's own output is untouched.",
        epilog=_EXIT_CODES,
    )
    _format_arg(
        run,
        "the report on stderr: text, or the whole record as json (schema in diagnostics/cli.py)",
    )
    run.add_argument(
        "--out",
        metavar="FILE",
        default=None,
        help="also write the whole record as JSON to FILE (for explain --trace)",
    )
    run.add_argument(
        "-m", dest="module", metavar="MODULE", default=None, help="run a module, as python -m does"
    )
    run.add_argument("target", nargs="?", metavar="SCRIPT", help="the Python script to run")
    run.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS", help="the program's own arguments")

    audit = sub.add_parser(
        "audit",
        help="run a model at several batch sizes and modes: the layers whose shapes depend on the batch",
        description="Build the model the factory returns, run it at each batch size in each mode with the "
        "same weights, record every layer call and fit each dim as a constant or k*B. Prints each layer's "
        "inferred signature and the findings: branches-on-batch, batch-not-preserved, static-shape-lie, "
        "mode-disagreement, crash, and with --reference reference-disagreement (diagnostics/audit.py says "
        "what each means).",
        epilog="exit codes: 0 no findings; 3 findings; 2 nothing recorded; 1 usage or internal error. "
        "JSON schema: the docstring of diagnostics/cli.py.",
    )
    audit.add_argument(
        "target",
        metavar="TARGET",
        help="path/to/file.py:factory or package.module:factory; the factory returns a Keras model (inputs "
        "synthesised from model.inputs) or (model_or_callable, make_inputs) with make_inputs(batch)",
    )
    audit.add_argument(
        "--batch",
        default=",".join(map(str, (1, 2, 3, 8, 17, 32))),
        help="batch sizes, comma-separated (default: 1,2,3,8,17,32: 1, primes, a power of two above 30)",
    )
    audit.add_argument(
        "--mode",
        default="eager,graph",
        help="modes, comma-separated, among eager (always), graph, xla, fit (default: eager,graph)",
    )
    audit.add_argument(
        "--dim",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="name a constant in the inferred signatures, e.g. --dim N=64 (repeatable)",
    )
    audit.add_argument(
        "--reference",
        metavar="TARGET",
        default=None,
        help="a second model of the same architecture (another implementation or backend): given the "
        "audited model's weights, each layer's values are compared with it",
    )
    audit.add_argument(
        "--write-contracts",
        metavar="FILE",
        default=None,
        help="write the inferred signatures as a Python module for contracts.apply_layer_contracts",
    )
    _format_arg(audit)

    explain = sub.add_parser(
        "explain",
        help="explain the numbers of a shape error by named dims and recorded tensors",
        description="Write each number of a TensorFlow/Keras shape error as a product of named dims "
        "(--dim), and name the recorded tensors each number or shape belongs to (--trace, from run, "
        f"trace or audit). The ptycho preset (--preset ptycho, or any of --N --gridsize --batch "
        f"--max-offset) fills the stack's dims B g C N M and reads {INCIDENT}'s hypotheses ({INCIDENT_DOC}).",
        epilog=_EXIT_CODES,
    )
    explain.add_argument("message", help="the error message, quoted")
    explain.add_argument(
        "--dim",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a named quantity to factor over, e.g. --dim B=32 --dim classes=10 (repeatable)",
    )
    explain.add_argument(
        "--trace",
        metavar="FILE.json",
        default=None,
        help="a record from run --out, trace --format json or audit: name the tensors of each number",
    )
    explain.add_argument(
        "--preset",
        choices=("ptycho",),
        default=None,
        help="ptycho: the stack's dims from --N --gridsize --batch --max-offset; the incident's hypotheses",
    )
    _config_args(explain, preset=True)

    doctor = sub.add_parser(
        "doctor",
        help=f"run {INCIDENT}'s hypotheses and the stack's invariants as experiments ({INCIDENT_DOC})",
        description=f"Run {INCIDENT}'s hypotheses (H1-revised, H2-revised, H2, H3, H4; the story: "
        f"{INCIDENT_DOC}) and the stack's invariants as experiments on this configuration. A check "
        "whose requirement is not met is SKIPPED with the reason.",
        epilog=_EXIT_CODES,
    )
    _config_args(doctor)
    _backend_arg(doctor)
    _fault_arg(doctor, "run every experiment")

    faults = sub.add_parser(
        "faults",
        help="list the injectable defects (for --fault)",
        description="List the defects that trace --fault and doctor --fault inject.",
        epilog=_EXIT_CODES,
    )
    _format_arg(faults)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand (``trace`` when none is named); returns the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not args_list or args_list[0] not in (*SUBCOMMANDS, "-h", "--help"):
        args_list = ["trace", *args_list]
    try:
        args = _parse_run(args_list) if args_list[0] == "run" else parser().parse_args(args_list)
    except SystemExit as e:
        return EXIT_OK if e.code == 0 else EXIT_ERROR
    try:
        return _dispatch(args)
    except (ValueError, KeyError) as e:
        print(f"trace-shapes: {e}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as e:  # an internal error: say what, exit 1
        print(f"trace-shapes: internal error: {type(e).__name__}: {e}", file=sys.stderr)
        return EXIT_ERROR


def _emit(args: argparse.Namespace, payload: dict[str, Any], document: render.Document) -> None:
    if args.format == "json":
        print(render.to_json(payload))
    else:
        render.write(document, sys.stdout, styled=sys.stdout.isatty())


def _parse_run(args_list: list[str]) -> argparse.Namespace:
    """``run``'s own options come before SCRIPT or ``-m MODULE``; every word after is the program's."""
    own: list[str] = []
    i = 1
    while i < len(args_list):
        word = args_list[i]
        takes_value = word in ("--format", "--out", "-m")
        own += args_list[i : i + 2] if takes_value else [word]
        i += 2 if takes_value else 1
        if word == "-m" or not word.startswith("-"):
            break  # the program starts here
    args = parser().parse_args(["run", *own])
    args.args = args_list[i:]
    if (args.module is None) == (args.target is None):
        print(
            "trace-shapes run: give either a SCRIPT or -m MODULE, then the program's arguments",
            file=sys.stderr,
        )
        raise SystemExit(2)
    return args


def _explain_dims(args: argparse.Namespace) -> tuple[dict[str, int], Any]:
    from .presets import GENERIC, PTYCHO, parse_dims, ptycho_dims

    dims = parse_dims(args.dim)
    ptycho = [args.N, args.gridsize, args.batch, args.max_offset]
    if args.preset != "ptycho" and all(v is None for v in ptycho):
        return dims, GENERIC
    defaults = ptycho_dims()
    filled = ptycho_dims(
        N=args.N if args.N is not None else defaults["N"],
        gridsize=args.gridsize if args.gridsize is not None else defaults["g"],
        batch=args.batch if args.batch is not None else defaults["B"],
        max_offset=args.max_offset if args.max_offset is not None else 7.0,
    )
    return {**filled, **dims}, PTYCHO


def _load_trace(path: str) -> list[Any]:
    import json

    from .numbers import tensors_from_record

    try:
        with open(path) as f:
            record = json.load(f)
    except OSError as e:
        raise ValueError(f"--trace {path}: cannot read it ({e.strerror})") from None
    except json.JSONDecodeError as e:
        raise ValueError(
            f"--trace {path}: not JSON ({e.msg} at line {e.lineno}); expected run --out FILE"
        ) from None
    if not isinstance(record, dict) or not ({"record", "records", "layer_calls"} & set(record)):
        raise ValueError(
            f"--trace {path}: not a record of run, trace or audit (no 'record', 'records' or 'layer_calls')"
        )
    tensors = tensors_from_record(record.get("record", record))
    if not tensors:
        raise ValueError(f"--trace {path}: the record holds no tensor shapes")
    return tensors


def _run(args: argparse.Namespace) -> int:
    from .run import run_program

    result = run_program(args.module or args.target, list(args.args), module=args.module is not None)
    payload = result.to_dict()
    if args.out:
        _write_atomically(args.out, render.to_json(payload))
    if args.format == "json":
        print(render.to_json(payload), file=sys.stderr)
    else:
        if result.traceback:
            print(result.traceback, end="", file=sys.stderr)
        render.write(render.run_document(result), sys.stderr, styled=sys.stderr.isatty())
    return result.exit_code


def _write_atomically(path: str, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all (a temporary file beside it, then a rename)."""
    import os
    import tempfile

    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".trace-shapes-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _audit(args: argparse.Namespace) -> int:
    from .audit import audit_target, contracts_module
    from .presets import parse_dims

    try:
        batches = [int(b) for b in args.batch.split(",") if b.strip()]
    except ValueError:
        raise ValueError(f"--batch takes positive integers separated by commas, got {args.batch!r}") from None
    if not batches or min(batches) < 1:
        raise ValueError(f"--batch takes positive integers separated by commas, got {args.batch!r}")
    modes = [m.strip() for m in args.mode.split(",") if m.strip()]
    if "eager" not in modes:
        modes.insert(0, "eager")
    result = audit_target(
        args.target, batches=batches, modes=modes, dims=parse_dims(args.dim), reference=args.reference
    )
    if args.write_contracts:
        _write_atomically(args.write_contracts, contracts_module(result))
    code = EXIT_NOTHING if not result.sites else EXIT_VIOLATION if result.findings else EXIT_OK
    _emit(args, {**result.to_dict(), "exit_code": code}, render.audit_document(result))
    return code


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "run":
        return _run(args)
    if args.command == "audit":
        return _audit(args)
    if args.command == "explain":
        from .explain import explain

        dims, preset = _explain_dims(args)
        tensors = _load_trace(args.trace) if args.trace else None
        explanation = explain(args.message, dims, preset=preset, tensors=tensors)
        code = EXIT_OK if explanation.explained() else EXIT_NOTHING
        _emit(args, {**explanation.to_dict(), "exit_code": code}, render.explain_document(explanation))
        return code

    if args.command in ("trace", "doctor"):
        _check_stack_flags(args)
        _check_contract_mode()
    from .faults import FAULTS

    if args.command == "faults":
        payload = {
            "faults": [
                {
                    "name": f.name,
                    "description": f.description,
                    "shows_at": f.shows_at,
                    "contracts_off": f.contracts_off,
                }
                for f in FAULTS.values()
            ],
            "exit_code": EXIT_OK,
        }
        _emit(args, payload, render.faults_document(FAULTS.values()))
        return EXIT_OK
    if args.fault is not None and args.fault not in FAULTS:
        raise ValueError(f"unknown fault {args.fault!r}; known: {', '.join(FAULTS)}")
    if args.command == "doctor":
        return _doctor(args)
    return _trace(args)


def _check_stack_flags(args: argparse.Namespace) -> None:
    """trace's and doctor's flags, before TensorFlow is imported: each in range (``limits.py``),
    the stack's own rules (``ModelConfig``: N is 8 times a power of two), then the memory."""
    from ptycho.config.config import ModelConfig

    from .limits import check_memory, check_positive, check_ptycho_flags

    check_ptycho_flags(args.N, args.gridsize, args.batch, args.max_offset)
    filters = getattr(args, "filters", None)
    if filters is not None:
        check_positive("--filters", filters)
    for flag, name, value in (("--N", "N", args.N), ("--filters", "n_filters_scale", filters)):
        if value is not None:
            try:
                ModelConfig(**{name: value})
            except ValueError as e:
                raise ValueError(f"{flag} {value}: {e}") from None
    check_memory(args.N, args.gridsize, args.batch, args.max_offset)


def _check_contract_mode() -> None:
    """PTYCHO_CONTRACTS read once before anything is built: a bad value is refused here, not deep
    inside the first contracted call."""
    import contracts

    contracts.get_mode()


def _trace_config(args: argparse.Namespace, **settings: Any) -> Any:
    """The stack's configuration from the shared flags (trace and doctor), plus ``settings``."""
    from .trace import TraceConfig

    return TraceConfig(
        N=args.N,
        gridsize=args.gridsize,
        batch=args.batch,
        backend=args.backend,
        fault=args.fault,
        max_offset=args.max_offset,
        **settings,
    )


def _doctor(args: argparse.Namespace) -> int:
    from .doctor import run_doctor

    cfg = _trace_config(args, n_filters_scale=1)
    findings = run_doctor(cfg)
    verdicts = {f.verdict for f in findings}
    if verdicts & {"fails", "violation"}:
        code = EXIT_VIOLATION
    elif "error" in verdicts:
        code = EXIT_ERROR
    else:
        code = EXIT_OK
    cfg_line = (
        f"B={cfg.batch} g={cfg.gridsize} N={cfg.N} max_offset={cfg.max_offset:g} "
        f"backend={cfg.backend or 'as decided'} fault={cfg.fault or 'none'}"
    )
    payload = {"findings": [f.to_dict() for f in findings], "exit_code": code}
    _emit(args, payload, render.doctor_document(findings, cfg_line))
    return code


def _trace(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from . import baseline
    from .trace import run_trace

    if args.strategy == "mirrored":
        from ptycho.distributed.strategy import logical_cpus

        logical_cpus(2)  # before TensorFlow starts; refused with a clear message if it has
    result = run_trace(
        _trace_config(args, mode=args.mode, n_filters_scale=args.filters, strategy=args.strategy)
    )
    if result.violation:
        code = EXIT_VIOLATION
    elif result.error:
        code = EXIT_ERROR
    elif not result.records:
        code = EXIT_NOTHING
    else:
        code = EXIT_OK
    compared = baseline.compare(
        asdict(result.config),
        result.backend,
        [r.outcome for r in result.records],
        complete=code == EXIT_OK,
    )
    payload = {**result.to_dict(), "baseline": compared, "exit_code": code}
    _emit(args, payload, render.trace_document(result, verbose=args.verbose, baseline=compared))
    return code  # a baseline that differs does not change it (diagnostics/baseline.py says why)
