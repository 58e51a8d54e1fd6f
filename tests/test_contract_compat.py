"""Every private name in contracts/_compat.py, checked against the installed jaxtyping and TensorFlow.

An upgrade that moves or changes one of them fails here, naming it, rather than somewhere deep in
a check.
"""

from __future__ import annotations

import pytest
import tensorflow as tf
from jaxtyping import Float, Shaped

from contracts import _compat

pytestmark = pytest.mark.contracts


def test_jaxtyping_parses_every_kind_of_dim_into_the_classes_contracts_reads():
    spec = Float[tf.Tensor, "B 64 _ N*2 *rows"]
    kinds = [type(d) for d in spec.dims]
    assert kinds[0] is _compat.NamedDim and spec.dims[0].name == "B" and not spec.dims[0].broadcastable
    assert kinds[1] is _compat.FixedDim and spec.dims[1].size == 64
    assert spec.dims[2] is _compat.ANONYMOUS_DIM
    assert kinds[3] is _compat.SymbolicDim and str(spec.dims[3].elem) == "N*2"
    assert kinds[4] is _compat.NamedVariadicDim and spec.dims[4].name == "rows"
    assert Float[tf.Tensor, "..."].dims[0] is _compat.ANONYMOUS_VARIADIC_DIM
    assert Shaped[tf.Tensor, "B"].dtypes is _compat.ANY_DTYPE
    assert spec.dim_str == "B 64 _ N*2 *rows" and spec.array_type is tf.Tensor


def test_eager_tensors_and_their_shape_tuple():
    x = tf.zeros([2, 3])
    assert type(x) is _compat.EagerTensor
    assert _compat.eager_shape(x) == (2, 3) and isinstance(_compat.eager_shape(x), tuple)


def test_autograph_status_and_the_artifact_attribute():
    seen = []

    def probe(x):
        seen.append(_compat.autograph_enabled() is not None)
        return x

    assert _compat.autograph_enabled() is None
    tf.function(probe)(tf.zeros([1]))
    tf.function(probe, autograph=False)(tf.zeros([1]))
    assert seen == [True, False]
    from tensorflow.python.autograph.impl import api as autograph_api

    marked = lambda: None
    setattr(marked, _compat.AUTOGRAPH_ARTIFACT_ATTRIBUTE, frozenset())
    assert autograph_api.is_autograph_artifact(marked)


def test_xla_context_is_seen_in_jit_compiled_graphs_only():
    seen = []

    def probe(x):
        seen.append(_compat.in_xla_context())
        return x

    probe(tf.zeros([1]))
    tf.function(probe)(tf.zeros([1]))
    tf.function(probe, jit_compile=True)(tf.zeros([1]))
    assert seen == [False, False, True]


def test_the_error_texts_contracts_reads_back():
    with pytest.raises(tf.errors.InvalidArgumentError) as reshape:
        tf.reshape(tf.zeros([6]), [4])
    assert _compat.RESHAPE_VALUES.search(str(reshape.value)).groups() == ("6", "4")

    @tf.function
    def assert_equal(a, b):
        tf.debugging.assert_equal(a, b, message="m")
        return a

    with pytest.raises(tf.errors.InvalidArgumentError) as asserted:
        assert_equal(tf.constant(3), tf.constant(5))
    assert _compat.ASSERT_VALUES.search(str(asserted.value)).groups() == ("3", "5")

    @tf.function(jit_compile=True, input_signature=[tf.TensorSpec([None])])
    def dynamic_depth(x):
        n = tf.shape(tf.boolean_mask(x, x > 0))[0]
        return tf.one_hot(tf.zeros([0], tf.int32), depth=n)

    with pytest.raises(tf.errors.InvalidArgumentError) as constant:
        dynamic_depth(tf.ones([3]))
    assert _compat.NOT_COMPILE_TIME_CONSTANT.search(str(constant.value))
