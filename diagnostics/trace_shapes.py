"""trace_shapes: named shape traces, TF shape-error explanations and hypothesis tests for the ptycho stack.

    python diagnostics/trace_shapes.py [trace] [--N 64 --gridsize 2 --batch 32 --backend xla|v3
                                                --mode eager|graph|xla|keras|fit|all --fault NAME]
    python diagnostics/trace_shapes.py explain "<TF error message>" [--N --gridsize --batch --max-offset]
    python diagnostics/trace_shapes.py doctor [--N --gridsize --batch --backend --fault]
    python diagnostics/trace_shapes.py faults

Every subcommand takes ``--format text|json``. Exit codes: 0 all contracts hold (trace), the message
was explained (explain), every experiment ran and the stack's invariants hold (doctor); 3 a contract
violation (trace) or a broken invariant (doctor); 2 nothing traced or nothing to explain; 1 usage or
internal error.

JSON of ``trace``: ``{"config", "dims": {"B","g","C","N","M"}, "backend", "backend_source",
"records": [{"mode", "function", "location", "argument", "spec", "layout", "dtype", "static_shape",
"concrete_shape", "bindings", "outcome": "proved"|"deferred"|"refuted", "deferred"}],
"violation": null | {"mode", "function", "argument", "message"}, "error": null | str, "exit_code"}``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

EXIT_OK, EXIT_INTERNAL, EXIT_NOTHING, EXIT_VIOLATION = 0, 1, 2, 3
SUBCOMMANDS = ("trace", "explain", "doctor", "faults")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trace_shapes", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command")

    def config_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--N", type=int, default=64)
        p.add_argument("--gridsize", type=int, default=2, choices=(1, 2, 3))
        p.add_argument("--batch", type=int, default=32)
        p.add_argument("--max-offset", type=float, default=7.0)
        p.add_argument("--format", choices=("text", "json"), default="text")

    trace = sub.add_parser("trace", help="trace named shapes through the stack (default)")
    config_args(trace)
    trace.add_argument("--backend", choices=("xla", "v3"), default=None)
    trace.add_argument("--mode", choices=("eager", "graph", "xla", "keras", "fit", "all"), default="all")
    trace.add_argument("--fault", default=None)
    trace.add_argument("--filters", type=int, default=2, help="n_filters_scale of the network (shapes do not depend on it)")

    explain = sub.add_parser("explain", help="factorise a TF error message over the config's dims")
    explain.add_argument("message")
    config_args(explain)

    doctor = sub.add_parser("doctor", help="run the seed's hypotheses as experiments")
    config_args(doctor)
    doctor.add_argument("--backend", choices=("xla", "v3"), default=None)
    doctor.add_argument("--fault", default=None)

    faults = sub.add_parser("faults", help="list the injectable historical defects")
    faults.add_argument("--format", choices=("text", "json"), default="text")
    return parser


def _dims(args: argparse.Namespace) -> dict[str, int]:
    from ptycho.config.config import ModelConfig

    m = ModelConfig(N=args.N, gridsize=args.gridsize, max_offset=args.max_offset).padded_size
    return {"B": args.batch, "g": args.gridsize, "C": args.gridsize**2, "N": args.N, "M": m}


def _shape(shape: Any) -> str:
    return "?" if shape is None else "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def render_trace(result: Any) -> str:
    d = result.dims
    cfg = result.config
    lines = [f"shape trace  B={d['B']} g={d['g']} C={d['C']} N={d['N']} M={d['M']}  backend={result.backend} "
             f"({result.backend_source})  mode={cfg.mode}  fault={cfg.fault or 'none'}", ""]
    rows = [("mode", "function", "argument", "spec", "shape", "outcome")]
    for r in result.records:
        function = r.function.split(" (")[0]
        rows.append((r.mode, function, r.argument.split(" (")[0], r.spec, _shape(r.concrete_shape or r.static_shape), r.outcome))
    widths = [max(len(row[i]) for row in rows) for i in range(6)]
    for row in rows:
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    counts = {k: sum(r.outcome == k for r in result.records) for k in ("proved", "deferred", "refuted")}
    lines.append("")
    if result.violation:
        v = result.violation
        lines += [f"FIRST VIOLATION ({v.mode}) at {v.function.split(' (')[0]}, {v.argument}:", v.message]
    elif result.error:
        lines += [f"TensorFlow failed outside any contract: {result.error}",
                  "run: trace_shapes explain \"<that message>\" with this configuration"]
    elif not result.records:
        lines.append("nothing was traced: no contract check ran (is PTYCHO_CONTRACTS=off?)")
    else:
        lines.append(f"all {len(result.records)} contract checks hold "
                     f"(proved {counts['proved']}, deferred to run time {counts['deferred']})")
    return "\n".join(lines)


def render_explain(e: Any) -> str:
    lines = [f"message: {e.message}", "dims: " + " ".join(f"{k}={v}" for k, v in e.dims.items()), ""]
    for label, n in e.numbers:
        lines.append(f"{label}: {n}")
        facts = e.factorisations.get(n, [])
        lines += [f"  {f.text}" for f in facts[:4]] or ["  (no product of the config's dims)"]
    if e.ratio:
        lines += ["", f"ratio: {e.ratio}"]
    if e.conclusion:
        lines += [f"reading: {e.conclusion}"]
    lines += ["", "the seed's hypotheses:"]
    lines += [f"  {name}: {verdict}" + (f" - {why}" if why else "") for name, verdict, why in e.hypotheses]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in SUBCOMMANDS + ("-h", "--help"):
        argv = ["trace", *argv]
    try:
        args = _parser().parse_args(argv)
    except SystemExit as e:
        return EXIT_OK if e.code == 0 else EXIT_INTERNAL
    try:
        return _dispatch(args)
    except (ValueError, KeyError) as e:
        print(f"trace_shapes: {e}", file=sys.stderr)
        return EXIT_INTERNAL
    except Exception as e:  # an internal error: say what, exit 1
        print(f"trace_shapes: internal error: {type(e).__name__}: {e}", file=sys.stderr)
        return EXIT_INTERNAL


def _emit(args: argparse.Namespace, payload: dict, text: str) -> None:
    print(json.dumps(payload, indent=2, default=str) if args.format == "json" else text)


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "faults":
        from ._faults import FAULTS

        payload = {"faults": [{"name": f.name, "description": f.description, "shows_at": f.shows_at,
                               "contracts_off": f.contracts_off} for f in FAULTS.values()]}
        _emit(args, payload, "\n".join(f"{f.name:<26} {f.description}\n{'':<26} shows at: {f.shows_at}\n"
                                        f"{'':<26} contracts off: {f.contracts_off}" for f in FAULTS.values()))
        return EXIT_OK
    if args.command == "explain":
        from ._explain import explain

        explanation = explain(args.message, _dims(args))
        code = EXIT_OK if any(explanation.factorisations.values()) else EXIT_NOTHING
        _emit(args, {**explanation.to_dict(), "exit_code": code}, render_explain(explanation))
        return code
    from ._faults import FAULTS
    from ._trace import TraceConfig

    if args.fault is not None and args.fault not in FAULTS:
        raise ValueError(f"unknown fault {args.fault!r}; known: {', '.join(FAULTS)}")
    if args.command == "doctor":
        from ._doctor import run_doctor

        cfg = TraceConfig(N=args.N, gridsize=args.gridsize, batch=args.batch, backend=args.backend,
                          fault=args.fault, max_offset=args.max_offset, n_filters_scale=1)
        findings = run_doctor(cfg)
        code = EXIT_VIOLATION if any(f.verdict == "fails" for f in findings) else EXIT_OK
        text = "\n".join(f"{f.verdict.upper():<10} {f.name}\n{'':<10} {f.evidence}" for f in findings)
        _emit(args, {"findings": [f.to_dict() for f in findings], "exit_code": code}, text)
        return code
    from ._trace import run_trace

    result = run_trace(TraceConfig(N=args.N, gridsize=args.gridsize, batch=args.batch, backend=args.backend,
                                   mode=args.mode, fault=args.fault, max_offset=args.max_offset,
                                   n_filters_scale=args.filters))
    if result.violation:
        code = EXIT_VIOLATION
    elif result.error:
        code = EXIT_INTERNAL
    elif not result.records:
        code = EXIT_NOTHING
    else:
        code = EXIT_OK
    _emit(args, {**result.to_dict(), "exit_code": code}, render_trace(result))
    return code


if __name__ == "__main__":
    if __package__ in (None, ""):
        from diagnostics.trace_shapes import main as _main  # the package-relative imports need the package
        sys.exit(_main())
    sys.exit(main())
