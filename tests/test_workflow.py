"""The command-line workflow: simulate -> train -> reconstruct -> evaluate on NPZ files.

The end-to-end run goes through subprocesses (the console scripts as a user runs them); the
bad-input table runs each command's ``main`` in this process (one TensorFlow import for ~30 cases)
and is written to ``docs/workflow-errors.md``, which must match what the commands say.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from ptycho.cli import _flags
from ptycho.cli import evaluate as evaluate_cli
from ptycho.cli import reconstruct as reconstruct_cli
from ptycho.cli import simulate as simulate_cli
from ptycho.cli import train as train_cli
from ptycho.config.config import ModelConfig, TrainingConfig
from ptycho.data.raw import RawData
from ptycho.files import atomic_path, output_dir
from ptycho.physics.scan import SimulationConfig, simulate_scan

ROOT = Path(__file__).resolve().parents[1]
ERROR_TABLE = ROOT / "docs" / "workflow-errors.md"
SMALL = ["--N", "16", "--object_size", "40", "--n_lines", "10", "--scan_step", "2"]
TRAIN_SMALL = ["--n_filters_scale", "1", "--neighbor_count", "4", "--batch_size", "16", "-q"]


def _script(name: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    module = {"simulate": "simulate", "train": "train", "reconstruct": "reconstruct", "evaluate": "evaluate"}[
        name
    ]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-m", f"ptycho.cli.{module}", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, (
        f"ptycho-{name} {' '.join(args)} exited {result.returncode}:\n{result.stderr[-3000:]}"
    )
    return result


def test_simulate_train_reconstruct_evaluate_from_the_command_line(tmp_path, monkeypatch):
    """The four commands as a user runs them; the trained model beats the untrained one."""
    _script("simulate", "--output", "scan.npz", *SMALL, "--nphotons", "1e9", cwd=tmp_path)
    raw = RawData.from_file(tmp_path / "scan.npz")
    assert raw.N == 16 and raw.objectGuess is not None and raw.nphotons == 1e9
    common = ["--train_data_file", "scan.npz", "--n_groups", "96", *TRAIN_SMALL]
    _script("train", *common, "--nepochs", "4", "--output_dir", "model", cwd=tmp_path)
    for name in (
        "model.keras",
        "model.json",
        "check.npz",
        "history.json",
        "loss.png",
        "config.json",
        "run.log",
    ):
        assert (tmp_path / "model" / name).is_file(), name
    history = json.loads((tmp_path / "model" / "history.json").read_text())
    assert len(history["loss"]) == 4 and all(np.isfinite(history["loss"]))
    _script(
        "reconstruct",
        "--model_dir",
        "model",
        "--data_file",
        "scan.npz",
        "--output_dir",
        "recon",
        cwd=tmp_path,
    )
    with np.load(tmp_path / "recon" / "reconstruction.npz") as rec:
        assert rec["object"].shape == raw.objectGuess.shape and rec["object"].dtype == np.complex64
        assert np.isfinite(rec["object"]).all()
    assert (tmp_path / "recon" / "reconstruction.png").stat().st_size > 0
    trained = json.loads((tmp_path / "recon" / "metrics.json").read_text())
    shown = _script(
        "evaluate",
        "--reconstruction",
        "recon/reconstruction.npz",
        "--reference",
        "scan.npz",
        "--output_dir",
        "scores",
        cwd=tmp_path,
    )
    assert "amplitude_ssim" in shown.stdout and (tmp_path / "scores" / "frc.png").is_file()
    scored = json.loads((tmp_path / "scores" / "metrics.json").read_text())
    assert scored["amplitude_mae"] == pytest.approx(trained["amplitude_mae"])  # same border, same metric

    # The same data through an untrained model (in this process: TensorFlow is already imported).
    monkeypatch.chdir(tmp_path)
    assert train_cli.main([*common, "--nepochs", "0", "--output_dir", str(tmp_path / "untrained")]) == 0
    assert (
        reconstruct_cli.main(
            [
                "--model_dir",
                str(tmp_path / "untrained"),
                "--data_file",
                str(tmp_path / "scan.npz"),
                "--output_dir",
                str(tmp_path / "recon0"),
                "-q",
            ]
        )
        == 0
    )
    untrained = json.loads((tmp_path / "recon0" / "metrics.json").read_text())
    assert trained["amplitude_mae"] < 0.98 * untrained["amplitude_mae"], (trained, untrained)


# -- the saved model ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scan_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("scan") / "scan.npz"
    config = SimulationConfig(N=16, object_size=40, n_lines=10, scan_step=2.0, nphotons=1e6)
    simulate_scan(config).to_file(path)
    return path


@pytest.fixture(scope="module")
def model_dir(scan_file, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("model") / "model"
    argv = [
        "--train_data_file",
        str(scan_file),
        "--output_dir",
        str(out),
        "--n_groups",
        "32",
        "--nepochs",
        "0",  # an untrained model: the refusals under test come before it is used
    ]
    assert train_cli.main([*argv, *TRAIN_SMALL]) == 0
    return out


def test_a_reloaded_model_predicts_what_the_saved_one_did(scan_file, tmp_path):
    """Save the trained model, load it: the same predictions (to float rounding), the intensity scale
    and the backend it was built with."""
    import keras

    from ptycho.data.container import PtychoDataContainer
    from ptycho.model.bundle import intensity_scale_of, load_bundle, save_bundle
    from ptycho.training import train

    raw = RawData.from_file(scan_file)
    config = TrainingConfig(
        model=ModelConfig(N=16, gridsize=2, n_filters_scale=1, max_offset=4, translate_backend="v3"),
        nphotons=1e6,
        nepochs=1,
        batch_size=8,
        n_groups=24,
        neighbor_count=4,
    )
    grouped = raw.generate_grouped_data(16, K=4, nsamples=24, gridsize=2)
    data = PtychoDataContainer.from_grouped(grouped, raw.probeGuess, 1e6, config.model)
    keras.utils.set_random_seed(1)
    result = train(data, config)
    inputs = [np.asarray(t) for t in data.inputs()]
    save_bundle(tmp_path / "b", result.model.autoencoder, config, inputs)
    loaded = load_bundle(tmp_path / "b")
    before = result.model.diffraction_to_obj.predict(inputs, verbose=0)
    after = loaded.diffraction_to_obj.predict(inputs, verbose=0)
    np.testing.assert_allclose(after, before, rtol=1e-5, atol=1e-6 * np.abs(before).max())
    assert loaded.config == config
    assert loaded.diffraction_to_obj.translate_backend == "v3"
    assert intensity_scale_of(loaded.autoencoder) == pytest.approx(
        intensity_scale_of(result.model.autoencoder)
    )
    assert intensity_scale_of(loaded.autoencoder) != pytest.approx(data.intensity_scale)  # it was trained


def test_a_model_that_does_not_reproduce_its_saved_check_is_refused(model_dir, tmp_path):
    import shutil

    from ptycho.files import save_npz
    from ptycho.model.bundle import BundleError, load_bundle

    copy = tmp_path / "model"
    shutil.copytree(model_dir, copy)
    with np.load(copy / "check.npz") as check:
        arrays = dict(check)
    save_npz(copy / "check.npz", **{**arrays, "object": arrays["object"] * 1.01})
    with pytest.raises(BundleError, match="does not reproduce the predictions saved with it"):
        load_bundle(copy)


# -- flags, config files, outputs ---------------------------------------------------------------


def test_every_config_field_is_a_flag_whose_absence_keeps_the_dataclass_default():
    parser = train_cli.build_parser()
    args = _flags.parse(parser, ["--train_data_file", "x.npz", "--output_dir", "o"])
    assert _flags.given(args, ModelConfig) == {} and _flags.given(args, TrainingConfig) == {}
    flags = {a.dest for a in parser._actions}
    fields = {f for cls in (ModelConfig, TrainingConfig) for f in cls.__dataclass_fields__}
    assert fields - flags == {"model", "extra"}
    assert "(default: 0.001)" in parser.format_help()  # learning_rate's default, from the dataclass


def test_a_config_file_is_equal_to_its_flags(tmp_path):
    (tmp_path / "run.toml").write_text(
        'train_data_file = "scan.npz"\noutput_dir = "out"\nN = 32\ngridsize = 1\nnphotons = 1e4\n'
        'loss = "mae"\nprobe_mask = true\nlearning_rate = 0.0005\noverwrite = true\n'
    )
    flags = [
        "--train_data_file",
        "scan.npz",
        "--output_dir",
        "out",
        "--N",
        "32",
        "--gridsize",
        "1",
        "--nphotons",
        "1e4",
        "--loss",
        "mae",
        "--probe_mask",
        "--learning_rate",
        "0.0005",
        "--overwrite",
    ]
    from_file = _flags.parse(train_cli.build_parser(), ["--config", str(tmp_path / "run.toml")])
    from_flags = _flags.parse(train_cli.build_parser(), flags)
    assert {k: v for k, v in vars(from_file).items() if k != "config"} == {
        k: v for k, v in vars(from_flags).items() if k != "config"
    }
    # the command line wins over the file
    again = _flags.parse(train_cli.build_parser(), ["--config", str(tmp_path / "run.toml"), "--N", "64"])
    assert again.N == 64


def test_an_interrupted_output_leaves_nothing_and_keeps_old_results(tmp_path):
    target = tmp_path / "results"
    with pytest.raises(KeyboardInterrupt), output_dir(target) as work:
        (work / "half.json").write_text("{")
        raise KeyboardInterrupt
    assert not target.exists() and list(tmp_path.iterdir()) == []
    with output_dir(target) as work:
        (work / "metrics.json").write_text("old")
    with pytest.raises(RuntimeError), output_dir(target, overwrite=True) as work:
        (work / "metrics.json").write_text("new, half")
        raise RuntimeError("killed")
    assert (target / "metrics.json").read_text() == "old" and [p.name for p in tmp_path.iterdir()] == [
        "results"
    ]
    with output_dir(target, overwrite=True) as work:
        (work / "metrics.json").write_text("new")
    assert (target / "metrics.json").read_text() == "new" and [p.name for p in tmp_path.iterdir()] == [
        "results"
    ]
    with pytest.raises(ValueError), atomic_path(tmp_path / "x.npz") as tmp:
        tmp.write_bytes(b"half")
        raise ValueError
    assert not (tmp_path / "x.npz").exists() and [p.name for p in tmp_path.iterdir()] == ["results"]


# -- the bad-input table --------------------------------------------------------------------------


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


def test_bad_inputs_are_refused_by_name_and_nothing_is_written(
    scan_file, model_dir, tmp_path, capsys, monkeypatch
):
    files = _bad_files(scan_file, tmp_path)
    monkeypatch.chdir(tmp_path)
    rows, failures = [], []
    for command, what, argv, expected in _cases(files, scan_file, model_dir):
        code, said = _run_case(command, argv, capsys)
        line = next((ln for ln in said.splitlines() if "error:" in ln), said.strip())
        if code != 2 or expected not in said or "Traceback" in said:
            failures.append(f"ptycho-{command} ({what}): exit {code}, said:\n{said}")
        if any(p.name.startswith("OUT") or ".partial-" in p.name for p in tmp_path.iterdir()):
            failures.append(f"ptycho-{command} ({what}): wrote {sorted(p.name for p in tmp_path.iterdir())}")
        rows.append((command, what, re.sub(r"[^\s']*/pytest-\d+/[^/\s']+/", "", line)))
    assert not failures, "\n\n".join(failures)
    table = _table(rows)
    if os.environ.get("UPDATE_DOCS"):
        ERROR_TABLE.write_text(table)
    assert ERROR_TABLE.read_text() == table, (
        "docs/workflow-errors.md is stale: rerun this test with UPDATE_DOCS=1"
    )


def _table(rows: list[tuple[str, str, str]]) -> str:
    lines = [
        "# What the workflow commands say to bad input",
        "",
        "Generated by `tests/test_workflow.py::test_bad_inputs_are_refused_by_name_and_nothing_is_written`",
        "(`UPDATE_DOCS=1` rewrites it; the test fails when a message changes). Every case exits 2 with",
        "this one line on stderr, prints no traceback and writes nothing.",
        "",
        "| command | input | error |",
        "|---|---|---|",
    ]
    lines += [f"| ptycho-{c} | {w} | `{m.replace('|', '/')}` |" for c, w, m in rows]
    return "\n".join(lines) + "\n"


def test_a_zip_without_npy_members_is_refused(tmp_path):
    path = tmp_path / "notes.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "hello")
    with pytest.raises(ValueError, match="missing keys xcoords, ycoords, diff3d, probeGuess"):
        RawData.from_file(path)
