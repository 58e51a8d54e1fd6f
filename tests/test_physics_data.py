"""Physics and data: diffraction, counts, scaling, loss, objects, grouping, NPZ files, train_eval."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf

from ptycho import params
from ptycho.config.config import ModelConfig, TrainingConfig, update_legacy_dict
from ptycho.data.container import PtychoDataContainer, intensity_scale
from ptycho.data.raw import RawData
from ptycho.physics.losses import poisson_nll
from ptycho.physics.objects import image_object, lines_object
from ptycho.physics.probe import get_default_probe
from ptycho.physics.simulation import (
    diffraction_amplitude,
    extract_patches,
    grid_positions,
    random_positions,
    simulate_diffraction,
)
from ptycho.tensors.stitching import reassemble_position


def test_diffraction_is_orthonormal():
    rng = np.random.default_rng(0)
    psi = rng.standard_normal((3, 16, 16)) + 1j * rng.standard_normal((3, 16, 16))
    amplitude = diffraction_amplitude(psi)
    np.testing.assert_allclose(
        (amplitude**2).sum(axis=(1, 2)), (np.abs(psi) ** 2).sum(axis=(1, 2)), rtol=1e-10
    )
    # fftshift: a constant field puts all its energy in the centre pixel (N/2, N/2)
    flat = diffraction_amplitude(np.ones((1, 16, 16)))
    assert np.unravel_index(np.argmax(flat[0]), flat[0].shape) == (8, 8)


def test_counts_have_the_requested_mean_total_and_are_reproducible():
    obj = lines_object(64, seed=0)
    probe = get_default_probe(32)
    positions = random_positions((64, 64), 32, 40, seed=1)
    a = simulate_diffraction(obj, probe, positions, 1e4, seed=5)
    b = simulate_diffraction(obj, probe, positions, 1e4, seed=5)
    np.testing.assert_array_equal(a, b)
    counts = a.astype(np.float64) ** 2
    assert np.allclose(counts, np.round(counts), atol=1e-3)  # amplitude = sqrt(integer counts)
    assert abs(counts.sum(axis=(1, 2)).mean() / 1e4 - 1) < 0.02


def test_intensity_scale_matches_the_physics_notes():
    assert intensity_scale(1e9, 64) == pytest.approx(988.2, abs=0.05)
    assert intensity_scale(1e4, 64) == pytest.approx(3.125)


def test_poisson_nll_is_finite_at_zero_prediction():
    k = tf.constant([[0.0, 3.0, 10.0]])
    value = poisson_nll(k, tf.zeros_like(k))
    assert np.isfinite(value.numpy())
    lam = tf.constant([[0.5, 3.0, 10.0]])
    expected = np.mean(lam.numpy() - k.numpy() * np.log(lam.numpy() + 1e-6))
    assert poisson_nll(k, lam).numpy() == pytest.approx(expected, rel=1e-6)


def test_objects():
    obj = lines_object(48, seed=3)
    assert obj.shape == (48, 48) and obj.dtype == np.complex64
    assert np.abs(obj).min() >= 0.5 - 1e-6 and np.abs(obj).max() <= 1.5 + 1e-6
    assert np.allclose(np.angle(obj), 0)
    assert np.ptp(np.angle(lines_object(48, seed=3, phase=True))) > 0.1
    img = image_object(np.arange(12.0).reshape(3, 4), np.full((3, 4), 0.3))
    assert np.allclose(np.angle(img), 0.3) and np.abs(img).min() == pytest.approx(0.5)


def test_probe_is_normalised_and_centred():
    probe = get_default_probe(32)
    assert (np.abs(probe) ** 2).sum() == pytest.approx(16**2 / 0.5**2, rel=1e-5)  # object rms 0.5
    amp = np.abs(probe)
    np.testing.assert_allclose(amp, amp[::-1, ::-1], atol=1e-6)  # symmetric about ((N-1)/2, (N-1)/2)


def test_probe_curvature_adds_the_stated_phase_and_nothing_else():
    flat, curved = get_default_probe(32, radius=6), get_default_probe(32, radius=6, curvature=0.7)
    np.testing.assert_allclose(np.abs(curved), np.abs(flat), rtol=1e-5, atol=1e-6)
    assert np.all(np.imag(flat) == 0)
    y, x = np.mgrid[:32, :32] - 15.5
    lit = np.abs(flat) > 1e-3 * np.abs(flat).max()
    expected = np.exp(1j * np.pi * 0.7 * (x**2 + y**2) / 36)
    np.testing.assert_allclose(curved[lit] / flat[lit], expected[lit], atol=1e-4)
    with pytest.raises(ValueError, match="curvature must be finite"):
        get_default_probe(32, curvature=float("nan"))


def test_only_a_curved_probe_tells_a_real_patch_from_its_180_degree_rotation():
    """The twin ambiguity: with a real probe and a real object the pattern of a patch and of the
    patch rotated by 180 degrees are the same; with a curved (defocus-like) probe they differ."""
    patch = np.abs(lines_object(32, n_lines=20, seed=4))
    rotated = patch[::-1, ::-1]
    for curvature, same in ((0.0, True), (1.0, False)):
        probe = get_default_probe(32, radius=6, curvature=curvature)
        a, b = diffraction_amplitude((probe * patch)[None]), diffraction_amplitude((probe * rotated)[None])
        difference = np.linalg.norm(a - b) / np.linalg.norm(a)
        assert (difference < 1e-5) if same else (difference > 0.05), (curvature, difference)


def test_lines_width_scales_the_blur():
    thin, wide = (np.abs(lines_object(64, n_lines=30, seed=1, width=w)) for w in (1.0, 2.0))
    assert np.abs(np.diff(wide, axis=0)).mean() < 0.7 * np.abs(np.diff(thin, axis=0)).mean()
    with pytest.raises(ValueError, match="width must be > 0"):
        lines_object(64, width=0)


def test_extraction_and_stitching_share_one_placement():
    """Patches cut and stitched back reproduce the object where covered.

    With N even the patch centre is the half-integer (N-1)/2, so positions k + 0.5 put every sample on a
    pixel (no interpolation), and the round trip must be exact.
    """
    obj = lines_object(64, seed=2)
    positions = np.floor(grid_positions((64, 64), 16, 5.0)) + 0.5
    patches = extract_patches(obj, positions, 16)
    stitched = reassemble_position(
        patches[..., None].astype(np.complex64), positions.reshape(-1, 1, 2, 1), (64, 64)
    ).numpy()
    covered = stitched != 0
    assert covered.mean() > 0.8
    np.testing.assert_allclose(stitched[covered], obj[covered], atol=1e-5)


def test_grouping_fields_and_npz_round_trip(tmp_path):
    obj = lines_object(64, seed=0)
    probe = get_default_probe(16)
    positions = random_positions((64, 64), 16, 60, seed=4)
    raw = RawData(
        positions[:, 0],
        positions[:, 1],
        simulate_diffraction(obj, probe, positions, 1e5),
        probe,
        objectGuess=obj,
    )
    path = tmp_path / "scan.npz"
    raw.to_file(path)
    with np.load(path) as npz:
        assert {"xcoords", "ycoords", "diff3d", "probeGuess", "objectGuess"} <= set(npz.files)
    again = RawData.from_file(path)
    np.testing.assert_array_equal(again.diff3d, raw.diff3d)
    np.testing.assert_array_equal(again.objectGuess, raw.objectGuess)

    grouped = again.generate_grouped_data(16, K=6, nsamples=25, gridsize=2, seed=3)
    c = 4
    assert grouped.diffraction.shape == (25, 16, 16, c) and grouped.nn_indices.shape == (25, c)
    for g in range(25):
        idx = grouped.nn_indices[g]
        assert len(set(idx)) == c
        np.testing.assert_allclose(grouped.coords_nn[g, 0, 0], positions[idx, 0], rtol=1e-6)
        np.testing.assert_allclose(grouped.coords_nn[g, 0, 1], positions[idx, 1], rtol=1e-6)
        np.testing.assert_array_equal(grouped.diffraction[g], np.transpose(raw.diff3d[idx], (1, 2, 0)))
        np.testing.assert_allclose(
            grouped.Y[g], np.transpose(extract_patches(obj, positions[idx], 16), (1, 2, 0)), atol=1e-6
        )
    np.testing.assert_allclose(grouped.coords_relative.mean(axis=3), 0, atol=1e-4)
    np.testing.assert_allclose(grouped.coords_relative + grouped.coords_offsets, grouped.coords_nn, atol=1e-4)


def test_loader_normalises_and_scales():
    obj = lines_object(64, seed=0)
    probe = get_default_probe(16)
    positions = random_positions((64, 64), 16, 60, seed=4)
    raw = RawData(positions[:, 0], positions[:, 1], simulate_diffraction(obj, probe, positions, 1e6), probe)
    data = PtychoDataContainer.from_grouped(
        raw.generate_grouped_data(16, K=6, nsamples=30, gridsize=2),
        probe,
        1e6,
        ModelConfig(N=16, gridsize=2, max_offset=30),
    )
    energy = (data.X.astype(np.float64) ** 2).sum(axis=(1, 2)).mean()
    assert energy == pytest.approx(8**2, rel=1e-5)
    counts = (data.X * data.intensity_scale) ** 2
    assert counts.sum(axis=(1, 2)).mean() == pytest.approx(1e6, rel=1e-5)
    (x, coords), (amplitude, intensity) = next(iter(data.as_dataset(7)))
    assert x.shape == (7, 16, 16, 4) and coords.shape == (7, 1, 2, 4)
    np.testing.assert_allclose(intensity.numpy(), amplitude.numpy() ** 2, rtol=1e-6)


def test_legacy_dict_view():
    cfg = dict(params.cfg)
    update_legacy_dict(cfg, TrainingConfig(gridsize=2, N=64, nphotons=1e4))
    assert cfg["N"] == 64 and cfg["gridsize"] == 2 and cfg["nphotons"] == 1e4


@pytest.mark.slow
def test_train_eval_writes_history_and_stitches(tmp_path):
    from ptycho.training import train_eval

    n = 16
    obj = lines_object(48, seed=0)
    probe = get_default_probe(n)
    positions = grid_positions((48, 48), n, 4.0)
    raw = RawData(positions[:, 0], positions[:, 1], simulate_diffraction(obj, probe, positions, 1e6), probe)
    model = ModelConfig(N=n, gridsize=1, n_filters_scale=1, max_offset=0, translate_backend="v3")
    data = PtychoDataContainer.from_grouped(
        raw.generate_grouped_data(n, K=1, nsamples=20, gridsize=1), probe, 1e6, model
    )
    config = TrainingConfig(model=model, nepochs=2, batch_size=8, nphotons=1e6)
    _, stitched = train_eval(data, data, config, (48, 48), output_dir=tmp_path)
    history = json.loads((tmp_path / "history.json").read_text())
    assert len(history["loss"]) == 2 and all(np.isfinite(history["loss"]))
    assert stitched.shape == (48, 48) and np.isfinite(stitched).all()
