"""The command-line workflow: simulate -> train -> reconstruct -> evaluate on NPZ files.

The end-to-end run goes through subprocesses (the console scripts as a user runs them); the bad
inputs of the commands are in ``test_bad_inputs.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from ptycho.cli import _flags
from ptycho.cli import reconstruct as reconstruct_cli
from ptycho.cli import train as train_cli
from ptycho.config.config import ModelConfig, TrainingConfig
from ptycho.data.raw import RawData
from ptycho.files import atomic_path, output_dir

from .workflow_data import TRAIN_SMALL

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["--N", "16", "--object_size", "40", "--n_lines", "10", "--scan_step", "2"]


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
    """Every field with a help text is a flag; the others are PtychoPINN's names, read by its
    compatible scripts (ptycho_train), and the nested model and extra dict."""
    parser = train_cli.build_parser()
    args = _flags.parse(parser, ["--train_data_file", "x.npz", "--output_dir", "o"])
    assert _flags.given(args, ModelConfig) == {} and _flags.given(args, TrainingConfig) == {}
    flags = {a.dest for a in parser._actions}
    fields = {
        name: field
        for cls in (ModelConfig, TrainingConfig)
        for name, field in cls.__dataclass_fields__.items()
        if "help" in field.metadata
    }
    assert set(fields) - flags == set()
    assert {"N", "gridsize", "nphotons", "loss", "sequential_sampling"} <= set(fields)
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


def test_a_zip_without_npy_members_is_refused(tmp_path):
    path = tmp_path / "notes.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "hello")
    with pytest.raises(ValueError, match="missing keys xcoords, ycoords, diff3d, probeGuess"):
        RawData.from_file(path)


def test_predict_and_reconstruct_of_zero_groups_give_empty_results_of_the_right_shapes(scan_file):
    """Keras' predict fails on an empty input (UnboundLocalError); ours returns empty outputs."""
    from dataclasses import replace

    from ptycho.data.container import PtychoDataContainer
    from ptycho.model.factory import create_compiled_model
    from ptycho.training import predict, reconstruct

    raw = RawData.from_file(scan_file)
    model = ModelConfig(N=16, gridsize=2, n_filters_scale=1, max_offset=4)
    data = PtychoDataContainer.from_grouped(
        raw.generate_grouped_data(16, K=4, nsamples=6, gridsize=2), raw.probeGuess, 1e6, model
    )
    empty = replace(data, X=data.X[:0], coords=data.coords[:0], global_offsets=data.global_offsets[:0])
    compiled = create_compiled_model(TrainingConfig(model=model, nphotons=1e6), probe=raw.probeGuess)
    obj, amplitude, intensity = predict(compiled.autoencoder, empty)
    assert obj.shape == (0, 16, 16, 1) and obj.dtype == np.complex64
    assert amplitude.shape == intensity.shape == (0, 16, 16, 4) and amplitude.dtype == np.float32
    assert predict(compiled.diffraction_to_obj, empty).shape == (0, 16, 16, 1)
    stitched = reconstruct(compiled.diffraction_to_obj, empty, (40, 40))
    assert stitched.shape == (40, 40) and not stitched.any()  # no patch: nothing covered
