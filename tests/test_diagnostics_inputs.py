"""Every bad input to trace-shapes is refused with one clear message (issue 20: nothing silent).

``CASES`` lists each refusal as (command, what is wrong, argv for ``diagnostics.cli.main``, a fragment
the output must contain); ``run_case`` runs one in process. A leading ``NAME=VALUE`` word of argv sets
an environment variable for the call, as a shell would (``PTYCHO_CONTRACTS=bogus trace-shapes trace``).
The refusals come before anything is built: a flag out of range exits 1 with one line naming the flag,
the value and what is expected; a message holding a negative count exits 2 ("cannot explain").

Also here: the default trace's counts against ``diagnostics/trace_baseline.json``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
INCIDENT = "Input to reshape is a tensor with 778752 values, but the requested shape has 24336"
MAX_OFFSET_BOUND = "--max-offset must be a finite number of pixels within [0, 4*N] = [0, 256] for --N 64"
AUDITED = "tests/programs/audited_models.py:merges_batch"  # a Keras model of inputs (B, 8) float32

CASES: list[tuple[str, str, list[str], str]] = [
    (
        "trace-shapes",
        "a negative batch",
        ["trace", "--batch", "-3"],
        "--batch must be a positive integer (groups per batch, B); got -3",
    ),
    (
        "trace-shapes",
        "a batch of zero groups",
        ["trace", "--batch", "0"],
        "--batch must be a positive integer (groups per batch, B); got 0",
    ),
    (
        "trace-shapes",
        "a max offset of a million pixels (931 TiB of canvases)",
        ["trace", "--max-offset", "1e6"],
        f"{MAX_OFFSET_BOUND} (the canvas side M = N + 2*ceil(max-offset) at most 9*N = 576); got 1e+06, "
        "which makes M = 2000064: 931 TiB for the B=32 complex64 canvases alone",
    ),
    ("trace-shapes", "a max offset that is not a number", ["trace", "--max-offset", "nan"], "got nan"),
    ("trace-shapes", "a negative max offset", ["trace", "--max-offset", "-1"], f"{MAX_OFFSET_BOUND} "),
    (
        "trace-shapes",
        "a patch side of zero",
        ["trace", "--N", "0"],
        "--N must be a positive integer (the patch side in pixels); got 0",
    ),
    (
        "trace-shapes",
        "a patch side the stack cannot build",
        ["trace", "--N", "30"],
        "--N 30: ModelConfig: N must be 8 times a power of two and >= 16",
    ),
    (
        "trace-shapes",
        "a network width of zero",
        ["trace", "--filters", "0"],
        "--filters must be a positive integer (n_filters_scale of the network); got 0",
    ),
    (
        "trace-shapes",
        "a batch whose canvases exceed this machine's memory",
        ["trace", "--batch", str(10**12)],
        f"--batch {10**12} with --N 64 --gridsize 2 --max-offset 7 does not fit: one (B*C, M, M, 1) = "
        f"({4 * 10**12}, 78, 78, 1) complex64 tensor alone takes",
    ),
    (
        "trace-shapes",
        "doctor with a batch of zero groups",
        ["doctor", "--batch", "0"],
        "--batch must be a positive integer (groups per batch, B); got 0",
    ),
    (
        "trace-shapes",
        "doctor with a max offset of a million pixels",
        ["doctor", "--max-offset", "1e6"],
        f"{MAX_OFFSET_BOUND} (the canvas side",
    ),
    (
        "trace-shapes",
        "explain's ptycho preset with a negative batch",
        ["explain", INCIDENT, "--batch", "-3"],
        "--batch must be a positive integer (groups per batch, B); got -3",
    ),
    (
        "trace-shapes",
        "explain's ptycho preset with a max offset of a million pixels",
        ["explain", INCIDENT, "--max-offset", "1e6"],
        f"{MAX_OFFSET_BOUND} (the canvas side",
    ),
    (
        "trace-shapes",
        "explain's ptycho preset with a gridsize of zero",
        ["explain", INCIDENT, "--gridsize", "0"],
        "--gridsize must be a positive integer (patches per group side, C = g*g); got 0",
    ),
    (
        "trace-shapes",
        "a message with a negative count of values",
        ["explain", "Input to reshape is a tensor with -5 values, but the requested shape has 24336"],
        "cannot explain: the message says values in the input = -5, and no tensor has a negative count",
    ),
    (
        "trace-shapes",
        "a message with a negative dim in a shape",
        ["explain", "Incompatible shapes: [-3,4] vs. [2,4]", "--dim", "B=2"],
        "cannot explain: the message says first shape = (-3, 4), and no tensor has a negative count",
    ),
    (
        "trace-shapes",
        "audit at a batch size of zero",
        ["audit", AUDITED, "--batch", "0,2"],
        "--batch takes positive integers separated by commas, got '0,2'",
    ),
    (
        "trace-shapes",
        "audit at a batch whose inputs exceed this machine's memory",
        ["audit", AUDITED, "--batch", f"2,{10**15}"],
        f"--batch {10**15}: the model's synthesised inputs at batch {10**15} take",
    ),
    (
        "trace-shapes",
        "a contract mode that does not exist",
        ["PTYCHO_CONTRACTS=bogus", "trace"],
        "PTYCHO_CONTRACTS: contract mode must be one of off, static, full; received: 'bogus'",
    ),
]

_ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=")


def run_case(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Run ``diagnostics.cli.main(argv)`` in process from the repository root; (exit code, stderr +
    stdout). Leading ``NAME=VALUE`` words set those environment variables for the call only."""
    from diagnostics.cli import main

    words = list(argv)
    saved: dict[str, str | None] = {}
    while words and _ASSIGNMENT.match(words[0]):
        name, _, value = words.pop(0).partition("=")
        saved.setdefault(name, os.environ.get(name))
        os.environ[name] = value
    cwd = os.getcwd()
    capsys.readouterr()  # drop what came before
    try:
        os.chdir(ROOT)
        try:
            code = main(words)
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
    finally:
        os.chdir(cwd)
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old
    captured = capsys.readouterr()
    return code, captured.err + captured.out


@pytest.mark.parametrize("command, wrong, argv, fragment", CASES, ids=[c[1] for c in CASES])
def test_every_bad_input_is_refused_clearly(command, wrong, argv, fragment, capsys):
    code, out = run_case(argv, capsys)
    assert code != 0, f"{wrong}: exit 0\n{out}"
    assert fragment in out, f"{wrong}: {fragment!r} not in\n{out}"
    assert "Traceback" not in out, out
    if fragment.startswith("cannot explain"):
        assert code == 2  # nothing explained
    else:  # a usage error: one line, naming the flag (or variable) and the value
        assert code == 1
        ours = [line for line in out.splitlines() if line.startswith("trace-shapes")]
        assert len(ours) == 1 and ours[0].startswith("trace-shapes: ") and fragment in ours[0], out


def test_the_cases_cover_each_command_and_flag():
    argvs = [" ".join(argv) for _, _, argv, _ in CASES]
    for needed in ("trace --batch -3", "trace --batch 0", "trace --max-offset 1e6", "doctor", "audit"):
        assert any(a.startswith(needed) for a in argvs), needed
    assert any(a.startswith("explain") and "--max-offset" in a for a in argvs)
    assert any(a.startswith("PTYCHO_CONTRACTS=bogus") for a in argvs)


def test_a_negative_count_is_named_in_the_json_and_nothing_is_factorised(capsys):
    message = "Input to reshape is a tensor with -5 values, but the requested shape has 24336"
    code, out = run_case(["explain", message, "--N", "64", "--format", "json"], capsys)
    data = json.loads(out)
    assert code == 2 and data["exit_code"] == 2
    assert data["impossible"] == [["values in the input", "-5"]]
    assert data["numbers"] == [] and data["factorisations"] == {} and data["hypotheses"] == []
    # -1 in a shape means unknown and a negative axis counts from the end: both still explained
    keras_reshape = (
        "total size of the tensor must be unchanged. Received: input_shape=(4, 6), target_shape=(-1, 4)"
    )
    code, out = run_case(["explain", keras_reshape, "--dim", "C=4", "--format", "json"], capsys)
    assert code == 0 and json.loads(out)["impossible"] == []


def test_the_memory_bound_is_the_largest_tensor_against_the_memory_given():
    from diagnostics.limits import check_memory, largest_tensor_bytes

    need = largest_tensor_bytes(64, 2, 32, 7.0)
    assert need == 8 * 32 * 4 * 78 * 78
    check_memory(64, 2, 32, 7.0, memory=need)
    with pytest.raises(ValueError, match=r"takes 5\.94 MiB, more than this machine's 5\.94 MiB of memory"):
        check_memory(64, 2, 32, 7.0, memory=need - 1)


# The default trace's counts against diagnostics/trace_baseline.json


def _baseline() -> dict:
    return json.loads((ROOT / "diagnostics" / "trace_baseline.json").read_text())


def _fake_trace(monkeypatch, proved: int, deferred: int, **config):
    """Make trace return ``proved`` + ``deferred`` passing checks of ``config``, without tracing."""
    from diagnostics import trace
    from diagnostics.trace import TraceConfig, TraceRecord, TraceResult

    cfg = TraceConfig(**config)
    records = [
        TraceRecord("eager", "f", "", "x", "B N", None, "float32", [None, 4], None, {}, outcome, [])
        for outcome in ["proved"] * proved + ["deferred"] * deferred
    ]
    model = cfg.model_config()
    dims = {"B": cfg.batch, "g": cfg.gridsize, "C": model.C, "N": cfg.N, "M": model.padded_size}
    result = TraceResult(cfg, dims, backend="xla", backend_source="test", records=records)
    monkeypatch.setattr(trace, "run_trace", lambda _: result)
    monkeypatch.delenv("PTYCHO_CONTRACTS", raising=False)


def test_a_trace_whose_counts_differ_from_the_baseline_says_so_and_still_exits_0(monkeypatch, capsys):
    """A checker that stops binding None dims proves every check while tracing: nothing fails, the
    counts change, and trace says so."""
    counts = _baseline()["counts"]
    n, proved, deferred = counts["checks"], counts["proved"], counts["deferred"]
    _fake_trace(monkeypatch, proved=n, deferred=0)
    code, out = run_case(["trace"], capsys)
    assert code == 0, out
    lines = out.rstrip().splitlines()
    assert lines[-2] == f"all {n} contract checks hold (proved {n}, deferred to run time 0)"
    assert lines[-1].startswith(
        "CHANGED: the default configuration's baseline (diagnostics/trace_baseline.json, tensorflow "
    )
    assert (
        f"is {n} checks (proved {proved}, deferred to run time {deferred}); "
        f"this trace made {n} checks (proved {n}, deferred to run time 0): "
        "fewer checks deferred to run time: if the checker stopped binding unknown (None) dims"
    ) in lines[-1]

    code, out = run_case(["trace", "--format", "json"], capsys)
    data = json.loads(out)
    assert code == 0 and data["exit_code"] == 0
    assert data["baseline"]["status"] == "differs"
    assert data["baseline"]["expected"] == {"checks": n, "proved": proved, "deferred": deferred}
    assert data["baseline"]["actual"] == {"checks": n, "proved": n, "deferred": 0}
    assert data["baseline"]["message"] == lines[-1]


def test_a_trace_with_the_baselines_counts_prints_no_warning(monkeypatch, capsys):
    counts = _baseline()["counts"]
    _fake_trace(monkeypatch, proved=counts["proved"], deferred=counts["deferred"])
    code, out = run_case(["trace"], capsys)
    assert code == 0 and "CHANGED" not in out
    code, out = run_case(["trace", "--format", "json"], capsys)
    assert json.loads(out)["baseline"]["status"] == "same"


def test_another_configuration_is_not_compared(monkeypatch, capsys):
    _fake_trace(monkeypatch, proved=10, deferred=0, N=32, batch=4)
    code, out = run_case(["trace", "--N", "32", "--batch", "4", "--format", "json"], capsys)
    baseline = json.loads(out)["baseline"]
    assert code == 0 and baseline["status"] == "not compared"
    assert baseline["why"] == "not the default configuration (N=32 (baseline 64), batch=4 (baseline 32))"


def test_recording_the_baseline_writes_what_trace_compares_with(monkeypatch, tmp_path, capsys):
    from diagnostics import baseline

    _fake_trace(monkeypatch, proved=7, deferred=3)
    monkeypatch.setattr(baseline, "BASELINE_FILE", tmp_path / "trace_baseline.json")
    assert baseline.main() == 0
    recorded = json.loads((tmp_path / "trace_baseline.json").read_text())
    assert recorded["counts"] == {"checks": 10, "proved": 7, "deferred": 3}
    assert recorded["configuration"] == {**_baseline()["configuration"]}  # the default, backend decided
    code, out = run_case(["trace", "--format", "json"], capsys)
    assert code == 0 and json.loads(out)["baseline"]["status"] == "same"


@pytest.mark.slow
def test_the_default_trace_holds_the_baselines_counts():
    """The real default trace (make demo), in a fresh process: its counts are the recorded ones."""
    counts = _baseline()["counts"]
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    for name in ("USE_XLA_TRANSLATE", "PTYCHO_CONTRACTS"):
        environment.pop(name, None)
    result = subprocess.run(
        [sys.executable, str(ROOT / "diagnostics" / "trace_shapes.py"), "trace"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        env=environment,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "CHANGED" not in result.stdout
    assert result.stdout.rstrip().splitlines()[-1] == (
        f"all {counts['checks']} contract checks hold "
        f"(proved {counts['proved']}, deferred to run time {counts['deferred']})"
    )
