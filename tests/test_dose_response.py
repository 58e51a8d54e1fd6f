"""The dose-response study end to end (smoke preset: 2 doses x 2 losses x 2 seeds and the ePIE
baseline, subprocess), its sanity gate, its command line, and the claim's arithmetic."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ptycho.studies.dose_response import (
    ARMS,
    PRESETS,
    Setup,
    claim_verdict,
    dose_name,
    matching_dose,
    ratios_by_reference,
    sanity_problems,
    summarize,
)

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "studies" / "dose_response_study.py"
ARM_NAMES = ["1e9_nll", "1e9_mae", "1e4_nll", "1e4_mae"]
SEEDS = 2  # the smoke preset's
RUNS = [f"{arm}_seed{seed}" for seed in range(SEEDS) for arm in ARM_NAMES]
BASELINE_RUNS = [f"{dose}_epie_seed{seed}" for seed in range(SEEDS) for dose in ("1e9", "1e4")]
METRICS = [
    "amplitude_mae",
    "phase_mae",
    "amplitude_psnr",
    "amplitude_ssim",
    "phase_ssim",
    "frc_resolution",
    "frc_resolution_half",
    "nyquist_fraction_1_7",
    "resolution_px_1_7",
    "nyquist_fraction_0_5",
    "resolution_px_0_5",
]


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
    for name in ["metrics.json", "summary.json", "reconstructions.npz", "dose_response.png", "run.log"]:
        assert (out / name).is_file(), name
    assert sorted(p.stem for p in (out / "histories").glob("*.json")) == sorted(RUNS)
    log = (out / "run.log").read_text()
    assert all(f"{arm} seed {seed}: " in log for arm in ARM_NAMES for seed in range(SEEDS))
    assert all(f"{run}: ePIE 20 iterations" in log for run in BASELINE_RUNS)
    assert "Starting ePIE" not in result.stderr and "it/s" not in result.stderr  # PtyLab kept quiet
    with np.load(out / "reconstructions.npz") as saved:
        assert sorted(saved.files) == sorted([*RUNS, *BASELINE_RUNS, "truth"])
        assert all(saved[key].shape == saved["truth"].shape for key in saved.files)
    import matplotlib.image

    figure = matplotlib.image.imread(out / "dose_response.png")
    assert figure.ndim == 3 and figure.shape[0] > 300 and figure.shape[1] > 450
    assert figure[..., :3].std() > 0.05  # images, not a blank canvas
    config = json.loads((out / "config.json").read_text())
    assert config["preset"]["name"] == "smoke" and config["preset"]["gridsize"] == 2
    assert config["preset"]["seeds"] == SEEDS and config["preset"]["baseline"] == "ePIE"


@pytest.mark.slow
def test_smoke_metrics_are_sane(smoke):
    result, out = smoke
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert list(metrics) == RUNS + BASELINE_RUNS  # one entry per arm and seed, then the baseline's
    for name, arm in metrics.items():
        dose, method, seed = name.split("_")
        assert arm["nphotons"] == float(dose) and arm["seed"] == int(seed.removeprefix("seed"))
        assert arm["valid"] and arm["problems"] == []
        for key in METRICS:
            assert math.isfinite(arm[key]) and math.isfinite(arm["untrained"][key]), (name, key)
        assert -1 <= arm["amplitude_ssim"] <= 1
        assert 0 < arm["nyquist_fraction_1_7"] <= 1 and arm["resolution_px_1_7"] >= 1
        assert arm["frc_resolution_half"] <= arm["frc_resolution"]  # 0.5 is the stricter threshold
        assert arm["amplitude_mae"] < arm["untrained"]["amplitude_mae"], name
        if method == "epie":
            assert arm["method"] == "ePIE" and arm["iterations"] == 20 and arm["seconds"] > 0
            continue
        assert arm["method"] == "pinn" and arm["loss"] == method and arm["arm"] == f"{dose}_{method}"
        assert arm["translate_backend"] == "xla"  # the configuration of the 778752 incident
        assert 0 < arm["train_seconds"] < arm["seconds"] and 0 < arm["inference_seconds"] < arm["seconds"]
        history = json.loads((out / "histories" / f"{name}.json").read_text())
        assert len(history["loss"]) == arm["epochs_run"] >= 1
        assert all(math.isfinite(v) for v in history["loss"])
        assert history["loss"][-1] == arm["final_loss"]
    # The seeds are repeats with their own noise and initialisation, not copies.
    assert metrics["1e4_nll_seed0"]["amplitude_mae"] != metrics["1e4_nll_seed1"]["amplitude_mae"]


@pytest.mark.slow
def test_smoke_summary_agrees_with_the_entries(smoke):
    result, out = smoke
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    summary = json.loads((out / "summary.json").read_text())
    assert sorted(summary["by_method"]) == ["ePIE", "mae", "nll"]
    for method, key in (("nll", "nll"), ("mae", "mae"), ("ePIE", "epie")):
        for dose in ("1e9", "1e4"):
            row = summary["by_method"][method][dose]
            values = [metrics[f"{dose}_{key}_seed{s}"]["amplitude_ssim"] for s in range(SEEDS)]
            assert row["seeds"] == SEEDS and row["invalid"] == 0
            assert row["amplitude_ssim"]["mean"] == pytest.approx(sum(values) / SEEDS)
            assert row["amplitude_ssim"]["std"] == pytest.approx(abs(values[0] - values[1]) / math.sqrt(2))
    claim = summary["claim"]
    assert claim["verdict"] in {"supported", "refuted", "inconclusive"}
    assert claim["nll_at_reference"] == pytest.approx(
        summary["by_method"]["nll"]["1e4"]["nyquist_fraction_1_7"]["mean"]
    )
    assert claim["statement"].endswith(claim["verdict"])


@pytest.mark.slow
def test_an_arm_alone_gives_what_it_gives_among_the_others(smoke, tmp_path):
    """Nothing carries over between arms: run last after three others, or alone, 1e4_mae is the same."""
    result, out = smoke
    assert result.returncode == 0, result.stderr[-3000:]
    alone = study(
        "--preset",
        "smoke",
        "--arms",
        "1e4_mae",
        "--seeds",
        "1",
        "--baseline",
        "none",
        "--output-dir",
        str(tmp_path),
    )
    assert alone.returncode == 0, alone.stderr[-3000:]
    together = json.loads((out / "metrics.json").read_text())["1e4_mae_seed0"]
    single = json.loads((tmp_path / "metrics.json").read_text())
    assert list(single) == ["1e4_mae_seed0"]
    for key in METRICS:
        assert single["1e4_mae_seed0"][key] == pytest.approx(together[key], rel=1e-6, abs=1e-9), key


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
        "--seeds",
        "1",
        "--baseline",
        "none",
        "--output-dir",
        str(tmp_path),
        env={"USE_XLA_TRANSLATE": "0"},
    )
    assert result.returncode == 3, result.stderr[-3000:]
    assert (
        "sanity gate: 1e9_nll_seed0 is invalid: no better than the untrained model: amplitude MAE"
        in result.stderr
    )
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    entry = metrics["1e9_nll_seed0"]
    assert entry["valid"] is False and entry["translate_backend"] == "v3"


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


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--arms", "1e5_nll"], "unknown arm '1e5_nll'; the arms are 1e9_nll, 1e9_mae, 1e4_nll, 1e4_mae"),
        (["--doses", "1e5", "--arms", "1e4_mae"], "unknown arm '1e4_mae'; the arms are 1e5_nll, 1e5_mae"),
        (["--doses", "1e4,-1"], "doses must be finite and > 0; received: '-1'"),
        (["--doses", "1e4,nan"], "doses must be finite and > 0; received: 'nan'"),
        (["--doses", "1e4,ten"], "'ten' is not a number of photons"),
        (["--doses", "1e4,1e4"], "dose '1e4' is given twice"),
        (["--seeds", "0"], "must be >= 1; received: 0"),
        (["--baseline", "SIRT"], "invalid choice: 'SIRT'"),
        (["--checkpoint-dir", "{tmp}/a_file"], "is a file; expected a directory"),
        (["--checkpoint-dir", "{tmp}/missing/checkpoint"], "does not exist"),
        (["--checkpoint-dir", "{tmp}/notes"], "holds files but no run.json (holds notes.txt)"),
        (["--checkpoint-dir", "{tmp}/out/checkpoint"], "overlaps --output-dir"),
        (["--checkpoint-dir", "{tmp}/out"], "overlaps --output-dir"),
        (["--checkpoint-dir", "{tmp}/bad_settings"], "run.json' are unreadable"),
    ],
)
def test_bad_study_arguments_are_usage_errors(args, message, tmp_path, capsys):
    from ptycho.studies.dose_response import cli

    (tmp_path / "a_file").write_text("")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "notes.txt").write_text("")
    (tmp_path / "bad_settings").mkdir()
    (tmp_path / "bad_settings" / "run.json").write_text('{"preset": ')
    args = [arg.format(tmp=tmp_path) for arg in args]
    with pytest.raises(SystemExit) as exited:
        cli.main([*args, "--output-dir", str(tmp_path / "out")])
    assert exited.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_arms_and_presets():
    assert [a.name for a in ARMS] == ARM_NAMES
    assert PRESETS["full"].N == 64 and PRESETS["full"].gridsize == 2
    assert all(p.gridsize == 2 for p in PRESETS.values())
    sweep, quick = PRESETS["sweep"], PRESETS["quick"]
    assert len(sweep.doses) == 5 and sweep.seeds >= 3 and sweep.baseline == "ePIE"
    assert 1e4 in sweep.doses  # the claim's reference dose
    # The sweep is the quick preset's arms at more doses and seeds: its 1e9/1e4 seed-0 arms are quick's.
    same = ("N", "gridsize", "object_size", "scan_step", "n_groups", "nepochs", "batch_size", "line_width")
    assert all(getattr(sweep, f) == getattr(quick, f) for f in same)
    assert [dose_name(d) for d in (1e3, 1e4, 2.5e4, 1e9, 3e-1)] == ["1e3", "1e4", "2.5e4", "1e9", "3e-1"]


def _entry(method: str, dose: float, seed: int, resolution: float) -> dict:
    loss = {"nll": "nll", "mae": "mae"}.get(method)
    return {
        "method": "pinn" if loss else method,
        "loss": loss,
        "nphotons": dose,
        "seed": seed,
        "valid": True,
        "nyquist_fraction_1_7": resolution,
        "amplitude_ssim": resolution,
    }


def _study_entries(nll, mae, doses=(1e3, 1e4, 1e5, 1e6, 1e9)) -> dict:
    """Entries whose resolution is ``nll(dose, seed)`` / ``mae(dose, seed)``."""
    entries = {}
    for seed in range(3):
        for dose in doses:
            entries[f"{dose:g}_nll_{seed}"] = _entry("nll", dose, seed, nll(dose, seed))
            entries[f"{dose:g}_mae_{seed}"] = _entry("mae", dose, seed, mae(dose, seed))
    return entries


class TestClaim:
    """The claim's arithmetic on curves built for the test, where the answer is known by construction."""

    def test_matching_dose_interpolates_in_log_dose(self):
        doses, curve = np.array([1e3, 1e4, 1e5]), np.array([0.1, 0.2, 0.3])
        assert matching_dose(doses, curve, 0.25) == (pytest.approx(10**4.5), "interpolated")
        assert matching_dose(doses, curve, 0.2) == (pytest.approx(1e4), "interpolated")
        assert matching_dose(doses, curve, 0.05) == (1e3, "at or below")
        assert matching_dose(doses, curve, 0.35) == (1e5, "above")

    def test_mae_needing_exactly_ten_times_the_dose_supports_the_claim(self):
        """Resolution rising 0.05 per decade; MAE's curve is NLL's moved one decade up in dose."""
        entries = _study_entries(
            lambda d, s: 0.05 * math.log10(d),
            lambda d, s: 0.05 * (math.log10(d) - 1),
        )
        claim = claim_verdict(entries)
        assert claim["ratio"] == pytest.approx(10)
        assert claim["ratio_interval_68"] == [pytest.approx(10), pytest.approx(10)]
        assert claim["verdict"] == "supported"

    def test_the_ratio_at_every_reference_dose_of_a_curve_moved_one_decade_is_ten(self):
        entries = _study_entries(lambda d, s: 0.05 * math.log10(d), lambda d, s: 0.05 * (math.log10(d) - 1))
        by_reference = ratios_by_reference(entries)
        assert list(by_reference) == ["1e3", "1e4", "1e5", "1e6"]  # not the highest dose: nothing above it
        assert all(c["ratio"] == pytest.approx(10) for c in by_reference.values())

    def test_equal_losses_refute_it(self):
        entries = _study_entries(lambda d, s: 0.05 * math.log10(d), lambda d, s: 0.05 * math.log10(d))
        claim = claim_verdict(entries)
        assert claim["ratio"] == pytest.approx(1) and claim["verdict"] == "refuted"

    def test_a_difference_within_seed_noise_is_inconclusive(self):
        """MAE 0.005 below NLL everywhere, seeds scattered by +-0.02 on a flat curve: no dose is
        told apart; the bootstrap interval spans from below 3x to never."""
        scatter = {0: -0.02, 1: 0.0, 2: 0.02}
        entries = _study_entries(lambda d, s: 0.4 + scatter[s], lambda d, s: 0.395 + scatter[(s + 1) % 3])
        claim = claim_verdict(entries)
        assert claim["verdict"] == "inconclusive"
        low, high = claim["ratio_interval_68"]
        assert low < 3 and high is None  # in some draws MAE never reaches it: no upper bound

    def test_not_tested_without_the_reference_dose(self):
        entries = _study_entries(lambda d, s: 0.1, lambda d, s: 0.1, doses=(1e3, 1e5))
        assert claim_verdict(entries)["verdict"] == "not tested"

    def test_invalid_entries_are_left_out_of_the_summary_and_counted(self):
        entries = _study_entries(lambda d, s: 0.1 * (s + 1), lambda d, s: 0.2, doses=(1e4,))
        entries["10000_nll_2"]["valid"] = False
        row = summarize(entries)["by_method"]["nll"]["1e4"]
        assert row["seeds"] == 2 and row["invalid"] == 1
        assert row["nyquist_fraction_1_7"] == {
            "mean": pytest.approx(0.15),
            "std": pytest.approx(0.0707107),
            "n": 2,
        }


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

    def test_a_nearly_flat_object_that_beats_a_poor_start_is_refused(self):
        """A collapse to an almost flat object passes the untrained bar when the start is far off."""
        amplitude = np.abs(self.truth[2:-2, 2:-2]).astype(np.float64)
        flat_mae = np.mean(np.abs(amplitude - amplitude.mean()))  # uniform on [0.5, 1.5): about 0.25
        nearly_flat = np.ones((20, 20), np.complex64) + 1e-3 * self.truth
        problems = sanity_problems(
            nearly_flat, self.setup, {"amplitude_mae": flat_mae}, {"amplitude_mae": 5.0}
        )
        assert problems == [
            f"no better than a flat object: amplitude MAE {flat_mae:.4f}, a flat object's {flat_mae:.4f} "
            "(at least 2% lower required)"
        ]
        assert (
            sanity_problems(self.truth, self.setup, {"amplitude_mae": 0.9 * flat_mae}, {"amplitude_mae": 5.0})
            == []
        )


def test_the_study_trains_its_arms_under_the_strategy_it_is_given(tmp_path, monkeypatch):
    """--strategy mirrored reaches every arm as a MirroredStrategy (training under one is tested in
    tests/test_distributed.py); stopped at the first arm."""
    import tensorflow as tf

    from ptycho.studies.dose_response import cli
    from ptycho.studies.dose_response import run as study_run

    given = []

    def first_arm(setup, arm, nepochs, seed=0, strategy=None):
        given.append(strategy)
        raise KeyboardInterrupt

    monkeypatch.setattr(study_run, "run_arm", first_arm)
    argv = ["--preset", "smoke", "--baseline", "none", "--output-dir", str(tmp_path / "out")]
    with pytest.raises(KeyboardInterrupt):
        cli.main([*argv, "--strategy", "mirrored"])
    with pytest.raises(KeyboardInterrupt):
        cli.main(argv)
    assert isinstance(given[0], tf.distribute.MirroredStrategy) and given[1] is None


@pytest.mark.slow
def test_an_interrupted_sweep_resumes_from_its_checkpoint_and_ends_as_an_uninterrupted_one(
    smoke, tmp_path, monkeypatch, capsys
):
    """Ctrl-C in the second arm: no results, the first arm in the checkpoint. The rerun trains only
    the second arm, and its entries equal the smoke run's (never interrupted; arms share nothing, as
    the test above shows). Other settings are refused before anything is written."""
    from ptycho.studies.dose_response import cli
    from ptycho.studies.dose_response import run as study_run

    result, out = smoke
    assert result.returncode == 0, result.stderr[-3000:]
    settings = ["--preset", "smoke", "--arms", "1e9_mae,1e4_mae", "--seeds", "1"]
    checkpoint, resumed_dir = tmp_path / "checkpoint", tmp_path / "resumed"
    resume = [*settings, "--output-dir", str(resumed_dir), "--checkpoint-dir", str(checkpoint)]
    real_run_arm, trained, interrupt = study_run.run_arm, [], [True]

    def counted(setup, arm, *args, **kwargs):
        trained.append(arm.name)
        if interrupt[0] and len(trained) == 2:
            raise KeyboardInterrupt
        return real_run_arm(setup, arm, *args, **kwargs)

    monkeypatch.setattr(study_run, "run_arm", counted)
    with pytest.raises(KeyboardInterrupt):
        cli.main(resume)
    assert not resumed_dir.exists()
    kept = sorted(p.name for p in checkpoint.iterdir())
    assert kept == ["1e9_mae_seed0.json", "1e9_mae_seed0.npz", "run.json"]

    interrupt[0], trained[:] = False, []
    assert cli.main(resume) == 0
    assert trained == ["1e4_mae"]
    assert "1e9_mae_seed0: taken from the checkpoint" in (resumed_dir / "run.log").read_text()

    resumed = json.loads((resumed_dir / "metrics.json").read_text())
    whole = json.loads((out / "metrics.json").read_text())
    assert list(resumed) == ["1e9_mae_seed0", "1e4_mae_seed0", "1e9_epie_seed0", "1e4_epie_seed0"]
    assert len(list(checkpoint.glob("*.json"))) == 5  # run.json and every entry

    def refused(*args, **kwargs):
        raise AssertionError("a finished entry was run again")

    monkeypatch.setattr(study_run, "run_arm", refused)
    monkeypatch.setattr(study_run, "run_baseline", refused)
    stale = checkpoint / "1e9_mae_seed0.json"  # a verdict of an older gate is not kept
    stale.write_text(json.dumps({**json.loads(stale.read_text()), "problems": ["an older gate's verdict"]}))
    again = tmp_path / "again"
    assert cli.main([*settings, "--output-dir", str(again), "--checkpoint-dir", str(checkpoint)]) == 0
    for name in (
        "metrics.json",
        "summary.json",
        "histories/1e9_mae_seed0.json",
        "histories/1e4_mae_seed0.json",
    ):
        assert json.loads((again / name).read_text()) == json.loads((resumed_dir / name).read_text()), name
    with np.load(again / "reconstructions.npz") as a, np.load(resumed_dir / "reconstructions.npz") as b:
        assert a.files == b.files
        for key in a.files:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    for key in resumed:
        for metric in METRICS:
            assert resumed[key][metric] == pytest.approx(whole[key][metric], rel=1e-6, abs=1e-9), key
    with np.load(resumed_dir / "reconstructions.npz") as a, np.load(out / "reconstructions.npz") as b:
        for key in a.files:
            np.testing.assert_allclose(a[key], b[key], rtol=1e-5, atol=1e-6, err_msg=key)

    capsys.readouterr()
    other = [*settings, "--nepochs", "2", "--output-dir", str(tmp_path / "other")]
    with pytest.raises(SystemExit) as refused:
        cli.main([*other, "--checkpoint-dir", str(checkpoint)])
    err = capsys.readouterr().err
    assert refused.value.code == 2 and "another run configuration" in err and "nepochs: was 8, now 2" in err
    assert not (tmp_path / "other").exists()


class TestCheckpoint:
    """The entries' round trip and what a checkpoint refuses, on results made here (no training)."""

    @staticmethod
    def arm_result(nphotons: float = 1e4, seed: int = 1):
        from ptycho.studies.dose_response import Arm, ArmResult

        rng = np.random.default_rng(seed)
        reconstruction = (rng.random((6, 5)) + 1j * rng.random((6, 5))).astype(np.complex64)
        return ArmResult(
            Arm(nphotons, "nll"),
            reconstruction,
            {"amplitude_ssim": 0.5, "frc_resolution": float("nan")},
            {"amplitude_ssim": 0.01},
            {"loss": [3.0, 2.0], "learning_rate": [1e-3, 5e-4]},
            12.5,
            "xla",
            ["no better than the untrained model"],
            seed=seed,
            train_seconds=10.0,
            inference_seconds=0.5,
        )

    @staticmethod
    def checkpoint(path, settings=None):
        from ptycho.studies.dose_response.checkpoint import Checkpoint

        made = Checkpoint(path, settings or {"preset": {"N": 16}, "phase": False})
        made.open()
        return made

    def test_entries_come_back_as_they_were_saved(self, tmp_path):
        from dataclasses import fields

        from ptycho.studies.dose_response import Arm, BaselineResult

        store = self.checkpoint(tmp_path / "c")
        arm = self.arm_result()
        baseline = BaselineResult("ePIE", 1e4, 1, arm.reconstruction * 2, {"a": 1.0}, {"a": 2.0}, 20, 3.5, [])
        store.save(arm)
        store.save(baseline)
        again = self.checkpoint(tmp_path / "c")
        for saved, loaded in (
            (arm, again.arm(Arm(1e4, "nll"), 1)),
            (baseline, again.baseline("ePIE", 1e4, 1)),
        ):
            assert loaded is not None
            for f in fields(saved):
                a, b = getattr(saved, f.name), getattr(loaded, f.name)
                if isinstance(a, np.ndarray):
                    assert a.dtype == b.dtype
                    np.testing.assert_array_equal(a, b)
                elif f.name == "metrics":  # NaN != NaN
                    assert a.keys() == b.keys()
                    assert all(a[k] == b[k] or (math.isnan(a[k]) and math.isnan(b[k])) for k in a)
                else:
                    assert a == b and type(a) is type(b), f.name
        assert again.arm(Arm(1e4, "mae"), 1) is None and again.arm(Arm(1e4, "nll"), 0) is None

    def test_an_entry_without_its_json_is_not_taken(self, tmp_path):
        from ptycho.studies.dose_response import Arm

        store = self.checkpoint(tmp_path / "c")
        store.save(self.arm_result())
        (tmp_path / "c" / "1e4_nll_seed1.json").unlink()
        (tmp_path / "c" / ".1e4_nll_seed1.x1y2.json").write_text("{")  # what a killed save leaves
        assert store.arm(Arm(1e4, "nll"), 1) is None and store.keys() == []

    def test_a_directory_holding_only_a_killed_first_save_starts_again(self, tmp_path):
        (tmp_path / "c").mkdir()
        (tmp_path / "c" / ".run.k3j4.json").write_text('{"pre')  # killed while writing run.json
        store = self.checkpoint(tmp_path / "c")
        assert (tmp_path / "c" / "run.json").exists() and store.keys() == []
        (tmp_path / "c" / "run.json").unlink()
        (tmp_path / "c" / "notes.txt").write_text("")
        with pytest.raises(ValueError, match=r"holds files but no run.json \(holds notes.txt\)"):
            self.checkpoint(tmp_path / "c")

    def test_a_mirrored_study_records_its_replica_count(self):
        import argparse

        import tensorflow as tf

        from ptycho.studies.dose_response import cli

        def settings(strategy):
            args = argparse.Namespace(preset=PRESETS["smoke"], nepochs=None, phase=False, strategy=strategy)
            return cli._run_settings(args)

        assert "replicas" not in settings("none")
        assert settings("mirrored")["replicas"] == len(tf.config.list_logical_devices("CPU"))

    def test_an_entry_of_another_dose_under_the_same_name_is_refused(self, tmp_path):
        from ptycho.studies.dose_response import Arm

        store = self.checkpoint(tmp_path / "c")
        store.save(self.arm_result(1e4))
        with pytest.raises(ValueError, match="1e4_nll_seed1 .* not the .*10000.001"):
            store.arm(Arm(10000.001, "nll"), 1)

    def test_other_settings_are_refused_naming_each_difference(self, tmp_path):
        self.checkpoint(tmp_path / "c", {"preset": {"N": 16, "nepochs": 4}, "phase": False})
        with pytest.raises(ValueError) as refused:
            self.checkpoint(tmp_path / "c", {"preset": {"N": 32, "nepochs": 4}, "phase": True})
        assert "preset.N: was 16, now 32" in str(refused.value) and "phase: was False, now True" in str(
            refused.value
        )
        (tmp_path / "c" / "run.json").write_text("[1]")
        with pytest.raises(ValueError, match="run.json' hold a list; expected an object"):
            self.checkpoint(tmp_path / "c")
