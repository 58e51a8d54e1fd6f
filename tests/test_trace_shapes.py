"""The diagnostics CLI, through subprocess: every subcommand, both output formats, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "diagnostics" / "trace_shapes.py"
SEED_MESSAGE = "Input to reshape is a tensor with 778752 values, but the requested shape has 24336"
SEED_DIMS = ["--N", "64", "--gridsize", "2", "--batch", "32"]

pytestmark = pytest.mark.slow


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    environment.pop("USE_XLA_TRANSLATE", None)
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, env=environment)


def test_faults_lists_the_catalogue_in_both_formats():
    text = cli("faults")
    assert text.returncode == 0
    names = ["batch-merge", "modulo-broadcast", "sign-flip", "flat-offsets", "output-shape-passthrough"]
    assert all(name in text.stdout for name in names)
    data = json.loads(cli("faults", "--format", "json").stdout)
    assert sorted(f["name"] for f in data["faults"]) == sorted(names)


def test_explain_factorises_the_seed_message():
    result = cli("explain", SEED_MESSAGE, *SEED_DIMS)
    assert result.returncode == 0
    out = result.stdout
    assert "778752 = (B*C=128) x (M=78) x (M=78)" in out
    assert "778752 = (M=78) x (M=78) x (B=32) x (C=4)" in out
    assert "24336 = (M=78) x (M=78) x (C=4)" in out
    assert "ratio: 778752 / 24336 = 32 = B" in out
    assert "the batch of B = 32 groups collapsed into one group's worth of canvases upstream" in out
    assert "H1-revised (offsets not flattened): refuted" in out
    data = json.loads(cli("explain", SEED_MESSAGE, *SEED_DIMS, "--format", "json").stdout)
    assert data["exit_code"] == 0 and data["numbers"] == [["values in the input", 778752], ["values in the requested shape", 24336]]


def test_explain_without_numbers_exits_2():
    assert cli("explain", "something odd happened").returncode == 2


def test_trace_of_a_healthy_stack_exits_0_in_both_formats():
    args = ["trace", "--N", "32", "--gridsize", "2", "--batch", "4", "--mode", "graph", "--filters", "1"]
    text = cli(*args)
    assert text.returncode == 0, text.stdout + text.stderr
    assert "shape trace  B=4 g=2 C=4 N=32 M=46" in text.stdout
    assert "contract checks hold" in text.stdout
    data = json.loads(cli(*args, "--format", "json").stdout)
    assert data["exit_code"] == 0 and data["violation"] is None
    outcomes = {r["outcome"] for r in data["records"]}
    assert outcomes <= {"proved", "deferred"} and "deferred" in outcomes
    reassembly = [r for r in data["records"] if r["function"].startswith("ReassemblePatchesLayer.call") and r["mode"] == "graph"]
    assert reassembly and reassembly[0]["spec"] == "B N N C" and reassembly[0]["static_shape"] == [None, 32, 32, 4]


def test_batch_merge_under_xla_is_reported_at_the_reassembly_layer():
    result = cli("trace", *SEED_DIMS, "--mode", "xla", "--fault", "batch-merge", "--filters", "1", "--format", "json")
    assert result.returncode == 3, result.stdout[-2000:] + result.stderr[-2000:]
    violation = json.loads(result.stdout)["violation"]
    assert violation["function"].startswith("ReassemblePatchesLayer.call") and violation["argument"] == "return value"
    assert "dim B: return value axis 0 is 1, patches axis 0 is 32" in violation["message"]


@pytest.mark.parametrize("fault, mode, function, argument", [
    ("flat-offsets", "eager", "ReassemblePatchesLayer.call", "offsets"),
    ("modulo-broadcast", "graph", "translate", "translations"),
    ("output-shape-passthrough", "keras", "ExtractPatchesPositionLayer.call", "return value"),
])
def test_each_fault_shows_at_its_boundary(fault, mode, function, argument):
    result = cli("trace", "--N", "32", "--gridsize", "2", "--batch", "8", "--mode", mode, "--fault", fault,
                 "--filters", "1", "--format", "json")
    assert result.returncode == 3, result.stdout[-2000:] + result.stderr[-2000:]
    violation = json.loads(result.stdout)["violation"]
    assert violation["function"].startswith(function) and violation["argument"].startswith(argument)


def test_usage_errors_exit_1_and_contracts_off_traces_nothing():
    assert cli("trace", "--fault", "no-such-fault").returncode == 1
    assert cli("trace", "--gridsize", "5").returncode == 1
    off = cli("trace", "--N", "32", "--batch", "2", "--mode", "keras", "--filters", "1", env={"PTYCHO_CONTRACTS": "off"})
    assert off.returncode == 2 and "nothing was traced" in off.stdout


def test_doctor_reports_each_hypothesis():
    result = cli("doctor", "--N", "32", "--gridsize", "2", "--batch", "8", "--format", "json")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    findings = json.loads(result.stdout)["findings"]
    verdicts = {f["name"] if f["name"].startswith("invariant") else f["name"].split(":")[0]: f["verdict"] for f in findings}
    assert verdicts == {
        "H1-revised": "refuted", "H2-revised": "refuted", "H2": "confirmed", "H3": "confirmed", "H4": "refuted",
        "invariant: the XLA and V3 translations agree": "holds",
        "invariant: a group's prediction does not depend on its batch": "holds",
    }
    text = cli("doctor", "--N", "32", "--gridsize", "2", "--batch", "8")
    assert "REFUTED    H1-revised" in text.stdout


def test_doctor_catches_a_sign_flip_between_backends():
    result = cli("doctor", "--N", "32", "--gridsize", "1", "--batch", "4", "--fault", "sign-flip")
    assert result.returncode == 3
    assert "FAILS      invariant: the XLA and V3 translations agree" in result.stdout


def test_with_contracts_off_the_faults_give_what_the_catalogue_says():
    """The catalogue's 'contracts off' column, measured: TF's own errors, or no error at all."""
    off = {"PTYCHO_CONTRACTS": "off"}
    common = ["trace", "--N", "32", "--gridsize", "2", "--batch", "8", "--mode", "graph", "--filters", "1", "--format", "json"]
    v3 = cli(*common, "--backend", "v3", "--fault", "batch-merge", env=off)
    assert v3.returncode == 1 and json.loads(v3.stdout)["error"] == "InvalidArgumentError: Input transform should be num_images x 8 or 1 x 8"
    xla = cli(*common, "--backend", "xla", "--fault", "batch-merge", env=off)
    assert xla.returncode == 1 and json.loads(xla.stdout)["error"] == "InvalidArgumentError: Incompatible shapes: [2,1] vs. [30,46]"
    modulo = cli(*common, "--backend", "xla", "--fault", "modulo-broadcast", env=off)
    assert modulo.returncode == 1 and json.loads(modulo.stdout)["error"] == "InvalidArgumentError: Incompatible shapes: [30,1] vs. [6,46]"
    flat = json.loads(cli(*common, "--fault", "flat-offsets", env=off).stdout)["error"]
    assert flat.startswith("ValueError: Dimension must be 2 but is 4")
    explained = cli("explain", flat, "--N", "32", "--gridsize", "2", "--batch", "8")
    assert explained.returncode == 0 and "4 = (C=4)" in explained.stdout and "2 = (g=2)" in explained.stdout


def test_sign_flip_is_caught_by_the_values_check_of_a_full_trace():
    result = cli("trace", "--N", "32", "--gridsize", "1", "--batch", "4", "--mode", "all", "--fault", "sign-flip",
                 "--filters", "1", "--format", "json")
    assert result.returncode == 3, result.stdout[-2000:] + result.stderr[-2000:]
    violation = json.loads(result.stdout)["violation"]
    assert violation["mode"] == "values" and "the XLA and V3 backends disagree" in violation["message"]


def test_a_full_trace_of_a_healthy_stack_holds_including_the_values_check():
    result = cli("trace", "--N", "32", "--gridsize", "2", "--batch", "4", "--mode", "all", "--filters", "1", "--format", "json")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    data = json.loads(result.stdout)
    assert {r["mode"] for r in data["records"]} == {"keras", "eager", "graph", "xla", "fit", "values"}
    assert data["records"][-1]["outcome"] == "proved"
