"""The tensor layer inside Keras (functional model, fit, predict), the backend switch, general warps."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

import contracts
from contracts import contract
from ptycho import params
from ptycho.tensors import layouts, reassembly, stitching, translation
from ptycho.tensors.layouts import _channel_to_flat, flatten_offsets
from ptycho.tensors.stitching import reassemble_position
from ptycho.tensors.translation import translate
from ptycho.tensors.translation.backend import BackendDecision
from ptycho.tensors.translation.warp import projective_warp_xla, projective_warp_xla_jit
from ptycho.tensors.translation.xla import translate_xla
from ptycho.tensors.vocabulary import ChannelImages, ChannelOffsets, FlatImages

from .test_tensor_layer import np_channel_to_flat, np_translate

pytestmark = pytest.mark.contracts


class FlatTranslate(keras.layers.Layer):
    """Channel patches + channel offsets -> patches translated by their offsets, flat layout."""

    def build(self, images_shape, offsets_shape):
        self.scale = self.add_weight(shape=(), initializer="ones", name="scale")

    @contract
    def call(self, images: ChannelImages, offsets: ChannelOffsets) -> FlatImages:
        return translate_xla(_channel_to_flat(images), flatten_offsets(offsets)) * self.scale


def _data(b=10, n=12, c=4, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.standard_normal((b, n, n, c)).astype("float32")
    offsets = rng.uniform(-3, 3, (b, 1, 2, c)).astype("float32")
    flat = np_channel_to_flat(images)
    expected = np_translate(flat, np.transpose(offsets, (0, 3, 2, 1)).reshape(-1, 2)).astype("float32")
    return images, offsets, expected


def _model(n=12, c=4):
    images = keras.Input((n, n, c))
    offsets = keras.Input((1, 2, c))
    return keras.Model([images, offsets], FlatTranslate()(images, offsets))


def test_reference_of_the_reference():
    """The per-row reference equals translating patch c of group b by offset c of group b."""
    images, offsets, expected = _data(b=2, c=4)
    for b in range(2):
        for c in range(4):
            one = np_translate(images[b : b + 1, :, :, c : c + 1], offsets[b, 0, :, c][None])[0]
            np.testing.assert_allclose(expected[b * 4 + c], one, atol=1e-6)


@pytest.mark.parametrize("batch_size", [1, 3, 10])
def test_inside_a_functional_model_predict(batch_size):
    images, offsets, expected = _data()
    out = _model().predict([images, offsets], batch_size=batch_size, verbose=0)
    # predict concatenates per-batch outputs of B*C rows: the group-major order is kept overall.
    np.testing.assert_allclose(out, expected, atol=1e-5)


@pytest.mark.parametrize("jit", [False, True])
def test_inside_fit_the_layer_output_equals_the_reference(jit):
    images, offsets, expected = _data()
    model = _model()
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="mse", jit_compile=jit)
    groups = tf.data.Dataset.from_tensor_slices(((images, offsets), expected.reshape(10, 4, 12, 12, 1)))
    data = groups.batch(4).map(lambda x, y: (x, tf.reshape(y, [-1, 12, 12, 1])))
    history = model.fit(data, epochs=1, verbose=0, shuffle=False)
    assert history.history["loss"][0] < 1e-10  # the loss inside fit compares with the reference
    np.testing.assert_allclose(model.predict([images, offsets], batch_size=4, verbose=0), expected, atol=1e-5)


class TestBackendSwitch:
    @pytest.fixture(autouse=True)
    def clean(self, monkeypatch):
        monkeypatch.delenv(translation.ENV_VAR, raising=False)
        monkeypatch.setitem(params.cfg, "use_xla_translate", None)

    def test_default_is_xla(self):
        assert translation.should_use_xla() == BackendDecision("xla", "default")
        assert (
            translation.decide_backend(None)
            == translation.decide_backend("auto")
            == BackendDecision("xla", "default")
        )

    @pytest.mark.parametrize(
        "raw, expected", [("0", False), ("false", False), ("no", False), ("1", True), ("yes", True)]
    )
    def test_environment_wins(self, monkeypatch, raw, expected):
        monkeypatch.setenv(translation.ENV_VAR, raw)
        params.cfg["use_xla_translate"] = not expected
        decision = translation.should_use_xla()
        assert decision.use_xla is expected
        assert decision.source == f"environment USE_XLA_TRANSLATE={raw!r}"

    def test_params_cfg_is_next(self):
        params.cfg["use_xla_translate"] = False
        assert translation.should_use_xla() == BackendDecision("v3", "params.cfg['use_xla_translate']")

    def test_an_explicit_backend_is_the_argument(self, monkeypatch):
        monkeypatch.setenv(translation.ENV_VAR, "0")
        assert translation.decide_backend("xla") == BackendDecision("xla", "argument")

    def test_bad_environment_value_is_named(self, monkeypatch):
        monkeypatch.setenv(translation.ENV_VAR, "maybe")
        with pytest.raises(
            ValueError, match="USE_XLA_TRANSLATE must be one of .*received: USE_XLA_TRANSLATE='maybe'"
        ):
            translation.should_use_xla()

    def test_a_traced_function_keeps_the_backend_it_was_traced_with(self, monkeypatch):
        """The switch is read while tracing only: changing it later does not change the graph."""
        calls = []
        monkeypatch.setattr(translation, "translate_v3", lambda x, t: calls.append("v3") or x)
        monkeypatch.setattr(translation, "translate_xla", lambda x, t: calls.append("xla") or x)

        @tf.function
        def shift(x, t):
            return translate(x, t)

        monkeypatch.setenv(translation.ENV_VAR, "0")
        shift(tf.zeros([2, 4, 4, 1]), tf.zeros([2, 2]))
        monkeypatch.setenv(translation.ENV_VAR, "1")
        shift(tf.zeros([2, 4, 4, 1]), tf.zeros([2, 2]))
        assert calls == ["v3"]

    def test_nothing_is_recorded_per_call(self):
        """The decision is returned, never kept: no module of the translation grows with calls."""
        before = {name: dict(vars(module)) for name, module in self._modules().items()}
        for _ in range(5):
            translate(tf.zeros([1, 4, 4, 1]), tf.zeros([1, 2]))
            reassemble_position(
                np.ones((2, 4, 4, 1), "float32"), np.full((2, 1, 2, 1), 4.0, "float32"), (8, 8)
            )
        for name, module in self._modules().items():
            after = vars(module)
            assert after.keys() == before[name].keys(), name
            sized = [
                k
                for k, v in after.items()
                if not k.startswith("__")
                and isinstance(v, (list, dict, set))
                and len(v) != len(before[name][k])
            ]
            assert not sized, (name, sized)

    @staticmethod
    def _modules():
        from ptycho.tensors.translation import backend, v3, xla

        return {m.__name__: m for m in (translation, backend, v3, xla, layouts, reassembly, stitching)}

    def test_bad_backend_argument(self):
        with pytest.raises(ValueError, match="received: backend='cuda'"):
            translate(tf.zeros([1, 4, 4, 1]), tf.zeros([1, 2]), backend="cuda")


def _v3(images, transforms, interpolation, fill_mode):
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=transforms,
        output_shape=tf.shape(images)[1:3],
        fill_value=0.0,
        interpolation=interpolation.upper(),
        fill_mode={"zeros": "CONSTANT", "edge": "NEAREST"}[fill_mode],
    )


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
@pytest.mark.parametrize("fill_mode", ["zeros", "edge"])
def test_general_warp_agrees_with_v3(interpolation, fill_mode):
    rng = np.random.default_rng(9)
    images = tf.constant(rng.standard_normal((4, 17, 13, 2)).astype("float32"))
    angle = rng.uniform(-0.4, 0.4, 4)
    scale = rng.uniform(0.8, 1.25, 4)
    transforms = np.zeros((4, 8), "float32")
    transforms[:, 0], transforms[:, 1] = scale * np.cos(angle), -scale * np.sin(angle)
    transforms[:, 3], transforms[:, 4] = scale * np.sin(angle), scale * np.cos(angle)
    transforms[:, 2], transforms[:, 5] = rng.uniform(-4, 4, 4), rng.uniform(-4, 4, 4)
    transforms[:, 6:] = rng.uniform(-1e-3, 1e-3, (4, 2))
    expected = _v3(images, tf.constant(transforms), interpolation, fill_mode).numpy()
    got = projective_warp_xla_jit(images, tf.constant(transforms), interpolation, fill_mode).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-4)


def test_general_warp_float64_and_complex():
    rng = np.random.default_rng(4)
    re = rng.standard_normal((2, 9, 9, 1))
    transforms = tf.constant([[1, 0, -1.5, 0, 1, 2.25, 0, 0]] * 2, tf.float32)
    f64 = projective_warp_xla(tf.constant(re), transforms).numpy()
    np.testing.assert_allclose(f64, np_translate(re, np.array([[1.5, -2.25]] * 2)), atol=1e-12)
    z = projective_warp_xla(tf.complex(tf.constant(re), tf.constant(2 * re)), transforms).numpy()
    np.testing.assert_allclose(z.imag, 2 * f64, atol=1e-12)
    with pytest.raises(ValueError, match="received: interpolation='cubic'"):
        projective_warp_xla(tf.constant(re), transforms, interpolation="cubic")


def test_stitching_does_not_depend_on_chunking_or_order():
    rng = np.random.default_rng(8)
    patches = rng.standard_normal((23, 16, 16, 1)).astype("float32")
    positions = rng.uniform(8, 40, (23, 1, 2, 1)).astype("float32")
    whole = reassemble_position(patches, positions, (48, 48), chunk=256).numpy()
    order = rng.permutation(23)
    chunked = reassemble_position(patches[order], positions[order], (48, 48), chunk=5).numpy()
    np.testing.assert_allclose(chunked, whole, atol=1e-5)


PUBLIC = [
    (layouts, "_channel_to_flat"),
    (layouts, "_flat_to_channel"),
    (layouts, "flatten_offsets"),
    (layouts, "unflatten_offsets"),
    (layouts, "repeat_per_patch"),
    (translation, "translate"),
    (translation, "translate_core"),
    (translation, "translate_v3"),
    (translation, "translate_xla"),
    (reassembly, "pad_patches"),
    (reassembly, "trim_reconstruction"),
    (reassembly, "reassemble_patches_position_real"),
    (reassembly, "extract_patches_position"),
]


@pytest.mark.parametrize("module, name", PUBLIC, ids=[name for _, name in PUBLIC])
def test_every_public_tensor_function_is_contracted(module, name):
    assert hasattr(getattr(module, name), "__contract__"), name


def test_stitching_is_contracted_inside():
    with pytest.raises(Exception, match="P 1 2 1"):
        reassemble_position(np.zeros((3, 16, 16, 1), "float32"), np.zeros((3, 2), "float32"), (32, 32))


def test_why_translate_xla_needs_its_contract_under_xla():
    """XLA runs a batched gather with mismatched batches silently (eager/graph raise); a contract refuses."""
    sig = [tf.TensorSpec([None, 5, 5, 1]), tf.TensorSpec([None, 5], tf.int32)]
    raw_gather = tf.function(
        lambda a, b: tf.gather(a, b, axis=1, batch_dims=1), input_signature=sig, jit_compile=True
    )
    assert raw_gather(tf.zeros([128, 5, 5, 1]), tf.zeros([32, 5], tf.int32)).shape == (
        32,
        5,
        5,
        1,
    )  # 96 rows dropped

    translated = tf.function(
        translate_xla,
        input_signature=[tf.TensorSpec([None, 5, 5, 1]), tf.TensorSpec([None, 2])],
        jit_compile=True,
    )
    with (
        pytest.raises(
            contracts.ShapeContractError, match="dim B: translations axis 0 is 32, images axis 0 is 128"
        ),
        contracts.raising_contract_errors(),
    ):
        translated(tf.zeros([128, 5, 5, 1]), tf.zeros([32, 2]))
