"""Fixtures shared by the workflow tests: a small simulated scan and an untrained model of it."""

from __future__ import annotations

from pathlib import Path

import pytest

from ptycho.cli import train as train_cli
from ptycho.physics.scan import SimulationConfig, simulate_scan

TRAIN_SMALL = ["--n_filters_scale", "1", "--neighbor_count", "4", "--batch_size", "16", "-q"]


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
