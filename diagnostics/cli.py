"""trace-shapes: named shape traces, TF shape-error explanations and hypothesis tests for the ptycho stack.

    trace-shapes [trace] [--N 64 --gridsize 2 --batch 32 --backend xla|v3
                          --mode eager|graph|xla|keras|fit|all --fault NAME --verbose]
    trace-shapes explain "<TF error message>" [--N --gridsize --batch --max-offset]
    trace-shapes doctor [--N --gridsize --batch --backend --fault]
    trace-shapes faults

(or ``python diagnostics/trace_shapes.py ...``). This module parses and dispatches; the work is in
``trace``, ``explain``, ``doctor`` and ``faults``, the output in ``render``.

Exit codes
    0  trace: every contract holds; explain: the message was explained; doctor: every check ran or
       was skipped and no invariant is broken; faults: always
    1  usage error (unknown option, fault or configuration), an error outside any contract, or an
       internal error (the message says which)
    2  trace: nothing traced (no contract check ran, e.g. PTYCHO_CONTRACTS=off); explain: no number
       of the message is a product of the configuration's dims
    3  trace: a contract violation; doctor: a broken invariant or a contract violation met while
       running a check

JSON (``--format json``), one object per run, each with ``"exit_code"``:

trace
    ``{"config": {"N", "gridsize", "batch", "backend", "mode", "fault", "max_offset",
    "n_filters_scale", "seed"}, "dims": {"B", "g", "C", "N", "M"}, "backend", "backend_source",
    "records": [{"mode": "keras"|"eager"|"graph"|"xla"|"fit"|"values", "function", "location",
    "argument", "spec", "layout", "dtype", "static_shape", "concrete_shape", "bindings",
    "outcome": "proved"|"deferred"|"refuted", "deferred"}], "violation": null | {"mode",
    "function", "argument", "message"}, "error": null | str, "exit_code"}``
explain
    ``{"message", "dims", "numbers": [[label, int]], "factorisations": {"<int>": [{"number",
    "factors", "text"}]}, "ratio", "conclusion", "hypotheses": [{"id", "claim", "verdict", "why"}],
    "exit_code"}``
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
SUBCOMMANDS = ("trace", "explain", "doctor", "faults")
_EXIT_CODES = """exit codes: 0 ok; 1 usage, configuration or internal error; 2 nothing traced or
explained; 3 a contract violation or a broken invariant. JSON schemas: the docstring of
diagnostics/cli.py."""


def _config_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--N", type=int, default=64, help="patch side in pixels (default: 64)")
    p.add_argument(
        "--gridsize",
        type=int,
        default=2,
        choices=(1, 2, 3),
        help="patches per group side, C = g*g (default: 2)",
    )
    p.add_argument("--batch", type=int, default=32, help="groups per batch, B (default: 32)")
    p.add_argument(
        "--max-offset",
        type=float,
        default=7.0,
        help="largest offset in pixels the canvas holds; sets M = N + 2*ceil(max-offset) (default: 7)",
    )
    p.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text (a table, coloured on a terminal) or json (schema in diagnostics/cli.py)",
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
    sub = top.add_subparsers(dest="command", metavar="{trace,explain,doctor,faults}")

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

    explain = sub.add_parser(
        "explain",
        help="factorise a TF error message over the configuration's dims",
        description=f"Factorise the numbers of a TensorFlow error over the configuration's named dims "
        f"and say what they imply for {INCIDENT}'s hypotheses ({INCIDENT_DOC}).",
        epilog=_EXIT_CODES,
    )
    explain.add_argument("message", help="the TensorFlow error message, quoted")
    _config_args(explain)

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
    faults.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text or json (schema in diagnostics/cli.py)",
    )
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand (``trace`` when none is named); returns the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not args_list or args_list[0] not in (*SUBCOMMANDS, "-h", "--help"):
        args_list = ["trace", *args_list]
    try:
        args = parser().parse_args(args_list)
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


def _explain_dims(args: argparse.Namespace) -> dict[str, int]:
    from ptycho.config.config import ModelConfig

    m = ModelConfig(N=args.N, gridsize=args.gridsize, max_offset=args.max_offset).padded_size
    return {"B": args.batch, "g": args.gridsize, "C": args.gridsize**2, "N": args.N, "M": m}


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "explain":
        from .explain import explain

        explanation = explain(args.message, _explain_dims(args))
        code = EXIT_OK if any(explanation.factorisations.values()) else EXIT_NOTHING
        _emit(args, {**explanation.to_dict(), "exit_code": code}, render.explain_document(explanation))
        return code

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


def _doctor(args: argparse.Namespace) -> int:
    from .doctor import run_doctor
    from .trace import TraceConfig

    cfg = TraceConfig(
        N=args.N,
        gridsize=args.gridsize,
        batch=args.batch,
        backend=args.backend,
        fault=args.fault,
        max_offset=args.max_offset,
        n_filters_scale=1,
    )
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
    from .trace import TraceConfig, run_trace

    result = run_trace(
        TraceConfig(
            N=args.N,
            gridsize=args.gridsize,
            batch=args.batch,
            backend=args.backend,
            mode=args.mode,
            fault=args.fault,
            max_offset=args.max_offset,
            n_filters_scale=args.filters,
        )
    )
    if result.violation:
        code = EXIT_VIOLATION
    elif result.error:
        code = EXIT_ERROR
    elif not result.records:
        code = EXIT_NOTHING
    else:
        code = EXIT_OK
    _emit(args, {**result.to_dict(), "exit_code": code}, render.trace_document(result, verbose=args.verbose))
    return code
