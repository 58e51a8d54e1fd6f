"""PtychoPINN's config, loader, diffsim, probe, model bundle and workflow helpers on this stack, in
process (tests/test_compat_scripts.py runs its scripts as a user does).

Expected values come from PtychoPINN's documented behaviour (docs/compat/ptychopinn-api.md) or from
NumPy written here.
"""

from __future__ import annotations

import argparse
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest

from ptycho import diffsim, loader, model_manager, params, train_pinn
from ptycho import probe as legacy_probe
from ptycho.config import config as cfgmod
from ptycho.config.config import ModelConfig, TrainingConfig
from ptycho.raw_data import RawData
from ptycho.workflows import components

from .compat_data import scans as scans


@pytest.fixture(autouse=True)
def legacy_dict():
    saved = dict(params.cfg)
    params.cfg.clear()
    params.cfg.update(params.DEFAULT_CFG)
    yield params.cfg
    params.cfg.clear()
    params.cfg.update(saved)


# --- config ----------------------------------------------------------------------------------------


def test_config_takes_ptychopinn_fields_and_refuses_what_is_not_implemented_by_name():
    config = TrainingConfig(
        model=ModelConfig(N=64, gridsize=2, architecture="cnn", object_big=True),
        train_data_file="train.npz",
        mae_weight=1.0,
        nll_weight=0.0,
        sequential_sampling=True,
    )
    assert config.loss == "mae" and config.train_data_file == Path("train.npz") and config.sequential_sampling
    assert config.model.architecture == "cnn"
    with pytest.raises(ValueError, match="architecture='fno' is not supported"):
        ModelConfig(architecture="fno")
    with pytest.raises(ValueError, match="probe_trainable=True is not supported"):
        TrainingConfig(probe_trainable=True)
    with pytest.raises(ValueError, match="one loss at a time"):
        TrainingConfig(mae_weight=0.5, nll_weight=0.5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert TrainingConfig(n_images=100).n_groups == 100
    assert any(issubclass(w.category, DeprecationWarning) for w in caught)
    cfgmod.validate_model_config(ModelConfig(N=64))
    with pytest.raises(ValueError, match="power of two"):
        cfgmod.validate_training_config(TrainingConfig(batch_size=12))


def test_update_legacy_dict_uses_ptychopinns_names_and_leaves_no_stale_value():
    cfg = dict(params.DEFAULT_CFG, test_data_file_path="old_test.npz")
    config = TrainingConfig(
        model=ModelConfig(N=64, gridsize=1, probe_mask=True), output_dir="out", loss="mae"
    )
    cfgmod.update_legacy_dict(cfg, config)
    assert cfg["N"] == 64 and cfg["gridsize"] == 1 and cfg["probe.mask"] is True and cfg["object.big"] is True
    assert cfg["output_prefix"] == "out" and cfg["mae_weight"] == 1.0 and cfg["nll_weight"] == 0.0
    assert cfg["test_data_file_path"] is None  # PtychoPINN skipped None and kept "old_test.npz"


def test_yaml_then_flags_a_flag_not_given_never_overrides_the_file(tmp_path):
    yaml_file = tmp_path / "run.yaml"
    yaml_file.write_text("nepochs: 7\nbatch_size: 8\nmodel:\n  N: 64\n  gridsize: 2\n")
    given = argparse.Namespace(batch_size=32)  # as the scripts' parser leaves it: only flags given
    config = components.setup_configuration(given, yaml_file)
    assert (config.nepochs, config.batch_size, config.N, config.gridsize) == (7, 32, 64, 2)
    assert config.neighbor_count == 4  # PtychoPINN's default, not this stack's 7
    assert params.get("nepochs") == 7  # bridged into the legacy dict
    yaml_file.write_text("nepochs: 7\nno_such_field: 1\n")
    with pytest.raises(ValueError, match="no_such_field"):
        components.setup_configuration(argparse.Namespace(), yaml_file)


def test_the_scripts_read_booleans_strictly():
    from ptycho.compat.scripts import train_parser

    parser = train_parser()
    assert parser.parse_args(["--probe_mask", "false"]).probe_mask is False  # PtychoPINN: bool("false")
    assert parser.parse_args(["--sequential_sampling", "1"]).sequential_sampling is True
    assert parser.parse_args(["--N", "64"]).N == 64  # PtychoPINN refused "64" against int choices
    with pytest.raises(SystemExit):
        parser.parse_args(["--probe_mask", "maybe"])


# --- probe and diffsim -----------------------------------------------------------------------------


def test_default_probe_is_a_blurred_disk_of_radius_about_a_sixth_of_n():
    probe = legacy_probe.get_default_probe(64, fmt="np")
    assert probe.shape == (64, 64) and probe.dtype == np.float64
    tf_probe = legacy_probe.get_default_probe(64)
    assert tuple(tf_probe.shape) == (64, 64, 1) and tf_probe.dtype.name == "complex64"
    radius = np.sqrt((probe > 0.5).sum() / np.pi)
    assert 0.15 * 64 < radius < 0.19 * 64  # threshold 0.5 of two Gaussian windows, std 64 / (0.7 pi^2)
    assert probe.min() > 0 and probe.max() <= 1 + 1e-9
    with pytest.raises(ValueError, match="fmt"):
        legacy_probe.get_default_probe(64, fmt="torch")
    legacy_probe.set_default_probe()
    assert tuple(params.get("probe").shape) == (128, 128, 1)


def test_scale_nphotons_and_simulated_counts():
    rng = np.random.default_rng(0)
    obj = rng.random((6, 8, 8, 4))
    params.set("nphotons", 1e5)
    expected = np.sqrt(1e5 / np.mean(np.sum(obj**2, axis=(1, 2))))
    assert diffsim.scale_nphotons(obj) == pytest.approx(expected)
    params.set("gridsize", 2)
    amplitude = rng.random((8, 16, 16, 1)) + 0.5
    phase = rng.random((8, 16, 16, 1))
    probe = np.ones((16, 16), np.complex64)
    X, Y_I, Y_phi, scale = diffsim.illuminate_and_diffract(amplitude, phase, probe, seed=3)
    assert X.shape == Y_I.shape == Y_phi.shape == (2, 16, 16, 4)
    counts = np.sum((X * scale) ** 2, axis=(1, 2))  # per pattern: sqrt(counts) / scale was returned
    assert counts.mean() == pytest.approx(1e5, rel=0.01)
    np.testing.assert_allclose(Y_I[0, :, :, 1], amplitude[1, :, :, 0], rtol=1e-6)  # |obj * probe|, channel 1
    with pytest.raises(ValueError, match="whole groups"):
        diffsim.illuminate_and_diffract(amplitude[:6], phase[:6], probe)


# --- loader ----------------------------------------------------------------------------------------


def _dset(scans) -> tuple[RawData, dict]:
    raw = RawData.from_file(scans[0])
    return raw, raw.generate_grouped_data(32, K=4, nsamples=20, gridsize=2, seed=0)


def test_load_gives_the_model_its_offsets_and_splits_every_array(scans):
    raw, dset = _dset(scans)
    params.set("nphotons", 1e6)
    container = loader.load(lambda: dset, raw.probeGuess, None, False)
    assert len(container) == 20 and tuple(container.X.shape) == (20, 32, 32, 4)
    np.testing.assert_allclose(
        np.asarray(container.coords_nominal), -dset["coords_start_relative"], atol=1e-6
    )
    assert container.intensity_scale == pytest.approx(np.sqrt(1e6) / 16)
    np.testing.assert_allclose(np.asarray(container.Y), dset["Y"], atol=1e-6)
    train = loader.load(lambda: (dset, 0.75), raw.probeGuess, "train", True)
    test = loader.load(lambda: (dset, 0.75), raw.probeGuess, "test", True)
    assert len(train) == 15 and len(test) == 5
    np.testing.assert_array_equal(test.nn_indices, dset["nn_indices"][15:])  # PtychoPINN kept them whole
    np.testing.assert_array_equal(test.global_offsets, dset["coords_offsets"][15:])
    (inputs, coords), (centred, amplitude, intensity) = next(iter(container.as_tf_dataset(8, shuffle=False)))
    assert inputs.shape == (8, 32, 32, 4) and coords.shape == (8, 1, 2, 4) and centred.shape == (8, 32, 32, 1)
    np.testing.assert_allclose(intensity.numpy(), amplitude.numpy() ** 2, rtol=1e-6)


def test_a_container_refuses_arrays_of_different_group_counts(scans):
    raw, dset = _dset(scans)
    X = dset["X_full"]
    coords = -dset["coords_relative"]
    with pytest.raises(ValueError, match="nn_indices"):
        loader.PtychoDataContainer(
            X, np.abs(X), 0 * X, None, None, coords, coords, dset["nn_indices"][:-1],
            dset["coords_offsets"], coords, raw.probeGuess,
        )  # fmt: skip


# --- the model bundle ------------------------------------------------------------------------------


def test_a_trained_model_round_trips_through_wts_h5_zip_with_its_own_scale(scans, tmp_path):
    raw, dset = _dset(scans)
    cfgmod.update_legacy_dict(
        params.cfg,
        TrainingConfig(
            model=ModelConfig(N=32, gridsize=2, n_filters_scale=1), nepochs=1, batch_size=16, nphotons=1e6
        ),
    )
    container = loader.load(lambda: dset, raw.probeGuess, None, False)
    autoencoder, history = train_pinn.train(container)
    assert len(history.history["loss"]) == 1 and np.isfinite(history.history["loss"]).all()
    archive = model_manager.save(tmp_path / "out")
    assert archive == tmp_path / "out" / "wts.h5.zip"
    with zipfile.ZipFile(archive) as z:
        assert {"model.keras", "model.json", "check.npz", "params.json"} <= set(z.namelist())
    params.set("N", 64)  # loading must not restore anything into the legacy dict
    model, config = components.load_inference_bundle(tmp_path / "out")
    assert params.get("N") == 64 and config["N"] == 32 and config["gridsize"] == 2
    assert config["intensity_scale"] == pytest.approx(
        float(np.exp(autoencoder.get_layer("intensity_scale").log_scale.numpy()))
    )
    models = model_manager.load_multiple_models(tmp_path / "out" / "wts.h5")
    assert set(models) == {"autoencoder", "diffraction_to_obj"}
    inputs = [np.asarray(container.X)[:3] * container.intensity_scale, np.asarray(container.coords)[:3]]
    np.testing.assert_allclose(
        model.predict(inputs, verbose=0), models["diffraction_to_obj"].predict(inputs, verbose=0)
    )


def test_a_ptychopinn_archive_of_pickles_is_refused(tmp_path):
    (tmp_path / "m").mkdir()
    with zipfile.ZipFile(tmp_path / "m" / "wts.h5.zip", "w") as z:
        z.writestr("manifest.dill", b"\x80\x04N.")
    with pytest.raises(ValueError, match="dill"):
        components.load_inference_bundle(tmp_path / "m")
    with pytest.raises(FileNotFoundError, match="wts.h5.zip"):
        components.load_inference_bundle(tmp_path)


def test_load_data_subsamples_in_scan_order_with_its_own_seed_and_flips(scans, tmp_path):
    full = components.load_data(scans[0])
    n = len(full.xcoords)
    a = components.load_data(scans[0], n_subsample=10, subsample_seed=4)
    b = components.load_data(scans[0], n_images=30, n_subsample=10, subsample_seed=4)  # n_subsample wins
    np.testing.assert_array_equal(a.sample_indices, b.sample_indices)
    assert len(a.xcoords) == 10 and np.all(np.diff(a.sample_indices) > 0)
    np.testing.assert_array_equal(a.diff3d, full.diff3d[a.sample_indices])
    np.testing.assert_array_equal(
        components.load_data(scans[0], n_images=7, subsample_seed=1).sample_indices.size, 7
    )
    flipped = components.load_data(scans[0], flip_x=True, swap_xy=True, coord_scale=2.0)
    np.testing.assert_allclose(flipped.ycoords, -2.0 * full.xcoords)
    np.testing.assert_allclose(flipped.xcoords, 2.0 * full.ycoords)
    with pytest.raises(ValueError, match=f"{n + 1} positions requested"):
        components.load_data(scans[0], n_subsample=n + 1)
    with np.load(scans[0]) as f:
        arrays = dict(f)
    arrays["diffraction"] = np.transpose(arrays.pop("diff3d"), (1, 2, 0))  # (N, N, n): not guessed
    np.savez(tmp_path / "transposed.npz", **arrays)
    with pytest.raises(ValueError, match="transpose it yourself"):
        components.load_data(tmp_path / "transposed.npz")


def test_the_model_factory_takes_ptychopinns_positional_call_and_shapes():
    from ptycho.model import create_model_with_gridsize

    autoencoder, diffraction_to_obj = create_model_with_gridsize(2, 32, n_filters_scale=1)
    assert [tuple(t.shape) for t in autoencoder.inputs] == [(None, 32, 32, 4), (None, 1, 2, 4)]
    assert [tuple(t.shape) for t in autoencoder.outputs] == [
        (None, 32, 32, 1),
        (None, 32, 32, 4),
        (None, 32, 32, 4),
    ]
    assert tuple(diffraction_to_obj.outputs[0].shape) == (None, 32, 32, 1)
    assert params.cfg == params.DEFAULT_CFG  # PtychoPINN's left its kwargs in params.cfg


def test_sequential_sampling_seeds_groups_in_scan_order_in_the_stack_too(scans):
    from ptycho.data.raw import RawData as StackRawData

    raw = StackRawData.from_file(scans[0])
    grouped = raw.generate_grouped_data(32, K=4, nsamples=12, gridsize=2, sequential=True)
    np.testing.assert_array_equal(grouped.nn_indices[:, 0], np.arange(12))  # the seed is each group's first


def test_from_raw_data_without_pc_and_train_eval(scans):
    raw = RawData.from_file(scans[0])
    cfgmod.update_legacy_dict(
        params.cfg,
        TrainingConfig(
            model=ModelConfig(N=32, gridsize=2, n_filters_scale=1), nepochs=1, batch_size=8, nphotons=1e6
        ),
    )
    train = loader.PtychoDataContainer.from_raw_data_without_pc(
        raw.xcoords,
        raw.ycoords,
        raw.diff3d,
        raw.probeGuess,
        raw.scan_index,
        raw.objectGuess,
        K=4,
        nsamples=16,
    )
    test = loader.PtychoDataContainer.from_raw_data_without_pc(
        raw.xcoords, raw.ycoords, raw.diff3d, raw.probeGuess, raw.scan_index, K=4, nsamples=8
    )
    assert len(train) == 16 and tuple(train.X.shape) == (16, 32, 32, 4) and not test.has_truth
    results = train_pinn.train_eval(loader.PtychoDataset(train, test))
    assert len(results["history"]["loss"]) == 1
    assert results["reconstructed_obj"].shape == (8, 32, 32, 1) and results["pred_amp"].shape == (
        8,
        32,
        32,
        4,
    )
    assert results["stitched_obj"].ndim == 3 and results["stitched_obj"].shape[-1] == 1


def test_ptychopinns_loss_weights_and_n_images_are_mapped_once():
    from dataclasses import replace

    config = TrainingConfig(mae_weight=1.0, nll_weight=0.0, n_images=64)
    assert config.loss == "mae" and config.n_groups == 64
    again = replace(config, loss="nll", n_groups=32)  # not undone by the weights given before
    assert again.loss == "nll" and again.n_groups == 32
    with pytest.raises(ValueError, match="disagrees"):
        TrainingConfig(loss="mae", mae_weight=0.0, nll_weight=1.0)


def test_create_compiled_model_called_as_ptychopinns_trains_on_as_tf_dataset(scans):
    from ptycho import model as legacy_model

    raw, dset = _dset(scans)
    cfgmod.update_legacy_dict(
        params.cfg, TrainingConfig(model=ModelConfig(N=32, gridsize=2, n_filters_scale=1), nphotons=1e6)
    )
    container = loader.load(lambda: dset, raw.probeGuess, None, False)
    autoencoder, diffraction_to_obj = legacy_model.create_compiled_model()  # two models, as PtychoPINN's
    history = autoencoder.fit(container.as_tf_dataset(8, seed=0), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert tuple(diffraction_to_obj.outputs[0].shape) == (None, 32, 32, 1)
    assert params.cfg.get("intensity_scale") is None  # nothing written back to the legacy dict
    stack = legacy_model.create_compiled_model(TrainingConfig(model=ModelConfig(N=32, gridsize=2)))
    assert len(stack) == 3  # this stack's call: (autoencoder, diffraction_to_obj, trainer)
