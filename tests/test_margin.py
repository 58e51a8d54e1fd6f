"""Offsets beyond the canvas margin never give a finite wrong answer, in any execution mode.

One message everywhere: the group, the patch, the offset and the margin. Eager and graph calls
raise it; inside an XLA cluster (a jit-compiled layer, a whole model compiled with XLA) the
affected groups come out NaN and the callers that hold the data raise it.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from ptycho.config.config import ModelConfig, TrainingConfig
from ptycho.data.container import PtychoDataContainer
from ptycho.model import create_model_with_gridsize
from ptycho.model.factory import create_compiled_model
from ptycho.tensors import margin
from ptycho.tensors.reassembly import extract_patches_position, reassemble_patches_position_real
from ptycho.training import fit, predict, reconstruct

N, M, C = 16, 20, 4  # margin (M - N)/2 = 2 px
MESSAGE = (
    r"the relative offset \[x, y\] = \[5, 0\] px of patch 3 in group 1 exceeds the canvas margin "
    r"\(M - N\)/2 = 2 px \(N=16, M=20\); build the model with max_offset >= 5"
)


def _offsets(batch: int = 3) -> np.ndarray:
    offsets = np.random.default_rng(0).uniform(-1.5, 1.5, (batch, 1, 2, C)).astype(np.float32)
    offsets[1, 0, :, 3] = [5.0, 0.0]
    return offsets


def _patches(batch: int = 3) -> tf.Tensor:
    values = np.random.default_rng(1).standard_normal((batch, N, N, C))
    return tf.complex(tf.constant(values, tf.float32), tf.zeros([batch, N, N, C]))


def test_the_numpy_check_finds_the_first_offending_patch_and_nan():
    assert margin.first_beyond(_offsets(), N, M) == (1, 3, 5.0, 0.0)
    nan = np.zeros((2, 1, 2, C), np.float32)
    nan[0, 0, 1, 2] = np.nan
    assert margin.first_beyond(nan, N, M)[:2] == (0, 2)
    assert margin.first_beyond(np.full((2, 1, 2, C), 2.0, np.float32), N, M) is None  # the margin itself fits


@pytest.mark.parametrize("backend", ["xla", "v3"])
def test_eager_and_graph_calls_raise_naming_group_patch_offset_and_margin(backend):
    with pytest.raises(ValueError, match=MESSAGE):
        reassemble_patches_position_real(_patches(), tf.constant(_offsets()), M, backend=backend)
    graph = tf.function(
        lambda p, o: extract_patches_position(p, o, N, backend=backend),
        input_signature=[tf.TensorSpec([None, M, M, 1], tf.complex64), tf.TensorSpec([None, 1, 2, C])],
    )
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        graph(tf.zeros([3, M, M, 1], tf.complex64), tf.constant(_offsets()))
    converted = margin.as_margin_error(info.value)
    assert converted is not None
    assert str(converted) == str(margin.margin_message(1, 3, 5.0, 0.0, N, M))


def test_under_xla_the_offending_group_is_nan_and_the_others_are_right():
    compiled = tf.function(
        lambda p, o: reassemble_patches_position_real(p, o, M, backend="xla"), jit_compile=True
    )
    out = compiled(_patches(), tf.constant(_offsets())).numpy()
    nan_groups = np.isnan(out).any(axis=(1, 2, 3))
    assert nan_groups.tolist() == [False, True, False]
    good = reassemble_patches_position_real(_patches()[::2], tf.constant(_offsets()[::2]), M, backend="xla")
    np.testing.assert_allclose(out[::2], good.numpy(), atol=1e-5)


def test_layers_raise_eagerly_and_a_model_compiled_whole_with_xla_gives_nan():
    _, to_obj = create_model_with_gridsize(2, N, "xla", n_filters_scale=1, max_offset=2)
    x = np.abs(np.random.default_rng(2).standard_normal((3, N, N, C))).astype(np.float32)
    with pytest.raises(ValueError, match=MESSAGE):
        to_obj([tf.constant(x), tf.constant(_offsets())])
    whole = tf.function(lambda a, b: to_obj([a, b]), jit_compile=True)
    obj = whole(tf.constant(x), tf.constant(_offsets())).numpy()
    assert np.isnan(obj).any(axis=(1, 2, 3)).tolist() == [False, True, False]
    to_obj.compile(jit_compile=True)
    data = PtychoDataContainer(
        X=x,
        coords=_offsets(),
        global_offsets=np.zeros((3, 1, 2, 1), np.float32),
        probe=np.ones((N, N), np.complex64),
        nphotons=1e6,
    )
    with pytest.raises(ValueError, match=MESSAGE):
        predict(to_obj, data, batch_size=3)
    with pytest.raises(ValueError, match=MESSAGE):
        reconstruct(to_obj, data, (40, 40), batch_size=3)
    config = TrainingConfig(
        model=ModelConfig(N=N, gridsize=2, n_filters_scale=1, max_offset=2), nepochs=1, nphotons=1e6
    )
    with pytest.raises(ValueError, match=MESSAGE):
        fit(create_compiled_model(config), data, config)
