"""Training under ``tf.distribute.MirroredStrategy`` on two logical CPU devices against one device.

The devices are fixed when TensorFlow initialises, so the training runs in one subprocess
(``tests/distributed/mirrored.py``), which reports measurements; the judgements are here.
Tolerances: measured differences are ~1e-8 relative (float summation order of two half-batch
gradients against one batch); the bounds are 1e-6, and each comparison also checks that training
moved the weights by far more than the bound, so agreement is not two untrained models agreeing.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .workflow_data import TRAIN_SMALL

ROOT = Path(__file__).resolve().parents[1]
LAUNCH = [sys.executable, "-m", "ptycho.distributed.launch"]
TOLERANCE = 1e-6  # relative; measured 1.5e-8 (weights after 12 Adam steps), 1.2e-7 (gradients)


@pytest.fixture(scope="module")
def measured() -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "tests.distributed.mirrored"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _close(a: list[float], b: list[float]) -> bool:
    return len(a) == len(b) and all(math.isclose(x, y, rel_tol=TOLERANCE) for x, y in zip(a, b))


def test_two_replicas_train_as_one_device_when_the_batch_splits_evenly(measured):
    even = measured["even"]
    assert measured["devices"] == ["/device:CPU:0", "/device:CPU:1"]
    assert even["initial_weight_difference"] == 0.0  # same initial weights under the strategy's scope
    assert even["gradient_difference"] < TOLERANCE
    assert _close(even["loss_one"], even["loss_two"]), (even["loss_one"], even["loss_two"])
    assert even["weight_difference"] < TOLERANCE < 1e-3 < even["weights_moved"]


def test_a_last_batch_of_one_leaves_a_replica_empty_and_still_trains_as_one_device(measured):
    last = measured["last_one"]
    assert all(math.isfinite(v) for v in last["loss_two"])
    assert last["gradient_norm"] > 0 and last["gradient_difference"] < TOLERANCE
    assert _close(last["loss_one"], last["loss_two"]), (last["loss_one"], last["loss_two"])
    assert last["weight_difference"] < TOLERANCE


@pytest.mark.contracts
def test_a_contract_violation_inside_a_replica_names_the_dim_and_the_replica(measured):
    """A slip that only replica 1's share (1 row of a global batch of 3) triggers."""
    violation = measured["violation"]
    assert violation["raised"] == "ShapeContractError", violation
    assert violation["dim"] == "B" and violation["replica"] == "replica 1 of 2"
    assert "on replica 1 of 2" in violation["message"].splitlines()[0]


class _StopAfter(__import__("keras").callbacks.Callback):
    """An interruption after epoch ``k`` (1-based) finishes, like a job killed there."""

    def __init__(self, k: int) -> None:
        super().__init__()
        self.k = k

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.k:
            raise KeyboardInterrupt(f"interrupted after epoch {self.k}")


def test_a_run_interrupted_after_epoch_k_resumes_at_k_plus_1_with_the_uninterrupted_weights(tmp_path):
    import keras
    import numpy as np

    from ptycho.config.config import ModelConfig, TrainingConfig
    from ptycho.training import train
    from tests.test_model import _container

    data = _container(32, 2, n=8)
    config = TrainingConfig(
        model=ModelConfig(N=32, gridsize=2, n_filters_scale=1, max_offset=8),
        nphotons=1e6,
        nepochs=4,
        batch_size=4,
        learning_rate=1e-3,
    )
    keras.utils.set_random_seed(0)
    whole = train(data, config, epoch_order=True)
    backup = tmp_path / "backup"
    keras.utils.set_random_seed(0)
    with pytest.raises(KeyboardInterrupt):
        train(data, config, callbacks=[_StopAfter(2)], backup_dir=backup)
    assert (backup / "training_metadata.json").exists()
    keras.utils.set_random_seed(1)  # another initialisation: the backup's weights must win
    resumed = train(data, config, backup_dir=backup)
    assert len(resumed.history["loss"]) == 2  # epochs 3 and 4 only
    assert resumed.history["loss"] == pytest.approx(whole.history["loss"][2:], rel=1e-6)
    for a, b in zip(whole.model.trainer.get_weights(), resumed.model.trainer.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert not backup.exists()  # removed once training completes


def _launch(out: Path, *extra: str, workers: int = 2) -> subprocess.CompletedProcess:
    worker = [sys.executable, "-m", "tests.distributed.multiworker", str(out), *extra]
    return subprocess.run(
        [*LAUNCH, "--workers", str(workers), "--timeout", "600", "--grace", "5", "--", *worker],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=900,
    )


def _weights(path: Path) -> list:
    import numpy as np

    with np.load(path) as stored:
        return [stored[name] for name in stored.files]


def test_two_worker_processes_reach_the_weights_of_one_process(tmp_path):
    """MultiWorkerMirroredStrategy over 127.0.0.1, global batch 4 split 2 + 2, 2 epochs."""
    import numpy as np

    two = _launch(tmp_path / "two")
    assert two.returncode == 0, two.stderr[-4000:]
    one = subprocess.run(
        [sys.executable, "-m", "tests.distributed.multiworker", str(tmp_path / "one"), "--one-process"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert one.returncode == 0, one.stderr[-4000:]
    a, b = _weights(tmp_path / "one" / "weights.npz"), _weights(tmp_path / "two" / "weights.npz")
    flat_a, flat_b = (np.concatenate([w.ravel() for w in ws]).astype(np.float64) for ws in (a, b))
    assert np.linalg.norm(flat_a - flat_b) < TOLERANCE * np.linalg.norm(flat_a)  # measured 1.0e-8
    losses = [line for line in two.stdout.splitlines() if "loss [" in line]
    assert len(losses) == 1 and losses[0].startswith("[worker 0] ")  # the chief alone writes


def test_a_killed_worker_makes_the_launcher_stop_the_other_and_fail(tmp_path):
    """Worker 1 dies by SIGKILL after its first epoch; worker 0 would wait in its next collective."""
    import time

    start = time.monotonic()
    done = _launch(tmp_path / "killed", "--die-after-epoch", "1")
    elapsed = time.monotonic() - start
    assert done.returncode == 128 + 9, done.stderr[-4000:]
    assert "worker 1 was killed by SIGKILL" in done.stderr and "stopped the other 1 worker(s)" in done.stderr
    assert elapsed < 300  # a liveness bound (start-up, one epoch, 5 s grace), not a speed test
    assert not (tmp_path / "killed" / "weights.npz").exists()


def test_ptycho_train_runs_multiworker_through_the_launcher_and_worker_0_writes(scan_file, tmp_path):
    out = tmp_path / "model"
    train = [sys.executable, "-m", "ptycho.cli.train", "--train_data_file", str(scan_file)]
    flags = ["--output_dir", str(out), "--strategy", "multiworker", "--n_groups", "32", "--nepochs", "2"]
    done = subprocess.run(
        [*LAUNCH, "--workers", "2", "--timeout", "600", "--", *train, *flags, *TRAIN_SMALL],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    history = json.loads((out / "history.json").read_text())
    assert len(history["loss"]) == 2 and all(math.isfinite(v) for v in history["loss"])
    assert (out / "model.keras").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # worker 1 wrote nothing here


def test_ptycho_train_refuses_devices_without_the_mirrored_strategy(scan_file, tmp_path, capsys):
    from ptycho.cli import train as train_cli

    argv = ["--train_data_file", str(scan_file), "--output_dir", str(tmp_path / "m"), "--devices", "/cpu:0"]
    assert train_cli.main(argv) != 0
    assert "--devices needs --strategy mirrored; received --strategy none" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def _trace_mirrored(*flags: str) -> subprocess.CompletedProcess:
    command = [
        sys.executable,
        str(ROOT / "diagnostics" / "trace_shapes.py"),
        "trace",
        "--strategy",
        "mirrored",
    ]
    return subprocess.run(
        [*command, "--mode", "fit", "--N", "32", "--filters", "1", "--format", "json", *flags],
        cwd=ROOT,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_trace_with_the_mirrored_strategy_records_each_replicas_checks_even_an_empty_one():
    done = _trace_mirrored("--batch", "1")  # replica 0 gets the group, replica 1 none
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads(done.stdout)
    assert result["config"]["strategy"] == "mirrored" and result["violation"] is None
    fit = [r for r in result["records"] if r["mode"] == "fit"]
    assert {r["replica"] for r in fit} == {"replica 0 of 2", "replica 1 of 2"}
    assert all(r["replica"] is None for r in result["records"] if r["mode"] == "keras")
    assert (
        result["baseline"]["status"] == "not compared" and "strategy='mirrored'" in result["baseline"]["why"]
    )


@pytest.mark.contracts
def test_trace_with_the_mirrored_strategy_finds_the_778752_batch_merge_on_a_replica():
    """The incident's layer merges the batch once B*C >= 64: each replica's share (16 x 4) reaches it."""
    done = _trace_mirrored("--batch", "32", "--fault", "batch-merge")
    assert done.returncode == 3, done.stderr[-4000:]
    violation = json.loads(done.stdout)["violation"]
    assert violation["mode"] == "fit" and violation["function"].startswith("ReassemblePatchesLayer.call")
    assert re.search(r"on replica [01] of 2\n", violation["message"])
    assert "patches axis 0 is 16" in violation["message"]  # the replica's share, not the global 32
