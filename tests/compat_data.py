"""The fixture the PtychoPINN-compatibility tests share: two small simulated scans."""

from __future__ import annotations

from pathlib import Path

import pytest

from ptycho.physics.scan import SimulationConfig, simulate_scan


@pytest.fixture(scope="module")
def scans(tmp_path_factory) -> tuple[Path, Path]:
    """Two small simulated scans (N=32) in this stack's NPZ form, which PtychoPINN's keys read."""
    root = tmp_path_factory.mktemp("scans")
    paths = []
    for seed in (0, 1):
        config = SimulationConfig(N=32, object_size=64, n_lines=12, scan_step=4.0, nphotons=1e6, seed=seed)
        path = root / f"scan{seed}.npz"
        simulate_scan(config).to_file(path)
        paths.append(path)
    return paths[0], paths[1]
