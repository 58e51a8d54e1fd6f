"""PtychoPINN's public TF API on this stack (ptycho.compat, at the old module paths).

Expected values come from PtychoPINN's documented behaviour (docs/compat/ptychopinn-api.md) and from
independent NumPy references (slicing, np.roll-free placement by index), never from the code under
test. Where PtychoPINN gave a silent wrong answer, the test states the refusal instead.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
import tensorflow as tf

from ptycho import params
from ptycho import projective_warp_xla as pw
from ptycho import raw_data as rd
from ptycho import tf_helper as hh


@pytest.fixture(autouse=True)
def legacy_dict():
    """Every test sees PtychoPINN's defaults and leaves the legacy dict as it found it."""
    saved, sealed = dict(params.cfg), params.is_sealed()
    params.cfg.clear()
    params.cfg.update(params.DEFAULT_CFG)
    params.unseal()
    yield params.cfg
    params.cfg.clear()
    params.cfg.update(saved)
    (params.seal if sealed else params.unseal)()


def delta(batch: int, size: int, y: int, x: int, dtype=np.float32) -> np.ndarray:
    img = np.zeros((batch, size, size, 1), dtype)
    img[:, y, x, 0] = 1
    return img


# --- params ----------------------------------------------------------------------------------------


def test_params_defaults_derived_sizes_and_get_with_default():
    assert params.get("N") == 128 and params.get("gridsize") == 2 and params.get("nphotons") == 1e9
    assert params.get("no_such_key", "fallback") == "fallback"
    with pytest.raises(KeyError, match="no_such_key"):
        params.get("no_such_key")
    params.set("N", 64)
    assert params.get("bigN") == 64 + 4 and params.get_padded_size() == 78  # N + (g-1)*offset + jitter
    params.set("gridsize", 1)
    assert params.get_padded_size() == 74
    assert params.params()["bigN"] == 64 and params.params() is not params.cfg
    del params.cfg["nepochs"]
    assert params.get("nepochs") == 60  # PtychoPINN re-inserts a deleted default on read


def test_params_seal_warns_on_a_write_outside_the_whitelist_and_refuses_invalid_values(caplog):
    params.seal()
    with caplog.at_level(logging.WARNING, logger="ptycho.params"):
        params.set("intensity_scale", 2.0)
        assert not caplog.records
        params.set("gridsize", 1)
        assert "post-seal" in caplog.text and "gridsize" in caplog.text
    params.unseal()
    with pytest.raises(ValueError, match="data_source"):
        params.set("data_source", "unknown")
    assert params.cfg["data_source"] == "generic"  # the refused write left nothing behind


# --- projective_warp_xla ---------------------------------------------------------------------------


def test_tfa_params_to_3x3_rows_and_refusal():
    m = pw.tfa_params_to_3x3(tf.constant([[1, 2, 3, 4, 5, 6, 7, 8]], tf.float64))
    assert m.dtype == tf.float64
    np.testing.assert_array_equal(m.numpy()[0], [[1, 2, 3], [4, 5, 6], [7, 8, 1]])
    with pytest.raises(ValueError, match=r"\[B,8\]"):
        pw.tfa_params_to_3x3(tf.zeros([2, 7]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128])
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_translate_xla_moves_content_by_plus_t_and_keeps_the_dtype(dtype, interpolation):
    images = delta(2, 11, 5, 5, dtype) * (1 + 1j if np.iscomplexobj(dtype(0)) else 1)
    t = np.array([[2, 1], [-3, 0]], np.float64 if dtype in (np.float64, np.complex128) else np.float32)
    jit = pw.translate_xla(images, t, interpolation=interpolation, use_jit=True)
    plain = pw.translate_xla(images, t, interpolation=interpolation, use_jit=False)
    assert jit.dtype == tf.as_dtype(dtype)
    expected = np.zeros_like(images)
    expected[0, 5 + 1, 5 + 2, 0] = images[0, 5, 5, 0]  # row y + dy, column x + dx
    expected[1, 5, 5 - 3, 0] = images[1, 5, 5, 0]
    np.testing.assert_allclose(jit.numpy(), expected, atol=1e-6)
    np.testing.assert_allclose(plain.numpy(), expected, atol=1e-6)


def test_projective_warp_accepts_8_parameters_and_3x3_matrices_alike_with_edge_fill_by_default():
    rng = np.random.default_rng(0)
    images = rng.random((3, 12, 10, 2)).astype(np.float32)
    params8 = np.array([[1, 0.1, -1.5, 0.05, 1, 2.0, 1e-3, 0]] * 3, np.float32)
    a = pw.projective_warp_xla(images, params8)
    b = pw.projective_warp_xla(images, pw.tfa_params_to_3x3(params8) * 2.0)  # a matrix up to scale
    np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5)
    np.testing.assert_allclose(a.numpy(), pw.projective_warp_xla_jit(images, params8).numpy(), atol=1e-5)
    constant = np.full((1, 6, 6, 1), 3.0, np.float32)
    far = np.array([[1, 0, 4.5, 0, 1, -4.5, 0, 0]], np.float32)
    np.testing.assert_allclose(pw.projective_warp_xla(constant, far).numpy(), 3.0)  # edge: no zeros
    assert np.all(pw.projective_warp_xla(constant, far, fill_mode="zeros").numpy()[0, :4] == 0)
    ints = pw.projective_warp_xla((images * 100).astype(np.int32), params8)
    assert ints.dtype == tf.int32 and ints.shape == images.shape
    with pytest.raises(ValueError, match=r"\[B,3,3\] or \[B,8\]"):
        pw.projective_warp_xla(images, np.zeros((3, 2, 3), np.float32))


def test_a_translation_batch_unlike_the_image_batch_is_refused_not_cycled():
    """The 778752 incident: 16 translations for 64 flat patches; PtychoPINN cycled them by modulo."""
    images = np.zeros((64, 8, 8, 1), np.float32)
    with pytest.raises(ValueError, match="cycled or repeated"):
        pw.translate_xla(images, np.zeros((16, 2), np.float32))
    with pytest.raises(ValueError, match="batch 16"):
        hh.translate_core(images, np.zeros((16, 2), np.float32))


# --- tf_helper: translation ------------------------------------------------------------------------


def test_translate_core_moves_content_the_same_way_on_every_path(monkeypatch):
    images = delta(1, 9, 4, 4)
    t = np.array([[1.0, -2.0]], np.float32)
    expected = np.zeros_like(images)
    expected[0, 2, 5, 0] = 1
    results = [hh.translate_core(images, t, use_xla_workaround=True)]
    monkeypatch.setenv("USE_XLA_TRANSLATE", "0")  # PtychoPINN's non-XLA path moved content by -t
    assert hh.should_use_xla() is False
    results.append(hh.translate_core(images, t))
    results.append(hh.translate(tf.complex(images, images), t)[..., :1])
    for result in results:
        np.testing.assert_allclose(np.real(result.numpy()), expected, atol=1e-6)
    with pytest.raises(TypeError, match="unexpected keyword"):
        hh.translate(images, t, jitter=1.0)
    assert hh.translate(images.astype(np.complex128), t).dtype == tf.complex128  # not cast to complex64


# --- tf_helper: layouts ----------------------------------------------------------------------------


def test_layout_round_trips_and_the_channel_order():
    g, n, b = 2, 4, 3
    params.set("gridsize", g)
    params.set("N", n)
    flat = np.arange(b * g * g * n * n, dtype=np.float32).reshape(b * g * g, n, n, 1)
    grid = hh._togrid(flat)
    assert grid.shape == (b, g, g, n, n, 1)
    channels = hh._grid_to_channel(grid).numpy()
    for k in range(b):
        for c in range(g * g):  # channel c is grid row c // g, column c % g, flat row k*C + c
            np.testing.assert_array_equal(channels[k, :, :, c], flat[k * g * g + c, :, :, 0])
            np.testing.assert_array_equal(grid.numpy()[k, c // g, c % g], flat[k * g * g + c])
    np.testing.assert_array_equal(hh._channel_to_flat(channels).numpy(), flat)
    np.testing.assert_array_equal(hh._flat_to_channel(flat).numpy(), channels)
    offsets = np.arange(b * 2 * g * g, dtype=np.float32).reshape(b, 1, 2, g * g)
    np.testing.assert_array_equal(
        hh.flatten_offsets(offsets).numpy(), np.transpose(offsets[:, 0], (0, 2, 1)).reshape(-1, 2)
    )
    with pytest.raises(ValueError, match="whole groups"):
        hh._flat_to_channel(flat[:5])


def test_trim_pad_and_masks():
    x = np.arange(2 * 8 * 8).reshape(2, 8, 8, 1).astype(np.float32)
    assert hh.trim_reconstruction(x, 8) is not None and hh.trim_reconstruction(x, 8).shape == x.shape
    np.testing.assert_array_equal(hh.trim_reconstruction(x, 4).numpy(), x[:, 2:6, 2:6])
    with pytest.raises(ValueError, match="even"):
        hh.trim_reconstruction(x, 5)
    assert hh.pad_patches(x[:, :4, :4], padded_size=10).shape == (2, 10, 10, 1)
    assert hh.pad(x, 3).shape == (2, 14, 14, 1)
    mask = hh.mk_centermask(np.zeros((2, 8, 8, 3)), 8, 3).numpy()
    assert mask.shape == (2, 8, 8, 3) and mask.sum() == 2 * 3 * 16 and mask[0, 2:6, 2:6].all()
    border = hh.mk_centermask(np.zeros((1, 8, 8, 1)), 8, 1, kind="border").numpy()
    np.testing.assert_array_equal(border + mask[:1, ..., :1], 1)
    np.testing.assert_array_equal(hh.get_mask(np.array([0.1, 0.6]), 0.5).numpy(), [0, 1])
    z = hh.combine_complex(np.float32(2.0), np.float32(np.pi / 2)).numpy()
    assert z.dtype == np.complex64 and abs(z - 2j) < 1e-6


def test_pad_and_diffract_keeps_the_energy():
    rng = np.random.default_rng(1)
    waves = (rng.random((2, 8, 8, 1)) * np.exp(1j * rng.random((2, 8, 8, 1)))).astype(np.complex64)
    padded, amplitude = hh.pad_and_diffract(waves, 8, 8, pad=False)
    assert padded.shape == (2, 8, 8, 1) and amplitude.shape == (2, 8, 8, 1)
    np.testing.assert_allclose(
        np.sum(amplitude.numpy() ** 2, axis=(1, 2, 3)), np.sum(np.abs(waves) ** 2, axis=(1, 2, 3)), rtol=1e-5
    )
    padded, amplitude = hh.pad_and_diffract(waves, 8, 8)
    assert padded.shape == (2, 12, 12, 1) and amplitude.shape == (2, 12, 12, 1)


# --- tf_helper: per-group reassembly and extraction (PtychoPINN's offset sign) ---------------------


def place(patch: np.ndarray, at_y: int, at_x: int, size: int) -> np.ndarray:
    """NumPy reference: an N x N patch with its pixel (N/2 - 1/2) at canvas (size - 1)/2 + (at_y, at_x)."""
    n = patch.shape[0]
    canvas = np.zeros((size, size), patch.dtype)
    top, left = (size - n) // 2 + at_y, (size - n) // 2 + at_x
    canvas[top : top + n, left : left + n] = patch
    return canvas


def test_reassembly_places_each_patch_at_minus_its_offset_and_extraction_undoes_it():
    rng = np.random.default_rng(2)
    b, n, g, size = 3, 8, 2, 20
    patches = rng.random((b, n, n, g * g)).astype(np.float32)
    offsets = rng.integers(-5, 6, (b, 1, 2, g * g)).astype(np.float32)  # centroid - position
    canvas = hh._reassemble_patches_position_real(patches, offsets, padded_size=size).numpy()
    per_patch = hh._reassemble_patches_position_real(patches, offsets, agg=False, padded_size=size).numpy()
    assert canvas.shape == (b, size, size, 1) and per_patch.shape == (b, size, size, g * g)
    for k in range(b):
        expected = sum(
            place(patches[k, :, :, c], -int(offsets[k, 0, 1, c]), -int(offsets[k, 0, 0, c]), size)
            for c in range(g * g)
        )
        np.testing.assert_allclose(canvas[k, :, :, 0], expected, atol=1e-5)
    # extraction cuts each channel's own canvas at +offset: the patch comes back
    for c in range(g * g):
        flat = hh.extract_patches_position(
            per_patch[..., c : c + 1], offsets[..., c : c + 1], N=n, gridsize=1
        )
        assert flat.shape == (b, n, n, 1)
        np.testing.assert_allclose(flat.numpy()[..., 0], patches[..., c], atol=1e-5)
    flat = hh.extract_patches_position(canvas, offsets, N=n, gridsize=g)
    assert flat.shape == (b * g * g, n, n, 1)  # flat, group-major, as PtychoPINN returned


def test_batched_reassembly_keeps_one_canvas_per_group_where_ptychopinn_merged_them():
    """B*C = 128 >= 64: PtychoPINN's batched branch summed all 32 groups into one canvas."""
    rng = np.random.default_rng(3)
    b, n, c, size = 32, 8, 4, 16
    patches = rng.random((b, n, n, c)).astype(np.float32)
    offsets = rng.uniform(-3, 3, (b, 1, 2, c)).astype(np.float32)
    batched = hh._reassemble_position_batched(patches, offsets, size, batch_size=64).numpy()
    assert batched.shape == (b, size, size, 1)
    for k in (0, 17, 31):
        alone = hh._reassemble_patches_position_real(patches[k : k + 1], offsets[k : k + 1], padded_size=size)
        np.testing.assert_allclose(batched[k], alone.numpy()[0], atol=1e-5)
    fn = hh.mk_reassemble_position_batched_real(offsets, batch_size=64, padded_size=size)
    np.testing.assert_allclose(fn(patches).numpy(), batched, atol=1e-6)


def test_reassembly_refuses_offsets_beyond_the_canvas_and_mismatched_batches():
    patches = np.ones((2, 8, 8, 1), np.float32)
    with pytest.raises(ValueError, match="margin"):
        hh._reassemble_patches_position_real(patches, np.full((2, 1, 2, 1), 7.0, np.float32), padded_size=12)
    with pytest.raises(ValueError, match="batch"):
        hh._reassemble_patches_position_real(patches, np.zeros((1, 1, 2, 1), np.float32), padded_size=12)


# --- tf_helper: stitching a data set ---------------------------------------------------------------


def test_reassemble_position_averages_overlaps_into_one_complex_image():
    rng = np.random.default_rng(4)
    n, m = 16, 8
    patch = (rng.random((n, n)) + 1j * rng.random((n, n))).astype(np.complex64)
    same = np.repeat(patch[None, :, :, None], 3, axis=0)
    at = np.full((3, 1, 2, 1), 50.0)  # identical patches at one offset average to themselves
    out = hh.reassemble_position(same, at, M=m)
    assert out.shape == (m, m, 1) and out.dtype == tf.complex64
    np.testing.assert_allclose(out.numpy()[..., 0], patch[4:12, 4:12], atol=1e-6)
    # two crops 4 px apart along x on a 12-px canvas: columns 0-7 and 4-11, rows 2-9
    pair = np.stack([np.full((n, n), 1.0), np.full((n, n), 3.0)]).astype(np.complex64)[..., None]
    offsets = np.array([[10.0, 20.0], [14.0, 20.0]]).reshape(2, 1, 1, 2)  # PtychoPINN's other layout
    out = hh.reassemble_position(pair, offsets, M=m).numpy()[..., 0]
    assert out.shape == (8 + 2 * 2, 8 + 2 * 2)  # pad = ceil(max |centred offset|) = 2, even
    row = out[6].real
    np.testing.assert_allclose(row, [1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3], atol=1e-6)  # 4 overlap
    assert np.all(out[:2] == 0)  # rows no crop reaches


@pytest.mark.parametrize(
    "patches, offsets, M, message",
    [
        (np.ones((3, 8, 8, 1), np.complex64), np.zeros((2, 1, 2, 1)), 4, "one offset per patch"),
        (np.ones((2, 8, 8, 1), np.complex64), np.zeros((2, 2)), 4, r"\(n, 1, 2, 1\)"),
        (np.ones((2, 8, 8, 1), np.complex64), np.zeros((2, 1, 2, 1)), 5, "odd M"),
        (np.ones((2, 8, 8, 1), np.complex128), np.zeros((2, 1, 2, 1)), 4, "complex128"),
    ],
)
def test_reassemble_position_refuses_what_ptychopinn_misaligned_or_cropped(patches, offsets, M, message):
    with pytest.raises(ValueError, match=message):
        hh.reassemble_position(patches, offsets, M=M)


# --- raw_data --------------------------------------------------------------------------------------


def scan(n_side: int = 6, N: int = 8, step: float = 3.0, seed: int = 5):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:n_side, :n_side] * step + N
    x, y = x.ravel().astype(np.float64), y.ravel().astype(np.float64)
    size = int(step * n_side + 2 * N)
    obj = (rng.random((size, size)) * np.exp(1j * rng.random((size, size)))).astype(np.complex64)
    diff = rng.random((len(x), N, N)).astype(np.float32)
    probe = np.ones((N, N), np.complex64)
    return x, y, diff, probe, obj


def test_rawdata_checks_lengths_and_round_trips_ptychopinn_keys(tmp_path):
    x, y, diff, probe, obj = scan()
    with pytest.raises(ValueError, match="diff3d"):
        rd.RawData(x, y, x, y, diff[:-1], probe, np.zeros(len(x)))
    with pytest.raises(ValueError, match="one shape"):
        rd.RawData(x, y, x[:-1], y, diff, probe, np.zeros(len(x)))
    raw = rd.RawData(x, y, x, y, diff, probe, np.arange(len(x)), objectGuess=obj, metadata={"nphotons": 1e5})
    raw.to_file(tmp_path / "scan.npz")
    with np.load(tmp_path / "scan.npz") as f:
        assert {
            "xcoords",
            "ycoords",
            "xcoords_start",
            "ycoords_start",
            "diff3d",
            "probeGuess",
            "objectGuess",
            "scan_index",
        } <= set(f.files)
    back = rd.RawData.from_file(tmp_path / "scan.npz")
    np.testing.assert_array_equal(back.diff3d, diff)
    np.testing.assert_array_equal(back.xcoords_start, x)
    np.testing.assert_array_equal(back.objectGuess, obj)
    assert back.metadata["nphotons"] == 1e5
    np.savez(tmp_path / "minimal.npz", xcoords=x, ycoords=y, diff3d=diff, probeGuess=probe)
    minimal = rd.RawData.from_file(tmp_path / "minimal.npz")  # start coordinates default to the coordinates
    np.testing.assert_array_equal(minimal.ycoords_start, y)
    assert minimal.objectGuess is None and np.all(minimal.scan_index == 0)


def test_grouped_data_has_ptychopinns_keys_shapes_and_offset_sign():
    x, y, diff, probe, obj = scan()
    raw = rd.RawData.from_coords_without_pc(x, y, diff, probe, np.zeros(len(x)), objectGuess=obj)
    params.set("gridsize", 2)  # read from the legacy dict when gridsize is not given
    dset = raw.generate_grouped_data(8, K=6, nsamples=10, seed=1)
    b, c = 10, 4
    assert dset["diffraction"].shape == (b, 8, 8, c) and dset["X_full"].shape == (b, 8, 8, c)
    assert dset["coords_nn"].shape == (b, 1, 2, c) and dset["coords_offsets"].shape == (b, 1, 2, 1)
    assert dset["coords_relative"].shape == (b, 1, 2, c) and dset["nn_indices"].shape == (b, c)
    assert dset["nn_indices"].dtype == np.int32 and dset["Y"].shape == (b, 8, 8, c)
    np.testing.assert_array_equal(dset["objectGuess"], obj)
    idx = dset["nn_indices"]
    np.testing.assert_array_equal(dset["coords_nn"][:, 0, 0, :], x[idx])
    np.testing.assert_array_equal(dset["coords_nn"][:, 0, 1, :], y[idx])
    np.testing.assert_allclose(dset["coords_offsets"][..., 0], dset["coords_nn"].mean(axis=3))
    np.testing.assert_allclose(dset["coords_relative"], dset["coords_offsets"] - dset["coords_nn"])
    np.testing.assert_allclose(dset["coords_start_relative"], dset["coords_relative"])
    for k in range(b):
        for ch in range(c):
            np.testing.assert_array_equal(dset["diffraction"][k, :, :, ch], diff[idx[k, ch]])
            # each ground-truth channel at its own position: obj[y - N/2 : y + N/2, x - N/2 : x + N/2]
            px, py = int(x[idx[k, ch]]), int(y[idx[k, ch]])
            np.testing.assert_allclose(
                dset["Y"][k, :, :, ch], obj[py - 4 : py + 4, px - 4 : px + 4], atol=1e-6
            )
    energy = np.mean(np.sum(dset["X_full"].astype(np.float64) ** 2, axis=(1, 2)))
    assert energy == pytest.approx((8 / 2) ** 2, rel=1e-5)
    for k in range(b):  # C of the K nearest neighbours of one position
        members = set(idx[k].tolist())
        assert len(members) == c
        near = [set(rd.get_neighbor_indices(x, y, K=6)[i].tolist()) for i in range(len(x))]
        assert any(members <= hood for hood in near)


def test_grouping_is_seeded_locally_sequential_on_request_and_refuses_silent_caps():
    x, y, diff, probe, _ = scan()
    raw = rd.RawData(x, y, x, y, diff, probe, np.zeros(len(x)))
    state = np.random.get_state()
    a = raw.generate_grouped_data(8, K=4, nsamples=7, seed=3, gridsize=2)
    b = raw.generate_grouped_data(8, K=4, nsamples=7, seed=3, gridsize=2)
    np.testing.assert_array_equal(a["nn_indices"], b["nn_indices"])
    assert np.all(np.random.get_state()[1] == state[1])  # PtychoPINN re-seeded the global RNG
    single = raw.generate_grouped_data(8, nsamples=5, sequential_sampling=True, gridsize=1)
    np.testing.assert_array_equal(single["nn_indices"][:, 0], np.arange(5))
    assert single["Y"] is None
    with pytest.raises(ValueError, match="K=3 must be >= C=4"):
        raw.generate_grouped_data(8, K=3, nsamples=4, gridsize=2)
    with pytest.raises(ValueError, match="enable_oversampling"):
        raw.generate_grouped_data(8, nsamples=len(x) + 1, gridsize=1)  # PtychoPINN capped it silently
    over = raw.generate_grouped_data(8, K=4, nsamples=len(x) + 5, gridsize=2, enable_oversampling=True)
    assert over["nn_indices"].shape == (len(x) + 5, 4)
    with pytest.raises(ValueError, match="differs from the data"):
        raw.generate_grouped_data(16, nsamples=2, gridsize=1)
    moved = rd.RawData(x + 0.5, y, x, y, diff, probe, np.zeros(len(x)))
    with pytest.raises(ValueError, match="start"):
        moved.generate_grouped_data(8, nsamples=2, gridsize=1)


def test_relative_coords_neighbours_and_patches_at_their_own_positions():
    coords_nn = np.array([[[[0.0, 4.0], [2.0, 2.0]]]])  # one group of two: (0, 2) and (4, 2)
    centroid, relative = rd.get_relative_coords(coords_nn)
    np.testing.assert_allclose(centroid[..., 0], [[[2.0, 2.0]]])
    np.testing.assert_allclose(relative, [[[[2.0, -2.0], [0.0, 0.0]]]])  # centroid - position
    hood = rd.get_neighbor_indices(np.array([0.0, 10, 1, 20]), np.zeros(4), K=2)
    assert hood.shape == (4, 3) and list(hood[0]) == [0, 2, 1]
    image = np.arange(40 * 40, dtype=np.float32).reshape(40, 40)
    xs, ys = [12, 20, 14, 25], [15, 17, 24, 12]
    nn = np.array([xs, ys], np.float64)[None, None]  # (1, 1, 2, 4)
    centroid, relative = rd.get_relative_coords(nn)
    patches = rd.get_image_patches(image, centroid, relative, N=8, gridsize=2)
    assert patches.shape == (1, 8, 8, 4) and patches.dtype == np.complex64
    for c, (px, py) in enumerate(zip(xs, ys)):  # not at 2 * centroid - position, PtychoPINN's cut
        np.testing.assert_allclose(patches[0, :, :, c].real, image[py - 4 : py + 4, px - 4 : px + 4])
    dset = {"diffraction": np.full((2, 8, 8, 1), 3.0, np.float32)}
    np.testing.assert_allclose(rd.normalize_data(dset, 8), 0.5)  # sum X^2 = 64 * 0.25 = (N/2)^2


def test_the_translation_layer_moves_by_plus_t_and_a_call_jitter_does_not_stick():
    layer = hh.Translation()
    images = delta(1, 9, 4, 4)
    moved = layer([images, np.array([[2.0, 0.0]], np.float32)]).numpy()
    assert moved[0, 4, 6, 0] == pytest.approx(1.0, abs=1e-6)
    noisy = layer([images, np.zeros((1, 2), np.float32), tf.constant(3.0)])  # Keras 3: a tensor
    assert noisy.shape == images.shape and layer.jitter_stddev == 0.0  # PtychoPINN kept the 3.0
    again = layer([images, np.zeros((1, 2), np.float32)]).numpy()
    np.testing.assert_allclose(again, images, atol=1e-6)
    assert hh.Translation.from_config(hh.Translation(jitter_stddev=0.5).get_config()).jitter_stddev == 0.5
