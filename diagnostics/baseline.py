"""The default trace's counts, recorded, so that a change in what the checker proves is seen.

``trace_baseline.json`` holds, for the default configuration (``trace-shapes trace`` with no flags:
N=64, gridsize 2, batch 32, every mode, the XLA backend), how many contract checks ran and how many
were proved while tracing or deferred to run time, with the TensorFlow and Keras versions measured.
``trace`` compares its counts with it when it runs that configuration to the end. A checker that
stops binding ``None`` dims proves everything at trace time (``proved 235, deferred 0``) and every
contract still holds: only the counts show it.

A difference prints a ``CHANGED`` line and sets ``"baseline": {"status": "differs", ...}`` in the
JSON, but does not change the exit code: after a TensorFlow or Keras upgrade, Keras may trace a
layer a different number of times, which changes the counts while every contract holds, so a
difference is a reason to look (``trace --verbose`` against the older version), not a failure.
The test suite holds the counts (``tests/test_diagnostics_inputs.py``). After an intended change,
re-record with ``python -m diagnostics.baseline``.

Nothing here imports TensorFlow except ``main``, which runs the trace.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

BASELINE_FILE = Path(__file__).with_name("trace_baseline.json")
SHOWN_AS = "diagnostics/trace_baseline.json"
COUNTS = ("checks", "proved", "deferred")


def load(path: Path | None = None) -> dict[str, Any] | None:
    """The recorded baseline (default: ``BASELINE_FILE``), or None when the file is missing."""
    try:
        with open(BASELINE_FILE if path is None else path) as f:
            data: dict[str, Any] = json.load(f)
    except FileNotFoundError:
        return None
    return data


def counts_of(outcomes: list[str]) -> dict[str, int]:
    return {
        "checks": len(outcomes),
        "proved": outcomes.count("proved"),
        "deferred": outcomes.count("deferred"),
    }


def _versions() -> dict[str, str | None]:
    """The versions of the modules already imported (the trace imported them)."""
    return {name: getattr(sys.modules.get(name), "__version__", None) for name in ("tensorflow", "keras")}


def _text(c: dict[str, int]) -> str:
    return f"{c['checks']} checks (proved {c['proved']}, deferred to run time {c['deferred']})"


def compare(
    config: dict[str, Any],
    backend: str,
    outcomes: list[str],
    *,
    complete: bool,
    baseline: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``trace``'s counts against the baseline: ``{"status": "same"|"differs"|"not compared", "why",
    "file", "expected", "actual", "recorded_with", "message"}``.

    ``config`` is the trace's ``TraceConfig`` as a dict (its backend may be None: ``backend`` is the
    one the model decided); ``complete`` is False when the trace stopped early (a violation, an error)
    or traced nothing, whose counts say nothing about the checker.
    """
    base = load() if baseline is None else baseline
    actual = counts_of(outcomes)
    out: dict[str, Any] = {
        "status": "not compared",
        "why": None,
        "file": SHOWN_AS,
        "expected": None,
        "actual": actual,
        "recorded_with": None,
        "message": None,
    }
    if base is None:
        out["why"] = f"no baseline: {SHOWN_AS} is missing"
        return out
    recorded = dict(base["configuration"])
    wanted = {**config, "backend": backend}
    different = [k for k, v in recorded.items() if wanted.get(k) != v]
    if different:
        out["why"] = (
            "not the default configuration ("
            + ", ".join(f"{k}={wanted.get(k)!r} (baseline {recorded[k]!r})" for k in different)
            + ")"
        )
        return out
    if not complete:
        out["why"] = "the trace did not run to the end (a violation, an error, or nothing traced)"
        return out
    expected = {k: int(base["counts"][k]) for k in COUNTS}
    out.update(expected=expected, recorded_with=base.get("recorded_with"))
    if expected == actual:
        out["status"] = "same"
        return out
    out["status"] = "differs"
    out["message"] = _message(expected, actual, base.get("recorded_with") or {})
    return out


def _message(expected: dict[str, int], actual: dict[str, int], recorded_with: dict[str, Any]) -> str:
    hints = []
    if actual["checks"] != expected["checks"]:
        hints.append(
            "a different number of checks: a contract was added or removed, or TensorFlow/Keras traces "
            "a layer a different number of times"
        )
    if actual["deferred"] < expected["deferred"]:
        hints.append(
            "fewer checks deferred to run time: if the checker stopped binding unknown (None) dims, "
            "those sizes are no longer checked when the model runs"
        )
    elif actual["deferred"] > expected["deferred"]:
        hints.append(
            "more checks deferred to run time: sizes once decided while tracing are left to run time"
        )
    now = _versions()
    versions = ", ".join(f"{k} {v}" for k, v in recorded_with.items() if v) or "unknown versions"
    upgraded = [
        f"{k} {recorded_with[k]} -> {now[k]}"
        for k in now
        if recorded_with.get(k) and now[k] and now[k] != recorded_with[k]
    ]
    return (
        f"CHANGED: the default configuration's baseline ({SHOWN_AS}, {versions}) is {_text(expected)}; "
        f"this trace made {_text(actual)}: "
        + "; ".join(hints)
        + (f"; versions differ ({', '.join(upgraded)})" if upgraded else "")
        + ". Compare trace --verbose with the older version; if the change is intended, re-record with "
        "python -m diagnostics.baseline (the exit code is not changed by this)"
    )


def main() -> int:
    """Run the default trace and record its counts in ``trace_baseline.json``."""
    from dataclasses import asdict

    from .trace import TraceConfig, run_trace

    result = run_trace(TraceConfig())
    if result.violation or result.error or not result.records:
        print("diagnostics.baseline: the default trace did not hold; nothing recorded", file=sys.stderr)
        return 1
    counts = counts_of([r.outcome for r in result.records])
    data = {
        "about": "counts of the default trace (trace-shapes trace): diagnostics/baseline.py",
        "configuration": {**asdict(result.config), "backend": result.backend},
        "counts": counts,
        "recorded_with": _versions(),
    }
    BASELINE_FILE.write_text(json.dumps(data, indent=2) + "\n")
    print(f"recorded {_text(counts)} in {SHOWN_AS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
