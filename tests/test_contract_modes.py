"""The mode matrix: small contracted functions, good and seeded-bad inputs, in every execution mode.

Modes: eager; tf.function with concrete shapes; tf.function with None-batch signatures;
jit_compile=True with None-batch signatures; Keras functional construction (+ predict); model.fit
(graph and XLA). Good inputs must give the NumPy reference result; every seeded mismatch must end in
a ShapeContractError that names the dim, either raised directly (decided in Python: eager or trace
time) or converted from the run-time failure by ``raising_contract_errors``.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from jaxtyping import Float

from contracts import ShapeContractError, contract, raising_contract_errors

pytestmark = pytest.mark.contracts


@contract
def to_flat(
    images: Float[tf.Tensor, "B N N C"], offsets: Float[tf.Tensor, "B 1 2 C"]
) -> Float[tf.Tensor, "B*C N N 1"]:
    n = tf.shape(images)[1]
    return tf.reshape(tf.transpose(images, [0, 3, 1, 2]), [-1, n, n, 1])


@contract
def merged_flat(images: Float[tf.Tensor, "B N N C"]) -> Float[tf.Tensor, "B*C N N 1"]:
    """Seeded fault: only the first group's patches come out, whatever the batch."""
    n = tf.shape(images)[1]
    return tf.reshape(tf.transpose(images[:1], [0, 3, 1, 2]), [-1, n, n, 1])


@contract
def group_means(
    flat: Float[tf.Tensor, "B*C N N 1"], images: Float[tf.Tensor, "B N N C"]
) -> Float[tf.Tensor, "B 1"]:
    c = tf.shape(images)[3]
    per_patch = tf.reduce_mean(flat, axis=[1, 2, 3])
    return tf.reduce_mean(tf.reshape(per_patch, [-1, c]), axis=1, keepdims=True)


def _reference_flat(images: np.ndarray) -> np.ndarray:
    b, n, _, c = images.shape
    out = np.empty((b * c, n, n, 1), images.dtype)
    for i in range(b):
        for j in range(c):
            out[i * c + j, :, :, 0] = images[i, :, :, j]
    return out


def _arrays(*shapes: tuple[int, ...]) -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    return [rng.standard_normal(s).astype("float32") for s in shapes]


# (function, input shapes, dim the error must name)
BAD_CASES = {
    "batch": (to_flat, [(12, 8, 8, 4), (3, 1, 2, 4)], "B"),
    "channels": (to_flat, [(3, 8, 8, 4), (3, 1, 2, 3)], "C"),
    "return": (merged_flat, [(3, 8, 8, 4)], "B*C"),
    "expression": (group_means, [(10, 8, 8, 1), (3, 8, 8, 4)], "B*C"),
}

MODES = ["eager", "function", "function_none", "xla_none", "keras", "fit", "fit_xla"]


class _Apply(keras.layers.Layer):
    """Calls a contracted function inside a Keras layer, scaled by one trainable weight."""

    def __init__(self, fn, **kwargs):
        super().__init__(**kwargs)
        self.fn = fn

    def build(self, *shapes):
        self.scale = self.add_weight(shape=(), initializer="ones", name="scale")

    def call(self, *xs):
        return self.fn(*xs) * self.scale


def _run_keras(fn, xs: list[np.ndarray], mode: str) -> np.ndarray:
    inputs = [keras.Input(shape=x.shape[1:]) for x in xs]
    model = keras.Model(inputs, _Apply(fn)(*inputs))
    # A dataset, not arrays: Keras would refuse mismatched batches before the contract could.
    data = tf.data.Dataset.from_tensors(tuple(xs))
    features = data.map(lambda *a: (a,))  # one element: the tuple of inputs, no target
    if mode == "keras":
        return model.predict(features, verbose=0)
    # The loss ignores its target, so no target shape has to be known in advance.
    model.compile(optimizer="sgd", loss=_mean_square, jit_compile=(mode == "fit_xla"))
    history = model.fit(data.map(lambda *a: (a, tf.zeros([1]))), epochs=1, verbose=0, shuffle=False)
    assert np.isfinite(history.history["loss"][0])
    return model.predict(features, verbose=0)


def _mean_square(y_true, y_pred):
    return tf.reduce_mean(tf.square(y_pred))


def run(fn, xs: list[np.ndarray], mode: str) -> np.ndarray:
    tensors = [tf.constant(x) for x in xs]
    none_sig = [tf.TensorSpec([None, *x.shape[1:]], tf.float32) for x in xs]
    if mode == "eager":
        out = fn(*tensors)
    elif mode == "function":
        out = tf.function(fn)(*tensors)
    elif mode == "function_none":
        out = tf.function(fn, input_signature=none_sig)(*tensors)
    elif mode == "xla_none":
        out = tf.function(fn, input_signature=none_sig, jit_compile=True)(*tensors)
    else:
        return _run_keras(fn, xs, mode)
    return out.numpy()


@pytest.mark.parametrize("mode", MODES)
def test_good_inputs_pass_and_match_reference(mode):
    images, offsets = _arrays((3, 8, 8, 4), (3, 1, 2, 4))
    if mode in ("fit", "fit_xla"):
        # fit trains the scale away from 1; check shapes there, values in the other modes.
        assert run(to_flat, [images, offsets], mode).shape == (12, 8, 8, 1)
        return
    np.testing.assert_allclose(run(to_flat, [images, offsets], mode), _reference_flat(images))
    flat = _reference_flat(images)
    means = run(group_means, [flat, images], mode)
    np.testing.assert_allclose(means[:, 0], images.mean(axis=(1, 2, 3)), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", sorted(BAD_CASES))
@pytest.mark.parametrize("mode", MODES)
def test_seeded_mismatch_raises_naming_the_dim(mode, case):
    fn, shapes, dim = BAD_CASES[case]
    with pytest.raises(ShapeContractError) as info, raising_contract_errors():
        run(fn, _arrays(*shapes), mode)
    message = str(info.value)
    assert f"dim {dim}" in message
    assert fn.__qualname__ in message


@pytest.mark.parametrize("jit", [False, True])
def test_fit_catches_a_merged_batch_deferred_to_run_time(jit):
    """A layer that merges the batch, inside fit, with a None batch: decided when the graph runs."""
    images = _arrays((6, 8, 8, 4))[0]

    class Merge(keras.layers.Layer):
        def call(self, x):
            return merged_flat(x)

        def compute_output_shape(self, shape):
            return (None, shape[1], shape[2], 1)

    inp = keras.Input(shape=(8, 8, 4))
    model = keras.Model(inp, keras.layers.Dense(1)(Merge()(inp)))
    model.compile(optimizer="sgd", loss="mse", jit_compile=jit)
    # Batches of 4 then 2 groups: the traced batch dim is None.
    data = tf.data.Dataset.from_tensor_slices((images, images[..., :1])).batch(4)
    assert data.element_spec[0].shape[0] is None
    with (
        pytest.raises(
            ShapeContractError, match=r"dim B\*C: return value axis 0 is 4, B\*C with B=\?, C=4 is 16"
        ),
        raising_contract_errors(),
    ):
        model.fit(data, epochs=1, verbose=0, shuffle=False)


class TestWhereTheErrorComesFrom:
    """Decided in Python: ShapeContractError itself. Decided in the graph: TF's error, with the facts."""

    bad = _arrays((128, 8, 8, 4), (32, 1, 2, 4))

    def test_eager_and_trace_time_raise_identical_messages(self):
        tensors = [tf.constant(x) for x in self.bad]
        with pytest.raises(ShapeContractError) as eager:
            to_flat(*tensors)
        with pytest.raises(ShapeContractError) as traced:
            tf.function(to_flat)(*tensors)
        assert "dim B is 32 at offsets axis 0, but B = 128 was bound at images axis 0" in str(eager.value)
        assert str(traced.value).endswith(str(eager.value))

    @pytest.mark.parametrize("jit", [False, True])
    def test_run_time_failure_carries_function_dim_and_values(self, jit):
        sig = [tf.TensorSpec([None, 8, 8, 4]), tf.TensorSpec([None, 1, 2, 4])]
        fn = tf.function(to_flat, input_signature=sig, jit_compile=jit)
        with pytest.raises(tf.errors.InvalidArgumentError) as info:
            fn(*[tf.constant(x) for x in self.bad])
        text = str(info.value)
        assert "to_flat" in text and ".B.offsets_ax0" in text
        if jit:  # XLA dropped the Assert; the reshape guard failed at compile time
            assert "tensor with 32 values, but the requested shape has 128" in text
        else:
            assert "dim B of offsets" in text and "[32]" in text and "[128]" in text

    def test_matching_batches_return_the_right_shape_in_all_three(self):
        good = [tf.constant(x) for x in _arrays((32, 8, 8, 4), (32, 1, 2, 4))]
        sig = [tf.TensorSpec([None, 8, 8, 4]), tf.TensorSpec([None, 1, 2, 4])]
        assert to_flat(*good).shape == (128, 8, 8, 1)
        assert tf.function(to_flat, input_signature=sig)(*good).shape == (128, 8, 8, 1)
        assert tf.function(to_flat, input_signature=sig, jit_compile=True)(*good).shape == (128, 8, 8, 1)


@contract
def merge_when_large(images: Float[tf.Tensor, "B N N C"]) -> Float[tf.Tensor, "B N N 1"]:
    """The 778752 incident's pattern: one row for the whole batch once B*C >= 64, decided in the graph."""
    per_group = tf.reduce_sum(images, axis=3, keepdims=True)
    rows = tf.shape(images)[0] * tf.shape(images)[3]
    return tf.cond(rows < 64, lambda: per_group, lambda: tf.reduce_sum(per_group, axis=0, keepdims=True))


class TestSizesDecidedInsideTheCompiledFunction:
    """A tf.cond on the batch makes the output's batch a run-time size inside XLA; the guard must hold."""

    sig = [tf.TensorSpec([None, 8, 8, 4])]

    def test_without_the_contract_xla_returns_one_row_for_32_silently(self):
        plain = tf.function(merge_when_large.__wrapped__, input_signature=self.sig, jit_compile=True)
        assert plain(tf.zeros([32, 8, 8, 4])).shape == (1, 8, 8, 1)

    @pytest.mark.parametrize("batch", [32, 4])
    def test_under_jit_compile_the_contract_refuses_to_compile_the_size_it_cannot_check(self, batch):
        xla = tf.function(merge_when_large, input_signature=self.sig, jit_compile=True)
        with pytest.raises(ShapeContractError) as info, raising_contract_errors():
            xla(tf.zeros([batch, 8, 8, 4]))
        message = str(info.value)
        assert message.startswith("shape contract violated in merge_when_large (")
        assert "  argument:     return value\n" in message
        assert (
            "  conflict:     dim B: the size of return value axis 0 is decided at run time inside "
            "the XLA-compiled function"
        ) in message
        assert "  bindings:     B=? (images axis 0), N=8 (images axis 1), C=4 (images axis 3)" in message

    def test_in_a_plain_graph_the_run_time_check_names_both_sizes(self):
        graph = tf.function(merge_when_large, input_signature=self.sig)
        assert graph(tf.zeros([4, 8, 8, 4])).shape == (4, 8, 8, 1)
        with pytest.raises(ShapeContractError, match=r"dim B: return value axis 0 is 1, images axis 0 is 32"):
            with raising_contract_errors():
                graph(tf.zeros([32, 8, 8, 4]))

    def test_a_deferred_violation_has_every_field_of_a_trace_time_one(self):
        graph = tf.function(
            to_flat, input_signature=[tf.TensorSpec([None, 8, 8, 4]), tf.TensorSpec([None, 1, 2, 4])]
        )
        with pytest.raises(ShapeContractError) as info, raising_contract_errors():
            graph(*[tf.constant(x) for x in _arrays((128, 8, 8, 4), (32, 1, 2, 4))])
        lines = [line.split(":")[0].strip() for line in str(info.value).splitlines()[1:]]
        assert lines == ["argument", "expected", "actual", "conflict", "bindings"]
        assert "  actual:       float32 (32, 1, 2, 4)\n" in str(info.value)
        assert "B=128 (images axis 0)" in str(info.value)
