"""The dose-response study end to end (smoke preset, subprocess) and its sanity gate."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ptycho.studies.dose_response import ARMS, PRESETS, Setup, sanity_problems

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "studies" / "dose_response_study.py"
ARM_NAMES = ["1e9_nll", "1e9_mae", "1e4_nll", "1e4_mae"]
METRICS = ["amplitude_mae", "phase_mae", "amplitude_psnr", "amplitude_ssim", "phase_ssim", "frc_resolution"]


def study(*args: str, env: dict | None = None, script: bool = False) -> subprocess.CompletedProcess:
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    if env is None or "USE_XLA_TRANSLATE" not in env:
        environment.pop("USE_XLA_TRANSLATE", None)
    entry = [str(SCRIPT)] if script else ["-m", "ptycho.studies.dose_response"]
    return subprocess.run(
        [sys.executable, *entry, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        env=environment,
    )


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """The smoke preset through the seed's entry point, once for the module."""
    out = tmp_path_factory.mktemp("smoke")
    result = study("--preset", "smoke", "--output-dir", str(out), script=True)
    return result, out


@pytest.mark.slow
def test_smoke_preset_writes_every_output(smoke):
    result, out = smoke
    assert result.returncode == 0, result.stderr[-3000:]
    for name in ["metrics.json", "dose_response.png", "run.log", "config.json"]:
        assert (out / name).is_file(), name
    assert sorted(p.stem for p in (out / "histories").glob("*.json")) == sorted(ARM_NAMES)
    log = (out / "run.log").read_text()
    assert all(f"{arm}: " in log for arm in ARM_NAMES)
    import matplotlib.image

    figure = matplotlib.image.imread(out / "dose_response.png")
    assert figure.ndim == 3 and figure.shape[0] > 300 and figure.shape[1] > 450
    assert figure[..., :3].std() > 0.05  # images, not a blank canvas
    config = json.loads((out / "config.json").read_text())
    assert config["preset"]["name"] == "smoke" and config["preset"]["gridsize"] == 2


@pytest.mark.slow
def test_smoke_metrics_are_sane(smoke):
    result, out = smoke
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert list(metrics) == ARM_NAMES
    for name, arm in metrics.items():
        dose, loss = name.split("_")
        assert arm["nphotons"] == float(dose) and arm["loss"] == loss
        assert arm["valid"] and arm["problems"] == []
        assert arm["translate_backend"] == "xla"  # the configuration that crashed in the seed
        for key in METRICS:
            assert math.isfinite(arm[key]) and math.isfinite(arm["untrained"][key]), (name, key)
        assert -1 <= arm["amplitude_ssim"] <= 1
        assert arm["amplitude_mae"] < arm["untrained"]["amplitude_mae"], name
        history = json.loads((out / "histories" / f"{name}.json").read_text())
        assert len(history["loss"]) == arm["epochs_run"] >= 1
        assert all(math.isfinite(v) for v in history["loss"])
        assert history["loss"][-1] == arm["final_loss"]


@pytest.mark.slow
def test_an_arm_alone_gives_what_it_gives_among_the_others(smoke, tmp_path):
    """Nothing carries over between arms: run last after three others, or alone, 1e4_mae is the same."""
    result, out = smoke
    assert result.returncode == 0, result.stderr[-3000:]
    alone = study("--preset", "smoke", "--arms", "1e4_mae", "--output-dir", str(tmp_path))
    assert alone.returncode == 0, alone.stderr[-3000:]
    together = json.loads((out / "metrics.json").read_text())["1e4_mae"]
    single = json.loads((tmp_path / "metrics.json").read_text())
    assert list(single) == ["1e4_mae"]
    for key in METRICS:
        assert single["1e4_mae"][key] == pytest.approx(together[key], rel=1e-6, abs=1e-9), key


@pytest.mark.slow
def test_the_gate_fails_the_run_naming_the_arm_and_v3_is_selectable(tmp_path):
    """Untrained (0 epochs) is no better than untrained: exit 3, the arm named; USE_XLA_TRANSLATE=0 -> v3."""
    result = study(
        "--preset",
        "smoke",
        "--arms",
        "1e9_nll",
        "--nepochs",
        "0",
        "--output-dir",
        str(tmp_path),
        env={"USE_XLA_TRANSLATE": "0"},
    )
    assert result.returncode == 3, result.stderr[-3000:]
    assert (
        "sanity gate: arm 1e9_nll is invalid: no better than the untrained model: amplitude MAE"
        in result.stderr
    )
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["1e9_nll"]["valid"] is False and metrics["1e9_nll"]["translate_backend"] == "v3"


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(f.relative_to(root)): f.read_bytes() for f in sorted(root.rglob("*")) if f.is_file()}


@pytest.mark.slow
def test_an_interrupted_rerun_leaves_the_old_results_whole_and_nothing_new(
    smoke, tmp_path, monkeypatch, capsys
):
    """A rerun into a folder of complete results: refused without --overwrite; with it, Ctrl-C in the
    first arm leaves exactly the old files (no new run.log beside an old metrics.json)."""
    import shutil

    from ptycho.studies.dose_response import cli
    from ptycho.studies.dose_response import run as study_run

    result, out = smoke
    assert result.returncode == 0, result.stderr[-3000:]
    results = tmp_path / "results"
    shutil.copytree(out, results)
    before = _snapshot(results)
    with pytest.raises(SystemExit) as refused:
        cli.main(["--preset", "smoke", "--output-dir", str(results)])
    assert refused.value.code == 2 and "is not empty" in capsys.readouterr().err

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(study_run, "run_arm", interrupted)
    with pytest.raises(KeyboardInterrupt):
        cli.main(["--preset", "smoke", "--output-dir", str(results), "--overwrite"])
    assert _snapshot(results) == before
    assert [p.name for p in tmp_path.iterdir()] == ["results"]  # no partial directory left beside it


def test_a_bogus_contract_mode_is_refused_before_anything_is_written(tmp_path):
    result = study(
        "--preset", "smoke", "--output-dir", str(tmp_path / "out"), env={"PTYCHO_CONTRACTS": "bogus"}
    )
    assert result.returncode == 2, result.stderr[-3000:]
    assert "PTYCHO_CONTRACTS" in result.stderr and "'bogus'" in result.stderr
    assert not (tmp_path / "out").exists()


def test_unknown_arm_is_a_usage_error():
    result = study("--arms", "1e5_nll")
    assert result.returncode == 2
    assert "unknown arm '1e5_nll'; the arms are 1e9_nll, 1e9_mae, 1e4_nll, 1e4_mae" in result.stderr


def test_arms_and_presets():
    assert [a.name for a in ARMS] == ARM_NAMES
    assert PRESETS["full"].N == 64 and PRESETS["full"].gridsize == 2
    assert all(p.gridsize == 2 for p in PRESETS.values())


class TestSanityGate:
    """Each way a reconstruction can be invalid, on a 20 x 20 truth scored inside a 2 px border."""

    truth = (0.5 + np.random.default_rng(0).uniform(0, 1, (20, 20))).astype(np.complex64)
    setup = Setup(
        PRESETS["smoke"],
        truth,
        np.ones((16, 16), np.complex64),
        np.zeros((1, 2)),
        np.zeros((1, 4), int),
        0.0,
        2,
    )
    untrained = {"amplitude_mae": 0.2}

    def test_nan(self):
        rec = self.truth.copy()
        rec[5, 5] = np.nan
        assert sanity_problems(rec, self.setup, {}, self.untrained) == [
            "1 of 256 reconstructed pixels are NaN or inf"
        ]

    def test_nan_outside_the_scored_region_is_not_counted(self):
        rec = self.truth.copy()
        rec[0, 0] = np.nan
        assert sanity_problems(rec, self.setup, {"amplitude_mae": 0.1}, self.untrained) == []

    def test_constant(self):
        problems = sanity_problems(
            np.full((20, 20), 0.7, np.complex64), self.setup, {"amplitude_mae": 0.1}, self.untrained
        )
        assert problems == ["the reconstructed amplitude is constant (0.7, range 0)"]

    @pytest.mark.parametrize("mae", [0.3, 0.2, 0.1965])
    def test_no_better_than_untrained(self, mae):
        problems = sanity_problems(self.truth, self.setup, {"amplitude_mae": mae}, self.untrained)
        assert problems == [
            f"no better than the untrained model: amplitude MAE {mae:.4f}, untrained 0.2000 "
            "(at least 2% lower required)"
        ]

    def test_better_than_untrained(self):
        assert sanity_problems(self.truth, self.setup, {"amplitude_mae": 0.195}, self.untrained) == []
