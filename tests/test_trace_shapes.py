"""The diagnostics CLI: every subcommand through subprocess in both output formats with its exit code;
the doctor's registry, the rendering and the help texts in process."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "diagnostics" / "trace_shapes.py"
INCIDENT_MESSAGE = "Input to reshape is a tensor with 778752 values, but the requested shape has 24336"
INCIDENT_DIMS = "--N 64 --gridsize 2 --batch 32"
MODES = ["keras", "eager", "graph", "xla", "fit"]

pytestmark = pytest.mark.slow


def cli(command: str, *extra: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run trace_shapes.py with the words of ``command``, then ``extra`` as given."""
    args = [*command.split(), *extra]
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    environment.pop("USE_XLA_TRANSLATE", None)
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env=environment,
    )


def table_rows(text: str) -> list[list[str]]:
    """The rows of the compact trace table (header included), split on runs of 2+ spaces."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("function "))
    end = next(i for i, line in enumerate(lines) if line.startswith("proved: "))
    return [re.split(r"\s{2,}", line.strip()) for line in lines[start:end]]


def cell(text: str, function: str, mode: str) -> str:
    """The compact table's cell of ``function`` in the column of ``mode``."""
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("function "))
    row = next(line for line in lines if line.startswith(f"{function} "))
    return row[header.index(mode) :].split("  ")[0].strip()


def test_faults_lists_the_catalogue_in_both_formats():
    text = cli("faults")
    assert text.returncode == 0
    names = [
        "batch-merge",
        "batch-merge-static",
        "modulo-broadcast",
        "sign-flip",
        "flat-offsets",
        "output-shape-passthrough",
    ]
    assert all(name in text.stdout for name in names)
    data = json.loads(cli("faults", "--format", "json").stdout)
    assert sorted(f["name"] for f in data["faults"]) == sorted(names)


def test_explain_factorises_the_incident_message():
    result = cli("explain", INCIDENT_MESSAGE, *INCIDENT_DIMS.split())
    assert result.returncode == 0
    out = result.stdout
    assert "778752 = (B*C=128) x (M=78) x (M=78)" in out
    assert "778752 = (M=78) x (M=78) x (B=32) x (C=4)" in out
    assert "24336 = (M=78) x (M=78) x (C=4)" in out
    assert "ratio: 778752 / 24336 = 32 = B" in out
    assert "the batch of B = 32 groups collapsed into one group's worth of canvases upstream" in out
    assert "the 778752 incident's hypotheses (the story: docs/incident-778752.md):" in out
    assert (
        "  H1-revised (offsets reach the reassembly layer as (B, 2) instead of (B, 1, 2, C)): refuted" in out
    )
    data = json.loads(cli("explain", INCIDENT_MESSAGE, *f"{INCIDENT_DIMS} --format json".split()).stdout)
    assert data["exit_code"] == 0 and data["numbers"] == [
        ["values in the input", 778752],
        ["values in the requested shape", 24336],
    ]
    assert [h["id"] for h in data["hypotheses"]] == ["H1-revised", "H2-revised", "H2", "H3", "H4"]
    assert data["hypotheses"][0]["verdict"] == "refuted"


def test_explain_without_numbers_exits_2():
    assert cli("explain", "something odd happened").returncode == 2


def test_trace_of_a_healthy_stack_exits_0_in_every_format():
    args = "trace --N 32 --gridsize 2 --batch 4 --mode graph --filters 1"
    data = json.loads(cli(f"{args} --format json").stdout)
    assert data["exit_code"] == 0 and data["violation"] is None
    records = data["records"]
    outcomes = {r["outcome"] for r in records}
    assert outcomes <= {"proved", "deferred"} and "deferred" in outcomes
    reassembly = [
        r for r in records if r["function"].startswith("ReassemblePatchesLayer.call") and r["mode"] == "graph"
    ]
    assert (
        reassembly
        and reassembly[0]["spec"] == "B N N C"
        and reassembly[0]["static_shape"] == [None, 32, 32, 4]
    )
    counts = (
        f"all {len(records)} contract checks hold (proved {sum(r['outcome'] == 'proved' for r in records)}, "
        f"deferred to run time {sum(r['outcome'] == 'deferred' for r in records)})"
    )

    # default: one row per contracted function with its signature in named dims, the modes as columns
    text = cli(args)
    assert text.returncode == 0, text.stdout + text.stderr
    assert text.stdout.startswith("shape trace  B=4 g=2 C=4 N=32 M=46")
    assert text.stdout.rstrip().splitlines()[-1] == counts
    rows = table_rows(text.stdout)
    assert rows[0] == ["function", "signature (named dims)", *MODES]
    functions = list(dict.fromkeys(r["function"].split(" (")[0] for r in records))
    assert [row[0] for row in rows[1:]] == functions
    signatures = {row[0]: row[1] for row in rows[1:]}
    assert signatures["ReassemblePatchesLayer.call"] == "patches B N N C, offsets B 1 2 C -> B M M 1"
    assert signatures["translate"] == "images B H W C, translations B 2 -> B H W C"
    assert cell(text.stdout, "ReassemblePatchesLayer.call", "graph") == "deferred"  # offsets: B at run time
    assert cell(text.stdout, "pad_patches", "keras") == ""  # called inside the layer: not in construction
    assert cell(text.stdout, "ReassemblePatchesLayer.call", "xla") == ""  # not run
    assert len(text.stdout.splitlines()) <= 45

    # --verbose: one row per record, in order
    verbose = cli(f"{args} --verbose")
    assert verbose.returncode == 0
    lines = verbose.stdout.splitlines()
    assert lines[2].split() == ["mode", "function", "argument", "spec", "shape", "outcome"]
    body = lines[3 : 3 + len(records)]
    assert [line.split()[0] for line in body] == [r["mode"] for r in records]
    assert [line.split()[-1] for line in body] == [r["outcome"] for r in records]
    assert lines[3 + len(records)] == "" and lines[-1] == counts


def test_the_tf_cond_batch_merge_under_xla_is_refused_at_the_reassembly_layer():
    """The incident's form: the batch decided by a tf.cond inside the compiled function."""
    result = cli(f"trace {INCIDENT_DIMS} --mode xla --fault batch-merge --filters 1 --format json")
    assert result.returncode == 3, result.stdout[-2000:] + result.stderr[-2000:]
    violation = json.loads(result.stdout)["violation"]
    assert violation["mode"] == "xla"
    assert (
        violation["function"].startswith("ReassemblePatchesLayer.call")
        and violation["argument"] == "return value"
    )
    assert "is decided at run time inside the XLA-compiled function" in violation["message"]


def test_the_tf_cond_batch_merge_in_graph_mode_fails_the_run_time_check_with_both_sizes():
    result = cli("trace --N 32 --gridsize 2 --batch 16 --mode graph --fault batch-merge --filters 1")
    assert result.returncode == 3, result.stdout[-2000:] + result.stderr[-2000:]
    out = result.stdout
    assert cell(out, "ReassemblePatchesLayer.call", "graph") == "REFUTED"
    assert cell(out, "ReassemblePatchesLayer.call", "keras") == "deferred"
    assert cell(out, "ExtractPatchesPositionLayer.call", "graph") == "deferred"
    assert "FIRST VIOLATION (graph) at ReassemblePatchesLayer.call, return value:" in out
    assert "dim B: return value axis 0 is 1, patches axis 0 is 16" in out


@pytest.mark.parametrize(
    "fault, mode, function, argument, message",
    [
        ("flat-offsets", "eager", "ReassemblePatchesLayer.call", "offsets", ""),
        ("modulo-broadcast", "graph", "translate", "translations", ""),
        ("output-shape-passthrough", "keras", "ExtractPatchesPositionLayer.call", "return value", ""),
        # the merge decided in Python on the static shape: merged while tracing with an unknown batch
        (
            "batch-merge-static",
            "xla",
            "ReassemblePatchesLayer.call",
            "return value",
            "dim B: return value axis 0 is 1, patches axis 0 is 8",
        ),
    ],
)
def test_each_fault_shows_at_its_boundary(fault, mode, function, argument, message):
    result = cli(
        f"trace --N 32 --gridsize 2 --batch 8 --mode {mode} --fault {fault} --filters 1 --format json"
    )
    assert result.returncode == 3, result.stdout[-2000:] + result.stderr[-2000:]
    violation = json.loads(result.stdout)["violation"]
    assert violation["function"].startswith(function) and violation["argument"].startswith(argument)
    assert message in violation["message"]


def test_usage_errors_exit_1_and_contracts_off_traces_nothing():
    assert cli("trace", "--fault", "no-such-fault").returncode == 1
    assert cli("trace", "--gridsize", "5").returncode == 1
    off = cli("trace --N 32 --batch 2 --mode keras --filters 1", env={"PTYCHO_CONTRACTS": "off"})
    assert off.returncode == 2 and "nothing was traced" in off.stdout


def test_doctor_reports_each_hypothesis():
    result = cli("doctor", "--N", "32", "--gridsize", "2", "--batch", "8", "--format", "json")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    findings = json.loads(result.stdout)["findings"]
    assert {f["id"]: f["verdict"] for f in findings} == {
        "contracts-hold": "holds",
        "H1-revised": "refuted",
        "H2-revised": "refuted",
        "H2": "confirmed",
        "H3": "confirmed",
        "H4": "refuted",
        "backends-agree": "holds",
        "batch-invariance": "holds",
    }
    text = cli("doctor", "--N", "32", "--gridsize", "2", "--batch", "8")
    assert "REFUTED    H1-revised: offsets reach the reassembly layer as (B, 2)" in text.stdout
    assert "the 778752 incident's hypotheses (the story: docs/incident-778752.md)" in text.stdout


def test_doctor_catches_a_sign_flip_between_backends():
    result = cli("doctor", "--N", "32", "--gridsize", "1", "--batch", "4", "--fault", "sign-flip")
    assert result.returncode == 3
    assert "FAILS      backends-agree: invariant: the XLA and V3 translations agree" in result.stdout


def test_doctor_reports_a_contract_violation_as_a_finding_with_exit_3():
    result = cli("doctor --N 32 --gridsize 1 --batch 4 --fault flat-offsets --format json")
    assert result.returncode == 3, result.stdout[-2000:] + result.stderr[-2000:]
    findings = {f["id"]: f for f in json.loads(result.stdout)["findings"]}
    assert findings["H1-revised"]["verdict"] == "confirmed"
    assert findings["contracts-hold"]["verdict"] == "violation"
    assert findings["contracts-hold"]["evidence"].startswith(
        "shape contract violated in ReassemblePatchesLayer.call"
    )
    assert "argument:     offsets" in findings["contracts-hold"]["evidence"]
    assert findings["batch-invariance"]["verdict"] == "violation"


def test_with_contracts_off_the_faults_give_what_the_catalogue_says():
    """The catalogue's 'contracts off' column, measured: TF's own errors, or no error at all."""
    off = {"PTYCHO_CONTRACTS": "off"}
    common = "trace --N 32 --gridsize 2 --batch 8 --mode graph --filters 1 --format json"
    merged = ["--batch", "16"]  # B*C = 64: the tf.cond takes the merging branch
    catalogue = {
        f["name"]: f["contracts_off"] for f in json.loads(cli("faults", "--format", "json").stdout)["faults"]
    }

    def error(*args: str) -> str:
        run = cli(common, *args, env=off)
        assert run.returncode == 1, run.stdout[-2000:] + run.stderr[-2000:]
        return json.loads(run.stdout)["error"]

    v3 = error(*merged, "--backend", "v3", "--fault", "batch-merge")
    assert v3 == "InvalidArgumentError: Input transform should be num_images x 8 or 1 x 8"
    assert "V3 backend: 'Input transform should be num_images x 8 or 1 x 8'" in catalogue["batch-merge"]
    xla = error(*merged, "--backend", "xla", "--fault", "batch-merge")
    assert xla == "InvalidArgumentError: Incompatible shapes: [2,1] vs. [62,46]"
    assert "'Incompatible shapes: [2,1] vs. [62,46]'" in catalogue["batch-merge"]
    jit = error(*merged, "--backend", "xla", "--fault", "batch-merge", "--mode", "xla")
    assert jit.startswith("InvalidArgumentError: Input 2 to node") and jit.endswith(
        "with op XlaGather must be a compile-time constant."
    )
    assert "XlaGather must be a compile-time constant" in catalogue["batch-merge"]
    static = error("--backend", "xla", "--fault", "batch-merge-static")
    assert static == "InvalidArgumentError: Incompatible shapes: [2,1] vs. [30,46]"
    assert "'Incompatible shapes: [2,1] vs. [30,46]'" in catalogue["batch-merge-static"]
    modulo = error("--backend", "xla", "--fault", "modulo-broadcast")
    assert modulo == "InvalidArgumentError: Incompatible shapes: [30,1] vs. [6,46]"
    flat = error("--fault", "flat-offsets")
    assert flat.startswith("ValueError: Invalid reduction dimension 2 for input with 2 dimensions")
    assert "input shapes: [?,2], [2]" in flat and "input shapes: [?,2], [2]" in catalogue["flat-offsets"]
    explained = cli("explain", flat, "--N", "32", "--gridsize", "2", "--batch", "8")
    assert explained.returncode == 0 and "2 = (g=2)" in explained.stdout


def test_sign_flip_is_caught_by_the_values_check_of_a_full_trace():
    result = cli("trace --N 32 --gridsize 1 --batch 4 --mode all --fault sign-flip --filters 1 --format json")
    assert result.returncode == 3, result.stdout[-2000:] + result.stderr[-2000:]
    violation = json.loads(result.stdout)["violation"]
    assert violation["mode"] == "values" and "the XLA and V3 backends disagree" in violation["message"]


def test_a_full_trace_of_a_healthy_stack_holds_including_the_values_check():
    result = cli("trace --N 32 --gridsize 2 --batch 4 --mode all --filters 1 --format json")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    data = json.loads(result.stdout)
    assert {r["mode"] for r in data["records"]} == {"keras", "eager", "graph", "xla", "fit", "values"}
    assert data["records"][-1]["outcome"] == "proved"


# In process: help texts, the doctor's registry, the wording of the package


def _options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [
        a for a in parser._actions if not isinstance(a, (argparse._HelpAction, argparse._SubParsersAction))
    ]


@pytest.mark.parametrize("command", ["run", "trace", "explain", "doctor", "faults"])
def test_every_option_of_every_subcommand_has_help_text(command, capsys):
    from diagnostics import cli as trace_cli

    subparsers = next(a for a in trace_cli.parser()._actions if isinstance(a, argparse._SubParsersAction))
    sub = subparsers.choices[command]
    assert trace_cli.main([command, "--help"]) == 0
    shown = capsys.readouterr().out
    for action in _options(sub):
        assert action.help and action.help != argparse.SUPPRESS, (
            f"{command} {action.option_strings or action.dest}"
        )
        assert (action.option_strings or [action.metavar or action.dest])[0] in shown
        assert action.help.split()[0] in shown
    if command == "doctor":
        assert (
            "778752 incident's hypotheses" in " ".join(shown.split()) and "docs/incident-778752.md" in shown
        )


def test_the_package_says_the_778752_incident_not_the_seed():
    for path in sorted((ROOT / "diagnostics").rglob("*.py")):
        text = " ".join(path.read_text().lower().split())
        assert "seed's" not in text and "the seed" not in text, path


def _cfg():
    from diagnostics.trace import TraceConfig

    return TraceConfig(N=32, gridsize=1, batch=2, n_filters_scale=1)


def test_the_doctor_skips_what_an_unmet_requirement_needs_and_says_why():
    from diagnostics import doctor

    ran: list[str] = []

    def experiment(name):
        def run(_):
            ran.append(name)
            return "holds", f"{name} ran"

        return run

    requirements = {
        "fine": doctor.Requirement("fine", "something that holds", lambda run: None),
        "broken": doctor.Requirement(
            "broken",
            "a model can be built for this configuration",
            lambda run: "ValueError: N must be 8 times a power of two",
        ),
        "downstream": doctor.Requirement(
            "downstream", "the trace ran without error", lambda run: None, ("broken",)
        ),
    }
    checks = [
        doctor.Check("A", "needs nothing", (), experiment("A")),
        doctor.Check("B", "needs the broken one", ("fine", "broken"), experiment("B")),
        doctor.Check("C", "needs what needs the broken one", ("downstream",), experiment("C")),
        doctor.Check("D", "needs the fine one", ("fine",), experiment("D")),
    ]
    findings = doctor.run_doctor(_cfg(), checks, requirements)
    assert [(f.id, f.verdict) for f in findings] == [
        ("A", "holds"),
        ("B", "skipped"),
        ("C", "skipped"),
        ("D", "holds"),
    ]
    assert ran == ["A", "D"]
    assert findings[1].evidence == (
        "requires a model can be built for this configuration; "
        "not met: ValueError: N must be 8 times a power of two"
    )
    assert findings[2].evidence == (
        "requires the trace ran without error; not met: needs a model can be built for "
        "this configuration: ValueError: N must be 8 times a power of two"
    )


def test_the_registry_skips_the_checks_that_need_xla_when_it_is_unavailable(monkeypatch):
    from diagnostics import doctor

    monkeypatch.delenv("USE_XLA_TRANSLATE", raising=False)
    monkeypatch.setitem(
        doctor.REQUIREMENTS,
        "xla",
        doctor.Requirement("xla", "the XLA backend is available", lambda run: "no XLA here (test)"),
    )
    needs_xla = [c for c in doctor.CHECKS if "xla" in c.requires]
    assert [c.id for c in needs_xla] == ["H2", "H3", "backends-agree"]
    h4 = next(c for c in doctor.CHECKS if c.id == "H4")
    findings = doctor.run_doctor(_cfg(), [*needs_xla, h4])
    assert [f.verdict for f in findings] == ["skipped", "skipped", "skipped", "refuted"]
    assert all(
        f.evidence == "requires the XLA backend is available; not met: no XLA here (test)"
        for f in findings[:3]
    )


def test_a_contract_violation_in_an_experiment_is_a_finding_and_exits_3(monkeypatch, capsys):
    import contracts
    from diagnostics import cli as trace_cli
    from diagnostics import doctor

    violation = contracts.Violation(
        kind="dim",
        function="layer.call (x.py:1)",
        argument="offsets",
        expected="B 1 2 C",
        layout=None,
        actual_type="float32",
        actual_shape=(8, 2),
        detail="rank 2, expected 4",
    )

    def broken(run):
        error = contracts.ShapeContractError(contracts.format_violation(violation))
        error.violation = violation
        raise error

    monkeypatch.setattr(
        doctor, "CHECKS", (doctor.Check("X", "an experiment that meets a violation", (), broken),)
    )
    assert trace_cli.main(["doctor", "--N", "32", "--gridsize", "1", "--batch", "2", "--format", "json"]) == 3
    finding = json.loads(capsys.readouterr().out)["findings"][0]
    assert finding["verdict"] == "violation"
    assert finding["evidence"].startswith("shape contract violated in layer.call (x.py:1)")
