"""Training steps with two replicas on this CPU against one device, contracts on and off
(``benchmarks/distributed_steps.py``, in its own process: devices are fixed at start-up).

Timing only: ``tests/test_distributed.py`` exercises the same training in the suite, so with
``--benchmark-disable`` (the suite) it is skipped. make benchmark
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import _times, ratio

pytestmark = pytest.mark.benchmark
ROOT = Path(__file__).resolve().parents[1]


def test_steps_with_one_and_two_replicas(benchmark):
    if benchmark.disabled:
        pytest.skip("timing only (about two minutes); tests/test_distributed.py trains on two replicas")
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.distributed_steps"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    for key, seconds in measured.items():
        _times[f"distributed step: {key}"] = seconds


ratio(
    "step: 2 replicas / 1 device (2 cores; contracts on)",
    "distributed step: 2 replicas, contracts full",
    "distributed step: 1 device, contracts full",
)
ratio(
    "step: 1 device, contracts on / off",
    "distributed step: 1 device, contracts full",
    "distributed step: 1 device, contracts off",
)
ratio(
    "step: 2 replicas, contracts on / off (per-replica checks)",
    "distributed step: 2 replicas, contracts full",
    "distributed step: 2 replicas, contracts off",
)
