"""Per-call cost of @contract against the plain function and against jaxtyping + beartype.

make benchmark     (or: python -m pytest benchmarks --benchmark-enable)
"""

from __future__ import annotations

import pytest
import tensorflow as tf
from beartype import beartype
from jaxtyping import Float, jaxtyped

import contracts
from contracts import contract

from .conftest import ratio

pytestmark = pytest.mark.benchmark


def offsets_like(
    images: Float[tf.Tensor, "B N N C"], offsets: Float[tf.Tensor, "B 1 2 C"]
) -> Float[tf.Tensor, "B 1 2 C"]:
    return offsets


contracted = contract(offsets_like)
jaxtyping_beartype = jaxtyped(typechecker=beartype)(offsets_like)

IMAGES, OFFSETS = tf.zeros([8, 16, 16, 4]), tf.zeros([8, 1, 2, 4])


@pytest.mark.parametrize(
    "key, fn",
    [
        ("eager plain", offsets_like),
        ("eager contract", contracted),
        ("eager jaxtyping+beartype", jaxtyping_beartype),
    ],
)
def test_eager_call(timed, key, fn):
    assert fn(IMAGES, OFFSETS) is OFFSETS
    timed(key, fn, IMAGES, OFFSETS)


def test_eager_call_with_contracts_off(timed):
    previous = contracts.set_mode("off")
    try:
        assert contracted(IMAGES, OFFSETS) is OFFSETS
        timed("eager contract, mode off", contracted, IMAGES, OFFSETS)
    finally:
        contracts.set_mode(previous)


ratio(
    "eager, mode off: overhead / the checking contract's overhead",
    "eager contract, mode off",
    "eager contract",
    "<= 0.1",
    baseline="eager plain",
)
ratio(
    "eager, 2 tensors: contract overhead / jaxtyping+beartype's",
    "eager contract",
    "eager jaxtyping+beartype",
    "<= 0.25",
    baseline="eager plain",
)


def translate_sized(
    images: Float[tf.Tensor, "B N N 1"], translations: Float[tf.Tensor, "B 2"]
) -> Float[tf.Tensor, "B N N 1"]:
    """A translate-sized call: bilinear shift of B images through ImageProjectiveTransformV3."""
    b = tf.shape(images)[0]
    ones, zeros = tf.ones([b, 1]), tf.zeros([b, 1])
    tx, ty = translations[:, :1], translations[:, 1:]
    transforms = tf.concat([ones, zeros, -tx, zeros, ones, -ty, zeros, zeros], axis=1)
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=transforms,
        output_shape=tf.shape(images)[1:3],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )


B, N = 128, 78
TR_IMAGES, TR_SHIFTS = tf.random.uniform([B, N, N, 1]), tf.random.uniform([B, 2], -3, 3)
NONE_SIG = [tf.TensorSpec([None, N, N, 1]), tf.TensorSpec([None, 2])]
STATIC_SIG = [tf.TensorSpec([B, N, N, 1]), tf.TensorSpec([B, 2])]


@pytest.mark.parametrize(
    "key, fn, sig",
    [
        ("graph plain, None dims", translate_sized, NONE_SIG),
        ("graph contract, None dims", contract(translate_sized), NONE_SIG),
        ("graph plain, static dims", translate_sized, STATIC_SIG),
        ("graph contract, static dims", contract(translate_sized), STATIC_SIG),
    ],
)
def test_graph_call_after_tracing(timed, key, fn, sig):
    traced = tf.function(fn, input_signature=sig)
    assert traced(TR_IMAGES, TR_SHIFTS).shape == (B, N, N, 1)
    timed(key, traced, TR_IMAGES, TR_SHIFTS, rounds=60)


ratio(
    "graph, None dims, B=128 N=78: contract / plain",
    "graph contract, None dims",
    "graph plain, None dims",
    "<= 1.05",
)
ratio(
    "graph, static dims, B=128 N=78: contract / plain",
    "graph contract, static dims",
    "graph plain, static dims",
    "~1 (no added ops)",
)
