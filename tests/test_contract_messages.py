"""The wording of contract errors, pinned; malformed specs; errors keeping type through TF and Keras."""

from __future__ import annotations

import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from jaxtyping import Complex, Float

from contracts import (
    ContractDefinitionError,
    Dim,
    DimConflict,
    Layout,
    ShapeContractError,
    contract,
    register_vocabulary,
)

pytestmark = pytest.mark.contracts

HERE = os.path.relpath(__file__)


def _time_hint(conflict: DimConflict) -> str | None:
    """A client hint: this module's T is a time axis, sampled at 2 per unit."""
    if conflict.dim == "T" and conflict.value * 2 == conflict.bound:
        return f"{conflict.argument} has half the time steps: sampled at 1 per unit where 2 were expected"
    return None


# This module is a client of the library: its own dims, layouts and hint, for its own functions.
register_vocabulary(
    scope=__name__,
    dims=[
        Dim("B", "examples in a batch"),
        Dim("N", "image side"),
        Dim("C", "channels"),
        Dim("T", "time steps"),
    ],
    layouts=[
        Layout("channel images", "B N N C"),
        Layout("flat images", "B*C N N 1"),
        Layout("channel offsets", "B 1 2 C"),
        Layout("flat offsets", "B*C 2"),
    ],
    hints=[_time_hint],
)


@contract
def flatten_pair(
    images: Float[tf.Tensor, "B N N C"], offsets: Float[tf.Tensor, "B 1 2 C"]
) -> Float[tf.Tensor, "B*C N N 1"]:
    n = tf.shape(images)[1]
    return tf.reshape(tf.transpose(images, [0, 3, 1, 2]), [-1, n, n, 1])


LOCATION = f"{HERE}:{flatten_pair.__wrapped__.__code__.co_firstlineno}"


def _message(fn, *shapes, dtypes=None):
    dtypes = dtypes or ["float32"] * len(shapes)
    args = [tf.zeros(s, d) for s, d in zip(shapes, dtypes)]
    with pytest.raises(ShapeContractError) as info:
        fn(*args)
    return str(info.value)


def test_batch_mismatch_message_is_pinned():
    assert _message(flatten_pair, (128, 64, 64, 4), (32, 1, 2, 4)) == (
        f"shape contract violated in flatten_pair ({LOCATION})\n"
        "  argument:     offsets\n"
        "  expected:     Float[Tensor, 'B 1 2 C']  (channel offsets)\n"
        "  actual:       float32 (32, 1, 2, 4)\n"
        "  conflict:     dim B is 32 at offsets axis 0, but B = 128 was bound at images axis 0\n"
        "  bindings:     B=128 (images axis 0), N=64 (images axis 1), C=4 (images axis 3)\n"
        "  likely cause: images axis 0 has 128 = 32 x C(4) where offsets has 32: B and C are "
        "merged into one axis on one side and not on the other"
    )


def test_flat_offsets_where_channel_offsets_expected():
    message = _message(flatten_pair, (32, 64, 64, 4), (32, 2))
    assert "  conflict:     rank is 2, the spec 'B 1 2 C' has 4 axes\n" in message
    assert message.endswith(
        "  likely cause: the shape reads as (B, 2) in the dims bound so far where channel "
        "offsets was expected"
    )


def test_flat_images_where_channel_images_expected():
    @contract
    def offsets_then_images(
        offsets: Float[tf.Tensor, "B 1 2 C"], images: Float[tf.Tensor, "B N N C"]
    ) -> None:
        return None

    message = _message(offsets_then_images, (4, 1, 2, 4), (16, 64, 64, 1))
    assert "  conflict:     dim B is 16 at images axis 0, but B = 4 was bound at offsets axis 0\n" in message
    assert message.endswith(
        "  likely cause: images has 16 = 4 x C(4) where B = 4 was expected: B and C look merged "
        "into one axis on this side (a reshape that folded C into B, or the merged tensor passed "
        "where the unmerged one was expected)"
    )


def test_flat_offsets_layout_is_recognised():
    @contract
    def images_then_offsets(
        images: Float[tf.Tensor, "B N N C"], offsets: Float[tf.Tensor, "B 1 2 C"]
    ) -> None:
        return None

    message = _message(images_then_offsets, (8, 16, 16, 4), (32, 2))
    assert message.endswith(
        "likely cause: the shape fits the flat offsets (B*C 2) layout where channel offsets was expected"
    )


def test_a_registered_hint_speaks_first():
    @contract
    def align(audio: Float[tf.Tensor, "B T"], labels: Float[tf.Tensor, "B T"]) -> None:
        return None

    message = _message(align, (2, 100), (2, 50))
    assert "  conflict:     dim T is 50 at labels axis 1, but T = 100 was bound at audio axis 1\n" in message
    assert message.endswith(
        "likely cause: labels has half the time steps: sampled at 1 per unit where 2 were expected"
    )


def test_a_batch_that_became_1_is_named():
    message = _message(flatten_pair, (8, 16, 16, 4), (1, 1, 2, 4))
    assert message.endswith(
        "likely cause: B became 1 in offsets where images axis 0 has 8: a reduction or a merge "
        "collapsed that axis upstream (or a keepdims sum over it)"
    )


def test_without_a_vocabulary_no_layout_is_named_and_only_generic_hints_apply():
    def flatten_elsewhere(
        images: Float[tf.Tensor, "B N N C"], offsets: Float[tf.Tensor, "B 1 2 C"]
    ) -> Float[tf.Tensor, "B*C N N 1"]:
        return flatten_pair(images, offsets)

    flatten_elsewhere.__module__ = "a_package_with_no_vocabulary"
    message = _message(contract(flatten_elsewhere), (128, 64, 64, 4), (32, 1, 2, 4))
    assert "  expected:     Float[Tensor, 'B 1 2 C']\n" in message
    assert "likely cause: images axis 0 has 128 = 32 x C(4)" in message
    rank = _message(contract(flatten_elsewhere), (32, 64, 64, 4), (32, 2))
    assert rank.endswith("likely cause: the shape reads as (B, 2) in the dims bound so far")


def test_a_vocabulary_refuses_a_conflicting_redefinition():
    register_vocabulary(scope=__name__, dims=[Dim("T", "time steps")])  # the same again: fine
    with pytest.raises(
        ValueError, match="dim 'T' of scope 'tests.test_contract_messages' is already registered"
    ):
        register_vocabulary(scope=__name__, dims=[Dim("T", "tokens")])
    with pytest.raises(ValueError, match="scope must be a package name"):
        register_vocabulary(scope="", dims=[])


def test_swapped_axes_are_named():
    message = _message(flatten_pair, (8, 16, 16, 4), (8, 2, 1, 4))
    assert "  conflict:     dim 1 is 2 at offsets axis 1, but the spec fixes it to 1\n" in message
    assert message.endswith("likely cause: axes 1 and 2 of offsets look swapped")


def test_dtype_mismatch():
    message = _message(flatten_pair, (2, 8, 8, 1), (2, 1, 2, 1), dtypes=["complex64", "float32"])
    assert "  actual:       complex64 (2, 8, 8, 1)\n" in message
    assert "  conflict:     dtype is complex64, expected Float (" in message


def test_a_non_tensor_is_refused_by_name():
    with pytest.raises(ShapeContractError) as info:
        flatten_pair(np.zeros((2, 8, 8, 1), "float32"), tf.zeros((2, 1, 2, 1)))
    message = str(info.value)
    assert "  argument:     images\n" in message
    assert "  actual:       numpy.ndarray (2, 8, 8, 1)\n" in message
    assert "  conflict:     got numpy.ndarray, expected a tf.Tensor\n" in message


def test_wrong_return_value_is_reported_as_such():
    @contract
    def drops_a_patch(images: Float[tf.Tensor, "B N N C"]) -> Float[tf.Tensor, "B*C N N 1"]:
        return tf.zeros([tf.shape(images)[0] * 3, 8, 8, 1])

    message = _message(drops_a_patch, (2, 8, 8, 4))
    assert "  argument:     return value\n" in message
    assert "  conflict:     dim B*C is 6 at return value axis 0, but B*C with B=2, C=4 gives 8\n" in message


@pytest.mark.parametrize(
    "annotation, fragment",
    [
        ("B*C+ N", "argument x axis 0 ('B*C+'): 'B*C+' is not a valid dim expression"),
        ("B*D N", "argument x 'B*D N' axis 0 ('B*D') uses D, which no named axis binds"),
        ("#B N", "argument x axis 0 ('#B'): broadcastable (#) and tree-path (?) dims are not supported"),
        ("B**2 N", "'B**2' uses Pow; dim expressions may use names, integers and + - * // only"),
    ],
)
def test_malformed_spec_raises_at_decoration_naming_spec_and_position(annotation, fragment):
    def f(x, y):
        return None

    f.__annotations__ = {"x": Float[tf.Tensor, annotation], "y": Float[tf.Tensor, "B N"]}

    with pytest.raises(ContractDefinitionError) as info:
        contract(f)
    assert fragment in str(info.value)
    assert str(info.value).startswith("contract for ")


def test_tuple_return_members_must_be_arrays():
    def f(x: Float[tf.Tensor, " B"]) -> tuple[Float[tf.Tensor, " B"], int]:
        return x, 1

    with pytest.raises(ContractDefinitionError, match=r"return value \[1\] is <class 'int'>"):
        contract(f)


def test_error_keeps_type_and_text_through_autograph():
    @tf.function  # AutoGraph on: the contracted call sits inside converted code
    def outer(images, offsets):
        if tf.reduce_sum(images) > 0:
            images = images * 2.0
        return flatten_pair(images, offsets)

    with pytest.raises(ShapeContractError) as info:
        outer(tf.ones([8, 4, 4, 2]), tf.ones([4, 1, 2, 2]))
    assert "dim B is 4 at offsets axis 0, but B = 8 was bound at images axis 0" in str(info.value)


def test_error_keeps_type_and_text_through_keras_construction():
    class Flatten(keras.layers.Layer):
        @contract
        def call(
            self, images: Float[tf.Tensor, "B N N C"], offsets: Float[tf.Tensor, "B 1 2 C"]
        ) -> Float[tf.Tensor, "B*C N N 1"]:
            return flatten_pair(images, offsets)

    with pytest.raises(ShapeContractError) as info:
        Flatten()(keras.Input((16, 16, 4)), keras.Input((1, 2, 3)))
    message = str(info.value)
    # Keras re-raises the same type with a preamble when it infers output shapes by calling
    # `call`; the contract's message follows whole.
    assert (
        "\n\nshape contract violated in "
        "test_error_keeps_type_and_text_through_keras_construction.<locals>.Flatten.call (" in message
    )
    assert "dim C is 3 at offsets axis 3, but C = 4 was bound at images axis 3" in message
    assert "Arguments received by" not in message  # Keras did not rewrite it


def test_complex_and_optional_and_tuple_returns():
    @contract
    def split(
        field: Complex[tf.Tensor, "B N N"], weight: Float[tf.Tensor, "N N"] | None = None
    ) -> tuple[Float[tf.Tensor, "B N N"], Float[tf.Tensor, "B N N"]]:
        return tf.math.real(field), tf.math.imag(field)

    re, im = split(tf.complex(tf.ones([2, 4, 4]), tf.zeros([2, 4, 4])))
    assert re.shape == im.shape == (2, 4, 4)
    with pytest.raises(ShapeContractError, match="dim N is 3 at weight axis 0, but N = 4"):
        split(tf.zeros([2, 4, 4], tf.complex64), tf.zeros([3, 3]))
