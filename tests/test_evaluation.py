"""Reconstruction metrics: properties against independent expectations."""

from __future__ import annotations

import numpy as np
import pytest

from ptycho.evaluation import evaluate, frc_resolution, psnr, remove_plane, trim
from ptycho.physics.objects import lines_object


def test_identical_images_score_perfectly_and_scale_is_ignored():
    truth = lines_object(64, seed=1, phase=True)
    m = evaluate(truth * 3.0, truth, border=4)  # amplitude scale is not identifiable: rescaled away
    assert m.amplitude_mae == pytest.approx(0, abs=1e-6) and m.phase_mae == pytest.approx(0, abs=1e-6)
    assert m.amplitude_psnr > 100 and m.amplitude_ssim == pytest.approx(1.0)  # float32 rounding only
    assert m.frc_resolution == 0.5


def test_more_noise_scores_worse_on_every_metric():
    truth = lines_object(64, seed=2)
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(truth.shape)
    mild, strong = (evaluate(truth + s * noise, truth, border=4) for s in (0.02, 0.2))
    assert mild.amplitude_mae < strong.amplitude_mae
    assert mild.amplitude_psnr > strong.amplitude_psnr
    assert mild.amplitude_ssim > strong.amplitude_ssim
    assert mild.frc_resolution >= strong.frc_resolution


def test_psnr_uses_the_ground_truth_range_not_255():
    truth = np.linspace(1.0, 2.0, 100).reshape(10, 10)
    image = truth + 0.01
    assert psnr(image, truth) == pytest.approx(10 * np.log10(1.0 / 1e-4))


def test_plane_removal_and_trim():
    y, x = np.mgrid[:20, :30]
    assert np.allclose(remove_plane(0.3 + 0.1 * x - 0.2 * y), 0, atol=1e-10)
    assert trim(np.zeros((20, 30)), 3).shape == (14, 24)
    with pytest.raises(ValueError, match="border 10 does not fit"):
        trim(np.zeros((20, 30)), 10)


def test_frc_of_a_blurred_copy_falls_below_threshold_earlier():
    from scipy import ndimage

    rng = np.random.default_rng(1)
    truth = rng.standard_normal((64, 64))
    sharp = frc_resolution(ndimage.gaussian_filter(truth, 0.5) + 0.05 * rng.standard_normal((64, 64)), truth)
    blurred = frc_resolution(
        ndimage.gaussian_filter(truth, 2.0) + 0.05 * rng.standard_normal((64, 64)), truth
    )
    assert blurred < sharp


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="must be the same 2-D shape"):
        evaluate(np.zeros((4, 4)), np.zeros((4, 5)))
    with pytest.raises(ValueError, match="NaN or inf"):
        evaluate(np.full((8, 8), np.nan), np.ones((8, 8)))


def test_frc_sees_the_blur_of_a_non_periodic_image():
    """A smooth object whose edges do not wrap around: without apodisation, the edge discontinuity
    (shared by both images) correlates at every frequency and FRC never drops (measured: 0.5)."""
    from scipy import ndimage

    truth = np.abs(lines_object(96, n_lines=50, seed=0)).astype(np.float64)
    assert frc_resolution(truth, truth) == 0.5
    assert frc_resolution(ndimage.gaussian_filter(truth, 3.0), truth) < 0.25
