"""The iterative baseline (PtyLab's ePIE/mPIE) agrees with our conventions on our simulated data.

Runs in CI, which installs the ``baseline`` extra (``make test``); skipped with its reason only
where PtyLab is not installed.
"""

from __future__ import annotations

import numpy as np
import pytest

from ptycho.evaluation import evaluate
from ptycho.physics.probe import footprint
from ptycho.physics.scan import SimulationConfig, simulate_scan
from ptycho.tensors.stitching import covered_border

pytest.importorskip("PtyLab", reason="PtyLab is not installed: pip install '.[baseline]'")

from ptycho.baselines import ptylab


def _scan(jitter: float):
    return simulate_scan(
        SimulationConfig(
            N=32,
            object_size=64,
            n_lines=20,
            line_width=2.0,
            scan_step=3.0,
            jitter=jitter,
            nphotons=1e6,
            phase=True,
        )
    )


def _scored(raw, obj) -> float:
    border = covered_border(
        raw.positions.reshape(-1, 1, 2, 1), footprint(raw.probeGuess), raw.objectGuess.shape
    )
    return evaluate(obj, raw.objectGuess, border=border).amplitude_ssim


@pytest.mark.parametrize("engine", ptylab.ENGINES)
def test_ptylab_reconstructs_our_simulated_object(engine, capfd):
    """Our positions ([x, y] patch centres), amplitudes and probe, handed over in PtyLab's terms,
    give back the object (amplitude SSIM over the scanned region; a flat object scores ~0.16).
    PtyLab's banner and progress bar stay out of the caller's output."""
    raw = _scan(jitter=0.5)
    result = ptylab.reconstruct(raw, raw.objectGuess.shape, engine=engine, iterations=60)
    printed = capfd.readouterr()
    assert f"Starting {engine}" not in printed.out + printed.err and "it/s" not in printed.err
    assert result.object.shape == raw.objectGuess.shape and np.isfinite(result.object).all()
    assert _scored(raw, result.object) > 0.95


def test_positions_handed_over_transposed_do_not_reconstruct_it():
    """The mapping matters: the same data with x and y exchanged scores far lower (the test above
    would fail with the wrong mapping)."""
    raw = _scan(jitter=0.0)
    swapped = type(raw)(raw.ycoords, raw.xcoords, raw.diff3d, raw.probeGuess, objectGuess=raw.objectGuess)
    result = ptylab.reconstruct(swapped, raw.objectGuess.shape, iterations=60)
    assert _scored(raw, result.object) < 0.6


def test_bad_arguments_are_refused():
    raw = _scan(jitter=0.0)
    with pytest.raises(ValueError, match="engine must be one of ePIE, mPIE; received: 'DM'"):
        ptylab.reconstruct(raw, raw.objectGuess.shape, engine="DM")
    with pytest.raises(ValueError, match="object_shape sides must be even"):
        ptylab.reconstruct(raw, (63, 64))
