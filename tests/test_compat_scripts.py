"""PtychoPINN's console scripts and a user's script in its style, run as a user runs them (through
subprocesses): the script runs unmodified, and ``ptycho_train`` then ``ptycho_inference`` write
PtychoPINN's outputs. (A file of its own, so that the test workers can share the work.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from .compat_data import scans as scans

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"{' '.join(argv)} exited {result.returncode}:\n{result.stderr[-3000:]}"
    return result


def test_a_user_script_in_ptychopinns_style_runs_unmodified(scans, tmp_path):
    script = ROOT / "tests" / "data" / "ptychopinn_user_script.py"
    result = _run(
        [sys.executable, str(script), str(scans[0]), str(scans[1]), str(tmp_path / "out")], tmp_path
    )
    assert "stitched (" in result.stdout and "complex64" in result.stdout
    for name in ("wts.h5.zip", "reconstructed_amplitude.png", "reconstructed_phase.png"):
        assert (tmp_path / "out" / name).stat().st_size > 1000, name


def test_ptycho_train_then_ptycho_inference_write_ptychopinns_outputs(scans, tmp_path):
    train, test = (str(s) for s in scans)
    config = tmp_path / "run.yaml"
    config.write_text("model:\n  N: 32\n  gridsize: 2\n  n_filters_scale: 1\nbatch_size: 16\nn_groups: 48\n")
    _run(
        [str(BIN / "ptycho_train"), "--config", str(config), "--train_data_file", train,
         "--test_data_file", test, "--output_dir", "out", "--do_stitching", "--nepochs", "1", "--quiet"],
        tmp_path,
    )  # fmt: skip
    for name in ("wts.h5.zip", "reconstructed_amplitude.png", "reconstructed_phase.png"):
        assert (tmp_path / "out" / name).stat().st_size > 1000, name
    with zipfile.ZipFile(tmp_path / "out" / "wts.h5.zip") as z:
        saved = json.loads(z.read("model.json"))["config"]
    assert saved["nepochs"] == 1 and saved["batch_size"] == 16 and saved["model"]["N"] == 32  # file and flags
    _run(
        [str(BIN / "ptycho_inference"), "--model_path", "out", "--test_data", test,
         "--output_dir", "inference", "--n_images", "30", "--comparison_plot", "--quiet"],
        tmp_path,
    )  # fmt: skip
    for name in ("reconstructed_amplitude.png", "reconstructed_phase.png", "comparison_plot.png"):
        assert (tmp_path / "inference" / name).stat().st_size > 1000, name
    failed = subprocess.run(
        [str(BIN / "ptycho_inference"), "--model_path", "nowhere", "--test_data", test],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert (
        failed.returncode == 2
        and "wts.h5.zip" in failed.stderr
        and not (tmp_path / "inference_outputs").exists()
    )
