"""Reconstruction metrics: properties against independent expectations."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ptycho.evaluation import evaluate, frc_resolution, psnr, remove_plane, trim
from ptycho.physics.objects import lines_object


def test_identical_images_score_perfectly_and_scale_is_ignored():
    truth = lines_object(64, seed=1, phase=True)
    m = evaluate(truth * 3.0, truth, border=4)  # amplitude scale is not identifiable: rescaled away
    assert m.amplitude_mae == pytest.approx(0, abs=1e-6) and m.phase_mae == pytest.approx(0, abs=1e-6)
    assert m.amplitude_psnr > 100 and m.amplitude_ssim == pytest.approx(1.0)  # float32 rounding only
    assert m.frc_resolution == 0.5


@given(offset=st.floats(-np.pi, np.pi), plane=st.booleans())
@example(offset=np.pi, plane=False)
@example(offset=-3.0, plane=True)
@settings(max_examples=25, deadline=None)
def test_a_global_phase_changes_no_metric(offset, plane):
    """No diffraction pattern measures a global phase: even one near pi (where the angles wrap) is
    invisible to every metric, with the mean or a plane removed."""
    truth = lines_object(48, seed=3, phase=True)
    noisy = truth * (1 + 0.05 * np.random.default_rng(1).standard_normal(truth.shape))
    here = evaluate(noisy, truth, border=4, plane=plane).to_dict()
    turned = evaluate(noisy * np.exp(1j * offset), truth, border=4, plane=plane).to_dict()
    assert turned == pytest.approx(here, rel=1e-4, abs=1e-6)
    assert evaluate(truth * np.exp(1j * offset), truth, plane=plane).phase_mae == pytest.approx(0, abs=1e-5)


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


@pytest.mark.parametrize("threshold", [1 / 7, 0.5])
def test_frc_crossing_agrees_with_the_analytic_crossing_of_a_blurred_noisy_copy(threshold):
    """White noise t, its copy blurred by a Gaussian of sigma s plus independent noise of variance r:
    the expected FRC is H / sqrt(H^2 + r) with H(f) = exp(-2 pi^2 s^2 f^2), so it crosses ``t`` where
    H = t sqrt(r / (1 - t^2)). The measured FRC scatters about that from ring to ring (a ring of
    radius 100 holds ~600 pixels) and the first crossing is taken, so the estimate lands within 8%
    (measured with 4 noise seeds: within 6.2% at 1/7, 2.8% at 0.5)."""
    from scipy import ndimage

    rng = np.random.default_rng(3)
    sigma, noise = 1.5, 0.2
    truth = rng.standard_normal((512, 512))
    blurred = ndimage.gaussian_filter(truth, sigma, mode="wrap")
    # gaussian_filter's kernel is truncated at 4 sigma; its transfer function is within 1e-4 of H.
    copy = blurred + noise * rng.standard_normal(truth.shape)
    h = threshold * np.sqrt(noise**2 / (1 - threshold**2))
    expected = np.sqrt(-np.log(h) / (2 * np.pi**2 * sigma**2))
    assert frc_resolution(copy, truth, threshold) == pytest.approx(expected, rel=0.08)


def test_frc_crossing_lies_between_the_rings_around_it():
    from scipy import ndimage

    from ptycho.evaluation import frc_curve

    rng = np.random.default_rng(4)
    truth = rng.standard_normal((64, 64))
    for sigma in (1.2, 1.6, 2.5, 4.0):
        copy = ndimage.gaussian_filter(truth, sigma) + 0.1 * rng.standard_normal(truth.shape)
        freq, frc = frc_curve(copy, truth)
        k = 1 + int(np.nonzero(frc[1:] < 1 / 7)[0][0])
        assert freq[k - 1] <= frc_resolution(copy, truth) <= freq[k]
