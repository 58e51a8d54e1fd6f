"""The arithmetic of the scaling and training-step benchmarks, and one small run of each scaling stage
(the full runs are `python -m benchmarks.scaling` and `python -m benchmarks.training_step`)."""

from __future__ import annotations

import math

import keras
import pytest

from .scaling import STAGES, STEP, N, affine, exponent, run_stage, scan
from .training_step import conv_flops_per_example


def test_the_growth_exponent_is_the_slope_in_log_log():
    assert exponent([10, 100, 1000], [2.0, 20.0, 200.0]) == pytest.approx(1.0)
    assert exponent([10, 100, 1000], [1.0, 100.0, 10_000.0]) == pytest.approx(2.0)


def test_the_affine_fit_finds_a_fixed_part_and_a_cost_per_position():
    a, b, worst = affine([1000, 10_000, 100_000], [200.0 + 0.5 * p for p in (1000, 10_000, 100_000)])
    assert a == pytest.approx(200.0) and b == pytest.approx(0.5) and worst < 1e-9


def test_the_scan_keeps_its_density_as_it_grows():
    for positions in (400, 40_000):
        (side, _), raster = scan(positions)
        assert len(raster) == positions
        # the scanned area (the object less a patch's margin) holds one position per STEP^2 pixels
        assert (side - N) ** 2 / positions == pytest.approx(STEP**2, rel=0.1)


def test_conv_flops_are_counted_from_the_layer_shapes():
    """2 H W k^2 C_in C_out per example and Conv2D: two layers with hand-counted FLOPs; the pooling
    and dense layers count nothing."""
    model = keras.Sequential(
        [
            keras.Input((10, 10, 3)),
            keras.layers.Conv2D(8, 3, padding="same"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(4, 1),
            keras.layers.Flatten(),
            keras.layers.Dense(2),
        ]
    )
    assert conv_flops_per_example(model) == 2 * 10 * 10 * 9 * 3 * 8 + 2 * 5 * 5 * 1 * 8 * 4


@pytest.mark.parametrize("stage", STAGES)
def test_each_scaling_stage_runs_on_a_small_scan(stage):
    result = run_stage(stage, 60)
    assert result["seconds"] > 0 and math.isfinite(result["seconds"])
    assert result["peak"] >= result["floor"] > 0
