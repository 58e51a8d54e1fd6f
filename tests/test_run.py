"""``trace-shapes run`` and ``explain`` on programs that are not ours.

The programs in ``tests/programs/`` are small, realistic slips written for these tests, each with
the crash it really produces under TF 2.21 / Keras 3 (``tests/programs/CRASHES.md``). Their header
comments are the ground truth: the exception and message, and the layer (or function) at fault; the
line of the slip ends with ``# <- slip``. None of them imports our stack.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROGRAMS = ROOT / "tests" / "programs"
SCRIPT = ROOT / "diagnostics" / "trace_shapes.py"
SLIPS = sorted(p.name for p in PROGRAMS.glob("p[0-9][0-9]_*.py") if not p.name.startswith("p00"))
INCIDENT_MESSAGE = "Input to reshape is a tensor with 778752 values, but the requested shape has 24336"


@dataclass(frozen=True)
class Expected:
    exception: str
    message: str
    layer: tuple[str, str] | None  # (name, class)
    function: str | None
    slip_line: int


def expected(path: Path) -> Expected:
    text = path.read_text()
    header = dict(re.findall(r"^# (expect-[\w-]+): (.*)$", text, re.M))
    slip = next(i for i, line in enumerate(text.splitlines(), 1) if line.rstrip().endswith("# <- slip"))
    layer = tuple(header["expect-layer"].split()) if "expect-layer" in header else None
    return Expected(
        header["expect-exception"],
        header["expect-message"],
        layer,
        header.get("expect-function"),
        slip,  # type: ignore[arg-type]
    )


def cli(*args: str, cwd: Path = ROOT, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env=environment,
    )


# In process: each program under the recorder, once


@pytest.fixture(scope="module")
def runs():
    from diagnostics.run import run_program

    return {name: run_program(str(PROGRAMS / name), []) for name in SLIPS}


def _lines_named(loc, layer=None) -> set[int]:
    """The line numbers the localisation points at (a custom layer's ``call`` counts as its span)."""
    places = [loc.raised_at, loc.node_defined_at]
    for call in (layer or loc.layer, loc.function):
        if call is not None:
            places += [call.called_at, getattr(call, "created_at", None), getattr(call, "defined_at", None)]
    lines = {int(m.group(1)) for p in places if p for m in [re.search(r":(\d+)(?: in \S+)?$", p)] if m}
    source = getattr(layer or loc.layer, "source", None)
    if source:
        first, last = map(int, source.rsplit(":", 1)[1].split("-"))
        lines |= set(range(first, last + 1))
    return lines


def localisation_hits(name: str, result) -> tuple[bool, str]:
    """Whether the localisation names the slip's layer (or function) and line, and explains a number."""
    exp = expected(PROGRAMS / name)
    loc = result.localisation
    if loc is None:
        return False, "no localisation"
    layer = None
    if exp.layer is not None:
        # the layer it died in, the first suspect (a layer that changed the batch size), or a layer
        # the message names (a model's input)
        named = [c for c in [loc.layer, *loc.batch_changes[:1], *loc.named_layers] if c is not None]
        layer = next((c for c in named if (c.name, c.cls) == exp.layer), None)
        if layer is None:
            return False, f"named {[(c.name, c.cls) for c in named]}, expected layer {exp.layer}"
    else:
        named = {
            loc.function.name.split(".")[-1] if loc.function else None,
            loc.layer.name if loc.layer is not None and loc.layer.kind == "loss" else None,
            (loc.raised_at or "").split(" in ")[-1],
        }
        if exp.function not in named:
            return False, f"named {loc.where} / {loc.raised_at}, expected function {exp.function}"
    if exp.slip_line not in _lines_named(loc, layer):
        return False, f"line {exp.slip_line} not among {sorted(_lines_named(loc, layer))}"
    if not any(loc.matches.values()):
        return False, "no number of the message matched a recorded tensor"
    return True, layer.label if layer else loc.where


@pytest.mark.parametrize("name", SLIPS)
def test_each_slip_crashes_as_its_header_says_and_is_localised(name, runs):
    exp, result = expected(PROGRAMS / name), runs[name]
    assert result.exception is not None, f"{name} did not crash"
    kind, _, message = result.exception.partition(": ")
    assert kind == exp.exception and re.search(exp.message, message, re.S), result.exception[:500]
    assert result.program_exit_code == 1 and result.exit_code == 3
    hit, why = localisation_hits(name, result)
    assert hit, f"{name}: {why}"


def test_the_hit_rate_over_the_slips(runs):
    """The README reports this rate; every slip is expected to be localised."""
    hits = {name: localisation_hits(name, runs[name]) for name in SLIPS}
    print("\n".join(f"{name}: {'hit' if ok else 'MISS'} ({why})" for name, (ok, why) in hits.items()))
    assert len(SLIPS) >= 12 and sum(ok for ok, _ in hits.values()) == len(SLIPS)


def test_a_custom_layer_that_merges_the_batch_is_the_first_suspect(runs):
    loc = runs["p06_batch_threshold.py"].localisation
    first = loc.batch_changes[0]
    # traced as (None, 16) -> (None, 16); the graph ran with 32 rows in and 1 out
    assert (first.name, first.inputs[0].shape, first.outputs[0].shape) == ("context", (None, 16), (None, 16))
    assert (first.run_inputs[0].shape, first.run_outputs[0].shape) == ((32, 16), (1, 16))


def test_recorded_calls_carry_the_user_source_lines(runs):
    record = runs["p01_flatten_dense.py"].record
    source = (PROGRAMS / "p01_flatten_dense.py").read_text().splitlines()
    layers = [c for c in record["layer_calls"] if c["kind"] == "layer"]  # a loss has no creation site
    assert {c["name"] for c in layers} >= {"flatten", "hidden", "classifier"}
    for call in layers:
        for place in (call["created_at"], call["called_at"]):
            assert place is not None and place.startswith(str(PROGRAMS / "p01_flatten_dense.py")), place
            line = source[int(place.rsplit(":", 1)[1]) - 1]
            assert "(" in line, line  # a construction or a call, not a blank or a comment


# In process: exit codes and the command line of run


def _script(tmp_path: Path, text: str) -> str:
    path = tmp_path / "program.py"
    path.write_text(text)
    return str(path)


def test_run_keeps_the_programs_exit_code_argv_and_main(tmp_path, capsys):
    from diagnostics.cli import main

    script = _script(
        tmp_path,
        "import sys\nprint(__name__, sys.argv[1:], sys.path[0] == __import__('os').path.dirname(__file__))\n"
        "sys.exit(int(sys.argv[1]))\n",
    )
    assert main(["run", script, "5", "--format", "x"]) == 5
    assert capsys.readouterr().out == "__main__ ['5', '--format', 'x'] True\n"
    assert main(["run", script, "0"]) == 0


def test_a_program_that_fails_without_a_shape_error_keeps_exit_1(tmp_path, capsys):
    from diagnostics.cli import main

    assert main(["run", _script(tmp_path, "raise RuntimeError('the disk is full')\n")]) == 1
    err = capsys.readouterr().err
    assert "RuntimeError: the disk is full" in err and "runpy" not in err and "diagnostics" not in err


def test_run_usage_errors_exit_1(tmp_path, capsys):
    from diagnostics.cli import main

    assert main(["run"]) == 1
    assert main(["run", str(tmp_path / "missing.py")]) == 1
    assert "no such script" in capsys.readouterr().err


# Subprocess: the command line as a user runs it


def test_run_a_script_from_the_command_line_with_a_json_record(tmp_path):
    out = tmp_path / "record.json"
    result = cli("run", "--out", str(out), str(PROGRAMS / "p04_reshape.py"))
    assert result.returncode == 3, result.stderr[-3000:]
    name, cls = expected(PROGRAMS / "p04_reshape.py").layer
    assert f"trace-shapes: the program died of ValueError at layer '{name}' ({cls})" in result.stderr
    record = json.loads(out.read_text())
    assert set(record) == {
        "program",
        "exit_code",
        "program_exit_code",
        "exception",
        "traceback",
        "localisation",
        "record",
        "seconds",
    }
    assert record["exit_code"] == 3 and record["program_exit_code"] == 1
    assert set(record["record"]) == {"layer_calls", "function_calls", "checks", "dropped"}
    call = record["record"]["layer_calls"][0]
    assert {
        "name",
        "cls",
        "created_at",
        "called_at",
        "mode",
        "inputs",
        "outputs",
        "declared_outputs",
        "scope",
    } <= set(call)
    explained = cli("explain", record["exception"].partition(": ")[2], "--trace", str(out))
    assert explained.returncode == 0 and f"layer '{name}' ({cls})" in explained.stdout


def test_run_a_module_with_m(tmp_path):
    result = cli("run", "--format", "json", "-m", "programs.p10_rnn_2d", cwd=ROOT / "tests")
    assert result.returncode == 3, result.stderr[-3000:]
    report = json.loads(result.stderr[result.stderr.index("{\n") :])
    assert report["program"] == ["-m", "programs.p10_rnn_2d"] and report["localisation"]["layer"]["cls"]


def test_a_clean_training_script_runs_unchanged():
    plain = subprocess.run(
        [sys.executable, str(PROGRAMS / "p00_clean_fit.py")],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    traced = cli("run", str(PROGRAMS / "p00_clean_fit.py"))
    assert plain.returncode == traced.returncode == 0, traced.stderr[-2000:]
    assert traced.stdout == plain.stdout and plain.stdout.strip().endswith("done")
    assert "distinct layer calls" in traced.stderr


def test_a_users_own_package_called_ptycho_is_the_one_imported():
    """tests/programs/ptycho is the user's package; run must not have imported ours first."""
    header = (PROGRAMS / "uses_own_ptycho.py").read_text()
    name, cls = re.search(r"^# expect-layer: (\S+) (\S+)$", header, re.M).groups()
    model = PROGRAMS / "ptycho" / "model.py"
    slip = next(i for i, line in enumerate(model.read_text().splitlines(), 1) if line.endswith("# <- slip"))
    result = cli("run", "--format", "json", str(PROGRAMS / "uses_own_ptycho.py"))
    assert result.returncode == 3, result.stderr[-3000:]
    report = json.loads(result.stderr[result.stderr.index("{\n") :])
    layer = report["localisation"]["layer"]
    assert (layer["name"], layer["cls"]) == (name, cls)
    assert layer["called_at"] == f"{model}:{slip}", layer


def test_run_explain_and_the_recorder_import_nothing_of_our_stack():
    code = (
        "import sys; import diagnostics.cli, diagnostics.run, diagnostics.explain, diagnostics.recorder, "
        "diagnostics.numbers, diagnostics.presets, diagnostics.render, diagnostics.audit; "
        "print(sorted(m for m in sys.modules if m == 'ptycho' or m.startswith('ptycho.')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stderr


# explain for anyone's message


def test_explain_factorises_over_dims_given_by_name():
    message = "Incompatible shapes: [32,10] vs. [32,1]"
    result = cli("explain", message, "--dim", "batch=32", "--dim", "classes=10", "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["preset"] == "generic" and data["hypotheses"] == []
    assert [f["text"] for f in data["factorisations"]["32"]] == ["32 = (batch=32)"]
    assert [f["text"] for f in data["factorisations"]["10"]] == ["10 = (classes=10)"]
    assert data["shapes"] == [["first shape", [32, 10]], ["second shape", [32, 1]]]


def test_explain_refuses_a_malformed_dim(capsys):
    from diagnostics.cli import main

    assert main(["explain", "Dimensions must be equal, but are 3 and 32", "--dim", "B=-3"]) == 1
    assert "--dim takes NAME=VALUE" in capsys.readouterr().err


def test_the_ptycho_preset_fills_the_stacks_dims():
    from diagnostics.presets import ptycho_dims
    from ptycho.config.config import ModelConfig

    for n, g, offset in [(64, 2, 7.0), (32, 1, 3.5), (128, 3, 0.0), (16, 2, 12.2)]:
        dims = ptycho_dims(N=n, gridsize=g, batch=8, max_offset=offset)
        cfg = ModelConfig(N=n, gridsize=g, max_offset=offset)
        assert dims == {"B": 8, "g": g, "C": cfg.C, "N": n, "M": cfg.padded_size}


def test_explain_with_a_trace_names_recorded_tensors_by_layer(tmp_path, capsys):
    """A record written for the test (not by our stack): the numbers name its layers' tensors."""
    from diagnostics.cli import main

    record = {
        "layer_calls": [
            {
                "seq": 1,
                "name": "grid",
                "cls": "Reshape",
                "called_at": "model.py:9",
                "inputs": [],
                "outputs": [],
            },
            {
                "seq": 2,
                "name": "merge",
                "cls": "BatchSum",
                "called_at": "model.py:12",
                "inputs": [{"shape": [128, 78, 78, 1], "dtype": "float32"}],
                "outputs": [{"shape": [4, 78, 78, 1], "dtype": "float32"}],
            },
        ]
    }
    path = tmp_path / "record.json"
    path.write_text(json.dumps(record))
    assert main(["explain", INCIDENT_MESSAGE, "--trace", str(path)]) == 0
    out = capsys.readouterr().out
    assert "778752 = elements of layer 'merge' (BatchSum) input (128, 78, 78, 1)" in out
    assert "24336 = elements of layer 'merge' (BatchSum) output (4, 78, 78, 1)" in out
    assert "hypotheses" not in out  # the incident's hypotheses belong to the ptycho preset only


@pytest.mark.parametrize(
    ("content", "complaint"),
    [("not json", "not JSON"), ('{"something": 1}', "not a record of run, trace or audit")],
)
def test_explain_refuses_a_trace_that_is_not_a_record(tmp_path, capsys, content, complaint):
    from diagnostics.cli import main

    path = tmp_path / "bad.json"
    path.write_text(content)
    assert main(["explain", INCIDENT_MESSAGE, "--trace", str(path)]) == 1
    assert complaint in capsys.readouterr().err


def test_the_778752_incident_explained_by_a_run_of_our_stack_with_the_batch_merge_fault(
    tmp_path, monkeypatch
):
    """The stack with the older codebase's batch merge and contracts off, as it had none."""
    from diagnostics.cli import main

    monkeypatch.setenv("PTYCHO_CONTRACTS", "off")
    out = tmp_path / "incident.json"
    assert main(["run", "--out", str(out), str(ROOT / "examples" / "incident_778752.py")]) == 3
    record = json.loads(out.read_text())
    assert [c["name"] for c in record["localisation"]["batch_changes"]][:1] == ["reassemble"]
    explained = cli(
        "explain", INCIDENT_MESSAGE, "--trace", str(out), "--N", "64", "--gridsize", "2", "--batch", "32"
    )
    assert explained.returncode == 0
    assert re.search(
        r"778752 = elements of layer '\w+' \(\w+\) \S+ \(None, 78, 78, 1\) if its axis 0 is 128",
        explained.stdout,
    )
    assert re.search(
        r"24336 = elements of layer '\w+' \(\w+\) \S+ \(None, 78, 78, 1\) if its axis 0 is 4",
        explained.stdout,
    )
    assert "collapsed into one group's worth of canvases" in explained.stdout


# The message patterns, on messages TensorFlow itself produces for tensors of known shapes


def _tf_message(fn) -> str:
    import tensorflow as tf

    try:
        fn(tf)
    except (tf.errors.InvalidArgumentError, ValueError, TypeError) as e:
        return str(e)
    raise AssertionError("no error")


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (
            lambda tf: tf.reshape(tf.zeros([6, 5]), tf.constant([7, 4])),
            [("values in the input", 30), ("values in the requested shape", 28)],
        ),
        (
            lambda tf: tf.zeros([3, 4]) + tf.zeros([5, 4]),
            [("first shape", (3, 4)), ("second shape", (5, 4))],
        ),
        (
            lambda tf: tf.linalg.matmul(tf.zeros([3, 4]), tf.zeros([5, 6])),
            [("left operand", (3, 4)), ("right operand", (5, 6))],
        ),
        (
            lambda tf: tf.concat([tf.zeros([2, 4]), tf.zeros([3, 5])], axis=0),
            [("first shape", (2, 4)), ("other shape", (3, 5))],
        ),
        (
            lambda tf: tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=tf.zeros([7], tf.int32), logits=tf.zeros([9, 3])
            ),
            [("logits shape", (9, 3)), ("labels shape", (7,))],
        ),
    ],
    ids=["reshape", "incompatible-shapes", "matmul", "concat", "logits-labels"],
)
def test_the_numbers_read_from_real_tensorflow_messages_are_the_shapes_given(make, expected):
    from diagnostics.numbers import quantities

    found = {(q.label, q.shape if q.shape is not None else q.value) for q in quantities(_tf_message(make))}
    assert set(expected) <= found, found


def test_explain_reads_a_trace_of_contract_checks():
    """The ``trace`` subcommand's records (contract checks of the stack) are tensors too."""
    from diagnostics.explain import explain
    from diagnostics.numbers import tensors_from_record

    record = {
        "records": [
            {
                "function": "reassemble (ptycho/tensors/reassembly.py:40)",
                "argument": "patches",
                "spec": "B N N C",
                "location": "ptycho/tensors/reassembly.py:40",
                "static_shape": [None, 64, 64, 4],
                "concrete_shape": [32, 64, 64, 4],
            }
        ]
    }
    e = explain(
        "Input to reshape is a tensor with 524288 values, but the requested shape has 16384",
        {},
        tensors=tensors_from_record(record),
    )
    assert [m.text for m in e.tensors["524288"]] == [
        "524288 = elements of reassemble patches [B N N C] (32, 64, 64, 4)"
    ]
    assert [m.text for m in e.tensors["16384"]] == [
        "16384 = axes 1-3 (64 x 64 x 4) of reassemble patches [B N N C] (32, 64, 64, 4)"
    ]
