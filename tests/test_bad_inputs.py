"""Bad input, everywhere a user can give it: each refused with one clear message, nothing written.

One test runs every case (the workflow commands, the Python API, trace-shapes) and writes the
table ``docs/bad-inputs.md`` from what they said; the table must match (``UPDATE_DOCS=1`` rewrites
it). A command case must exit non-zero with its expected words, print no traceback and write
nothing; an API case must raise ``ValueError`` (or a subclass) with its expected words.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import replace
from pathlib import Path

import numpy as np

from ptycho.cli import evaluate as evaluate_cli
from ptycho.cli import reconstruct as reconstruct_cli
from ptycho.cli import simulate as simulate_cli
from ptycho.cli import train as train_cli
from ptycho.config.config import ModelConfig, TrainingConfig
from ptycho.data.raw import RawData
from ptycho.physics.scan import SimulationConfig, simulate_scan

from . import test_diagnostics_inputs as diagnostics_inputs

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "docs" / "bad-inputs.md"


# -- the workflow commands -------------------------------------------------------------------------


def _bad_files(scan: Path, root: Path) -> dict[str, Path]:
    """Data files each broken in one way, derived from a good scan."""
    with np.load(scan) as good:
        arrays = dict(good)
    files = {}

    def variant(name: str, **changes):
        path = root / f"{name}.npz"
        values = {k: v for k, v in {**arrays, **changes}.items() if v is not None}
        np.savez(path, **values)
        files[name] = path

    variant("no_diff3d", diff3d=None)
    variant("flat_diff3d", diff3d=arrays["diff3d"].reshape(len(arrays["diff3d"]), -1))
    x = arrays["xcoords"].copy()
    x[3] = np.nan
    variant("nan_position", xcoords=x)
    d = arrays["diff3d"].copy()
    d[2, 5, 5] = -1.0
    variant("negative_counts", diff3d=d)
    d = arrays["diff3d"].copy()
    d[0, 0, 0] = np.inf
    variant("inf_counts", diff3d=d)
    variant("complex_diff3d", diff3d=arrays["diff3d"].astype(np.complex64))
    variant("small_probe", probeGuess=arrays["probeGuess"][:8, :8])
    variant("no_truth", objectGuess=None)
    variant("other_dose", nphotons=np.asarray(1e4))
    variant("no_dose", nphotons=None)
    variant(
        "wide_steps",
        xcoords=arrays["xcoords"] * 5,
        ycoords=arrays["ycoords"] * 5,
        objectGuess=None,
        nphotons=None,
    )
    random = root / "random.npz"
    random.write_bytes(np.random.default_rng(0).bytes(4000))
    files["random_bytes"] = random
    truncated = root / "truncated.npz"
    truncated.write_bytes(scan.read_bytes()[: scan.stat().st_size // 2])
    files["truncated"] = truncated
    files["missing"] = root / "does_not_exist.npz"
    n32 = root / "n32.npz"
    simulate_scan(SimulationConfig(N=32, object_size=48, n_lines=5, scan_step=4.0, nphotons=1e6)).to_file(n32)
    files["n32"] = n32
    (root / "unknown.toml").write_text("nepochs = 2\nn_epochs = 2\n")
    (root / "broken.toml").write_text("nepochs = \n")
    (root / "full").mkdir()
    (root / "full" / "metrics.json").write_text("{}")
    (root / "empty_model").mkdir()
    return files


def _cases(f: dict[str, Path], scan: Path, model: Path) -> list[tuple[str, str, list[str], str]]:
    """(command, what is wrong, argv, what the error must say)."""
    out = ["--output_dir", "OUT"]
    train = ["--nepochs", "0", *out]
    rec = ["--model_dir", str(model), *out]
    return [
        (
            "simulate",
            "object image file does not exist",
            ["--output", "OUT.npz", "--object", "nope.png"],
            "no such file",
        ),
        (
            "simulate",
            "object smaller than the probe",
            ["--output", "OUT.npz", "--N", "32", "--object_size", "20"],
            "smaller than the probe's footprint",
        ),
        (
            "simulate",
            "nphotons = inf",
            ["--output", "OUT.npz", "--nphotons", "inf"],
            "nphotons must be > 0 and finite",
        ),
        ("simulate", "output not .npz", ["--output", "OUT.txt"], "expected a file name ending in .npz"),
        ("simulate", "N not an integer", ["--output", "OUT.npz", "--N", "2.0"], "invalid int value: '2.0'"),
        (
            "simulate",
            "probe radius beyond N/2",
            ["--output", "OUT.npz", "--N", "16", "--probe_radius", "9"],
            "probe_radius must be in [0, N/2 = 8]",
        ),
        (
            "train",
            "data file does not exist",
            ["--train_data_file", str(f["missing"]), *train],
            "no such file",
        ),
        (
            "train",
            "random bytes",
            ["--train_data_file", str(f["random_bytes"]), *train],
            "not an NPZ file (it does not begin as a zip archive does)",
        ),
        (
            "train",
            "truncated NPZ",
            ["--train_data_file", str(f["truncated"]), *train],
            "not a readable NPZ file",
        ),
        (
            "train",
            "key diff3d missing",
            ["--train_data_file", str(f["no_diff3d"]), *train],
            "missing key diff3d",
        ),
        (
            "train",
            "diff3d of rank 2",
            ["--train_data_file", str(f["flat_diff3d"]), *train],
            "diff3d must be (P, N, N)",
        ),
        (
            "train",
            "a NaN position",
            ["--train_data_file", str(f["nan_position"]), *train],
            "1 positions are NaN or inf (first at index 3)",
        ),
        (
            "train",
            "a negative count",
            ["--train_data_file", str(f["negative_counts"]), *train],
            "diff3d has 1 negative values",
        ),
        (
            "train",
            "an inf count",
            ["--train_data_file", str(f["inf_counts"]), *train],
            "diff3d has 1 NaN or inf values",
        ),
        (
            "train",
            "complex diff3d",
            ["--train_data_file", str(f["complex_diff3d"]), *train],
            "diff3d is complex",
        ),
        (
            "train",
            "probe not N x N",
            ["--train_data_file", str(f["small_probe"]), *train],
            "probeGuess must be N x N = 16 x 16",
        ),
        (
            "train",
            "gridsize 4",
            ["--train_data_file", str(scan), "--gridsize", "4", *train],
            "gridsize must be 1, 2 or 3",
        ),
        (
            "train",
            "gridsize 2.0",
            ["--train_data_file", str(scan), "--gridsize", "2.0", *train],
            "invalid int value: '2.0'",
        ),
        (
            "train",
            "--N disagrees with the data",
            ["--train_data_file", str(scan), "--N", "32", *train],
            "--N 32 disagrees with",
        ),
        (
            "train",
            "--nphotons disagrees with the file's",
            ["--train_data_file", str(scan), "--nphotons", "1e9", *train],
            "simulated at nphotons=1e+06",
        ),
        (
            "train",
            "learning rate inf",
            ["--train_data_file", str(scan), "--learning_rate", "inf", *train],
            "learning_rate must be > 0 and finite",
        ),
        (
            "train",
            "n_groups -5",
            ["--train_data_file", str(scan), "--n_groups", "-5", *train],
            "n_groups must be an int >= 1",
        ),
        (
            "train",
            "K smaller than a group",
            ["--train_data_file", str(scan), "--neighbor_count", "3", *train],
            "neighbor_count (K=3) must be >= C",
        ),
        (
            "train",
            "config file with an unknown key",
            ["--config", str(f["missing"].parent / "unknown.toml"), "--train_data_file", str(scan), *out],
            "unknown key 'n_epochs'",
        ),
        (
            "train",
            "config file not TOML",
            ["--config", str(f["missing"].parent / "broken.toml"), "--train_data_file", str(scan), *out],
            "is not valid TOML",
        ),
        (
            "train",
            "output directory not empty",
            [
                "--train_data_file",
                str(scan),
                "--nepochs",
                "0",
                "--output_dir",
                str(f["missing"].parent / "full"),
            ],
            "is not empty (holds metrics.json)",
        ),
        (
            "reconstruct",
            "model directory does not exist",
            ["--model_dir", "nope", "--data_file", str(scan), *out],
            "no such directory",
        ),
        (
            "reconstruct",
            "not a model directory",
            ["--model_dir", str(f["missing"].parent / "empty_model"), "--data_file", str(scan), *out],
            "not a model directory (missing model.keras",
        ),
        (
            "reconstruct",
            "data N differs from the model's",
            [*rec, "--data_file", str(f["n32"])],
            "was trained at N=16",
        ),
        (
            "reconstruct",
            "--gridsize differs from the model's",
            [*rec, "--data_file", str(scan), "--gridsize", "1"],
            "was trained at gridsize 2",
        ),
        (
            "reconstruct",
            "data at another dose",
            [*rec, "--data_file", str(f["other_dose"])],
            "pass --allow_nphotons_mismatch",
        ),
        (
            "reconstruct",
            "offsets beyond the model's margin",
            [*rec, "--data_file", str(f["wide_steps"])],
            "exceeds the canvas margin",
        ),
        (
            "reconstruct",
            "stitch crop of odd margin",
            [*rec, "--data_file", str(scan), "--stitch_crop", "7"],
            "--stitch_crop 7: must be at most N=16 with N - crop even",
        ),
        (
            "evaluate",
            "reference without objectGuess",
            ["--reconstruction", str(scan), "--reference", str(f["no_truth"])],
            "holds neither 'objectGuess' nor 'object'",
        ),
        (
            "evaluate",
            "images of different shapes",
            ["--reconstruction", str(scan), "--reference", str(f["n32"])],
            "expected the same shape",
        ),
        (
            "evaluate",
            "border larger than the image",
            ["--reconstruction", str(scan), "--reference", str(scan), "--border", "20"],
            "--border 20: must be >= 0",
        ),
    ]


COMMANDS = {
    "simulate": simulate_cli,
    "train": train_cli,
    "reconstruct": reconstruct_cli,
    "evaluate": evaluate_cli,
}


def _run_case(command: str, argv: list[str], capsys) -> tuple[int, str]:
    try:
        code = COMMANDS[command].main(argv)
    except SystemExit as exc:  # argparse's usage errors
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.err + captured.out


# -- the Python API --------------------------------------------------------------------------------


def _api_cases(scan: Path) -> list[tuple[str, str, object, str]]:
    """(where, what is wrong, a call, what the error must say)."""
    from ptycho.data.container import PtychoDataContainer, normalise_amplitudes
    from ptycho.physics.simulation import simulate_diffraction
    from ptycho.tensors.stitching import reassemble_position
    from ptycho.training import train

    raw = RawData.from_file(scan)
    n = raw.N
    obj, probe, positions = raw.objectGuess, raw.probeGuess, raw.positions[:8]
    grouped = raw.generate_grouped_data(n, K=4, nsamples=6, gridsize=2)
    model = ModelConfig(N=n, gridsize=2, n_filters_scale=1, max_offset=4)
    data = PtychoDataContainer.from_grouped(grouped, probe, 1e6, model)
    negative = raw.diff3d.copy()
    negative[1, 2, 3] = -0.5
    nan_pixel = grouped.diffraction.copy()
    nan_pixel[0, 4, 4, 1] = np.nan
    offsets = data.global_offsets.copy()
    offsets[2] = np.nan

    def rawdata(**changes):
        values = {"xcoords": raw.xcoords, "ycoords": raw.ycoords, "diff3d": raw.diff3d, "probeGuess": probe}
        return lambda: RawData(**{**values, **changes})

    return [
        ("RawData", "negative amplitudes", rawdata(diff3d=negative), "diff3d has 1 negative values"),
        ("RawData", "complex diff3d", rawdata(diff3d=raw.diff3d.astype(np.complex64)), "diff3d is complex"),
        (
            "RawData",
            "objectGuess smaller than the probe",
            rawdata(objectGuess=obj[:8, :8]),
            "objectGuess must be a 2-D image at least N x N",
        ),
        (
            "simulate_diffraction",
            "object smaller than the probe",
            lambda: simulate_diffraction(obj[:10, :10], probe, positions, 1e6),
            "at least N x N = 16 x 16",
        ),
        (
            "simulate_diffraction",
            "a 1-D object",
            lambda: simulate_diffraction(obj[0], probe, positions, 1e6),
            "must be a 2-D image",
        ),
        (
            "simulate_diffraction",
            "nphotons = inf",
            lambda: simulate_diffraction(obj, probe, positions, math.inf),
            "nphotons must be > 0 and finite",
        ),
        (
            "simulate_diffraction",
            "nphotons = NaN",
            lambda: simulate_diffraction(obj, probe, positions, math.nan),
            "nphotons must be > 0 and finite",
        ),
        (
            "TrainingConfig",
            "nphotons = inf",
            lambda: TrainingConfig(nphotons=math.inf),
            "nphotons must be > 0 and finite",
        ),
        (
            "TrainingConfig",
            "learning_rate = inf",
            lambda: TrainingConfig(learning_rate=math.inf),
            "learning_rate must be > 0 and finite",
        ),
        (
            "TrainingConfig",
            "n_groups = -5",
            lambda: TrainingConfig(n_groups=-5),
            "n_groups must be an int >= 1",
        ),
        ("ModelConfig", "gridsize = 2.0", lambda: ModelConfig(gridsize=2.0), "gridsize must be 1, 2 or 3"),
        (
            "generate_grouped_data",
            "nsamples = 0",
            lambda: raw.generate_grouped_data(n, K=4, nsamples=0, gridsize=2),
            "nsamples must be an int >= 1",
        ),
        (
            "generate_grouped_data",
            "nsamples = -1",
            lambda: raw.generate_grouped_data(n, K=4, nsamples=-1, gridsize=2),
            "nsamples must be an int >= 1",
        ),
        (
            "generate_grouped_data",
            "gridsize = 2.0",
            lambda: raw.generate_grouped_data(n, K=4, nsamples=4, gridsize=2.0),
            "gridsize must be 1, 2 or 3 (an int)",
        ),
        (
            "normalise_amplitudes",
            "one NaN pixel",
            lambda: normalise_amplitudes(nan_pixel),
            "1 NaN or inf values (first at index (0, 4, 4, 1))",
        ),
        (
            "train",
            "data at one nphotons, config at another",
            lambda: train(data, TrainingConfig(model=model, nphotons=1e9, nepochs=0)),
            "prepared for nphotons=1e+06 and the config says nphotons=1e+09",
        ),
        (
            "PtychoDataContainer",
            "offsets beyond the model's margin",
            lambda: PtychoDataContainer.from_grouped(grouped, probe, 1e6, replace(model, max_offset=0.5)),
            "exceeds the canvas margin",
        ),
        (
            "reassemble_position",
            "one NaN patch position",
            lambda: reassemble_position(np.ones((len(data), n, n, 1), np.float32), offsets, obj.shape),
            "1 of 6 patch positions are NaN or inf (first: patch 2",
        ),
    ]


COMMANDS = {
    "simulate": simulate_cli,
    "train": train_cli,
    "reconstruct": reconstruct_cli,
    "evaluate": evaluate_cli,
}


def _run_command(command: str, argv: list[str], capsys) -> tuple[int, str]:
    try:
        code = COMMANDS[command].main(argv)
    except SystemExit as exc:  # argparse's usage errors
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.err + captured.out


def _first_error_line(said: str) -> str:
    line = next(
        (
            ln
            for ln in said.splitlines()
            if re.search(r"error|^trace-shapes:|^cannot explain", ln, re.IGNORECASE)
        ),
        said.strip().splitlines()[0] if said.strip() else "",
    )
    return re.sub(r"[^\s']*/pytest-\d+/(?:popen-gw\d+/)?[^/\s']+/", "", line)  # xdist adds popen-gwN/


def test_bad_inputs_are_refused_by_name_and_nothing_is_written(
    scan_file, model_dir, tmp_path, capsys, monkeypatch
):
    files = _bad_files(scan_file, tmp_path)
    monkeypatch.chdir(tmp_path)
    sections: dict[str, list[tuple[str, str, str]]] = {
        "workflow commands": [],
        "Python API": [],
        "trace-shapes": [],
    }
    failures = []
    for command, what, argv, expected in _cases(files, scan_file, model_dir):
        code, said = _run_command(command, argv, capsys)
        if code != 2 or expected not in said or "Traceback" in said:
            failures.append(f"ptycho-{command} ({what}): exit {code}, said:\n{said}")
        if any(p.name.startswith("OUT") or ".partial-" in p.name for p in tmp_path.iterdir()):
            failures.append(f"ptycho-{command} ({what}): wrote {sorted(p.name for p in tmp_path.iterdir())}")
        sections["workflow commands"].append((f"ptycho-{command}", what, _first_error_line(said)))
    for where, what, call, expected in _api_cases(scan_file):
        try:
            call()
        except ValueError as exc:
            said = f"{type(exc).__name__}: {exc}"
            if expected not in said:
                failures.append(f"{where} ({what}): said {said}")
        else:
            said = "(accepted)"
            failures.append(f"{where} ({what}): accepted")
        sections["Python API"].append((where, what, _first_error_line(said) or said))
    for command, what, argv, expected in diagnostics_inputs.CASES:
        code, said = diagnostics_inputs.run_case(argv, capsys)
        if code == 0 or expected not in said or "Traceback" in said:
            failures.append(f"{command} ({what}): exit {code}, said:\n{said}")
        leading = next(
            (i for i, w in enumerate(argv) if not re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", w)), len(argv)
        )
        env, words = argv[:leading], argv[leading:]  # run_case reads leading NAME=VALUE words as environment
        sections["trace-shapes"].append((" ".join([*env, command, words[0]]), what, _first_error_line(said)))
    assert not failures, "\n\n".join(failures)
    table = _table(sections)
    if os.environ.get("UPDATE_DOCS"):
        TABLE.write_text(table)
    assert TABLE.read_text() == table, "docs/bad-inputs.md is stale: rerun this test with UPDATE_DOCS=1"


def _table(sections: dict[str, list[tuple[str, str, str]]]) -> str:
    total = sum(len(rows) for rows in sections.values())
    lines = [
        "# What bad input gets",
        "",
        f"{total} bad inputs and what each gets, generated by",
        "`tests/test_bad_inputs.py::test_bad_inputs_are_refused_by_name_and_nothing_is_written`, which runs",
        "them all (`UPDATE_DOCS=1` rewrites this file; the test fails when a message changes). A command",
        "exits non-zero (the workflow commands: 2) with this line on stderr, prints no traceback and",
        "writes nothing; a Python call raises `ValueError` (or a subclass) before any work is done.",
    ]
    for title, rows in sections.items():
        lines += ["", f"## {title}", "", "| where | input | error |", "|---|---|---|"]
        lines += [f"| {c} | {w} | `{m.replace('|', '/').replace('`', chr(39))}` |" for c, w, m in rows]
    return "\n".join(lines) + "\n"
