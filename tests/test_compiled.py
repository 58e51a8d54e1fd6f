"""Kernels that compile themselves (ptycho/tensors/compiled.py): the batch buckets, agreement of the
compiled call with the kernel run op by op, invariance to the batch padding, and a count of XLA's
compilations read from XLA's own dump of the modules it compiled."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from ptycho.tensors import compiled
from ptycho.tensors.compiled import bucket, run_compiled
from ptycho.tensors.reassembly import extract_patches_position, reassemble_patches_position_real
from ptycho.tensors.translation.xla import translate_xla

ROOT = Path(__file__).resolve().parents[1]


@given(st.integers(0, 1 << 40))
def test_a_bucket_holds_the_batch_and_wastes_less_than_half(batch):
    size = bucket(batch)
    assert size >= batch
    assert size <= max(batch, 1.5 * batch)  # the worst case is just above a power of two
    assert bucket(size) == size
    # a bucket is a power of two or three times one
    assert size == 0 or (size & (size - 1)) == 0 or (size % 3 == 0 and ((size // 3) & (size // 3 - 1)) == 0)


def test_the_buckets_up_to_b_number_at_most_2_log2_b_plus_1():
    for top in (1, 2, 7, 64, 1000, 4096):
        distinct = {bucket(b) for b in range(1, top + 1)}
        assert len(distinct) <= 2 * math.log2(top) + 1, top


def test_a_negative_batch_is_refused():
    with pytest.raises(ValueError, match="batch must be >= 0; received: batch=-1"):
        bucket(-1)


def test_the_graph_bucket_agrees_with_the_python_bucket():
    sizes = np.concatenate([np.arange(0, 2100), [2**20 - 1, 2**20, 2**20 + 1, 3 * 2**19, 3 * 2**19 + 1]])
    graph = tf.function(lambda b: tf.map_fn(compiled._bucket_tensor, b))
    expected = [bucket(int(b)) for b in sizes]
    np.testing.assert_array_equal(graph(tf.constant(sizes, tf.int32)).numpy(), expected)


def _scaled_rows(x, scale):
    """A batch-major kernel for the tests: row b times scale, and the row sums."""
    return x * scale, tf.reduce_sum(x, axis=1)


@pytest.mark.parametrize("batch", [0, 1, 5, 17])
def test_outputs_are_cut_back_to_the_batch_in_eager_and_graph_calls(batch):
    x = tf.reshape(tf.range(batch * 3, dtype=tf.float32), [batch, 3])
    expected = (x.numpy() * 2.0, x.numpy().sum(axis=1))
    eager = run_compiled(_scaled_rows, (x,), scale=2.0)
    unknown = tf.function(
        lambda x: run_compiled(_scaled_rows, (x,), scale=2.0), input_signature=[tf.TensorSpec([None, 3])]
    )
    for out in (eager, unknown(x)):
        np.testing.assert_array_equal(out[0].numpy(), expected[0])
        np.testing.assert_array_equal(out[1].numpy(), expected[1])


def test_unknown_inner_dims_are_refused_with_the_shape():
    fn = tf.function(
        lambda x: run_compiled(_scaled_rows, (x,), scale=1.0), input_signature=[tf.TensorSpec([None, None])]
    )
    with pytest.raises(ValueError, match=r"every dim but the batch must be known.*\(None, None\)"):
        fn.get_concrete_function()


@settings(max_examples=10)  # each example compiles the kernel for its bucket
@given(batch=st.integers(1, 40), seed=st.integers(0, 2**31))
def test_translation_of_a_padded_batch_equals_each_image_translated_alone(batch, seed):
    """Batch-size invariance: the zero rows padded up to the bucket change no real row."""
    rng = np.random.default_rng(seed)
    images = rng.standard_normal((batch, 12, 10, 2)).astype("float32")
    shifts = rng.uniform(-6, 6, (batch, 2)).astype("float32")
    together = translate_xla(tf.constant(images), tf.constant(shifts)).numpy()
    one = tf.function(translate_xla, jit_compile=True)  # a batch of one: no padding
    alone = np.concatenate([one(images[i : i + 1], shifts[i : i + 1]).numpy() for i in range(batch)])
    np.testing.assert_allclose(together, alone, atol=1e-6)


def test_compiled_calls_agree_with_the_kernels_inside_a_callers_xla_cluster():
    """Eager, plain tf.function (batch unknown) and jit_compile=True give the same values and gradients."""
    rng = np.random.default_rng(3)
    values = rng.standard_normal((7, 16, 16, 4)) + 1j * rng.standard_normal((7, 16, 16, 4))
    patches = tf.constant(values, tf.complex64)
    offsets = tf.constant(rng.uniform(-3, 3, (7, 1, 2, 4)), tf.float32)

    def value_and_gradient(patches, offsets):
        with tf.GradientTape() as tape:
            tape.watch(offsets)
            canvas = reassemble_patches_position_real(patches, offsets, 24, backend="xla")
            back = extract_patches_position(canvas, offsets, 16, backend="xla")
            loss = tf.reduce_sum(tf.abs(back) ** 2)
        return canvas, back, tape.gradient(loss, offsets)

    signature = [tf.TensorSpec([None, 16, 16, 4], tf.complex64), tf.TensorSpec([None, 1, 2, 4])]
    results = [
        value_and_gradient(patches, offsets),
        tf.function(value_and_gradient, input_signature=signature)(patches, offsets),
        tf.function(value_and_gradient, jit_compile=True)(patches, offsets),
    ]
    for other in results[1:]:
        for got, want in zip(other, results[0], strict=True):
            np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-4, atol=1e-4)


COUNT_COMPILATIONS = textwrap.dedent(
    """
    import json, pathlib, sys
    import tensorflow as tf
    from ptycho.tensors.translation.xla import translate_xla

    dump = pathlib.Path(sys.argv[1])
    modules = lambda: len(list(dump.glob("*before_optimizations.txt")))
    sizes = [5, 6, 7, 8, 20, 21, 22, 23, 24, 100]
    counts = {}
    for b in sizes:
        translate_xla(tf.zeros([b, 16, 16, 1]), tf.zeros([b, 2]))
    counts["eager"] = modules()
    spec = [tf.TensorSpec([None, 16, 16, 1]), tf.TensorSpec([None, 2])]
    plain = tf.function(translate_xla, input_signature=spec)
    for b in sizes:
        plain(tf.zeros([b, 16, 16, 1]), tf.zeros([b, 2]))
    counts["function"] = modules() - counts["eager"]
    # The control: a jit-compiled function without buckets compiles every new batch size.
    control = tf.function(lambda x: x * 2.0 + 1.0, jit_compile=True)
    for b in sizes:
        control(tf.zeros([b, 16, 16, 1]))
    counts["control"] = modules() - counts["eager"] - counts["function"]
    print(json.dumps(counts))
    """
)


def test_ten_batch_sizes_compile_once_per_bucket(tmp_path):
    """10 calls with 10 batch sizes (5, 6, 7, 8, 20, ..., 24, 100) fall in 4 buckets (6, 8, 24,
    128): at most 4 compilations eagerly and 4 from a plain tf.function with the batch unknown,
    counted as the modules XLA dumps (``--xla_dump_to``: one ``*.before_optimizations.txt`` per
    compilation). The control shows the count is real: without buckets every batch size compiles."""
    env = {**os.environ, "XLA_FLAGS": f"--xla_dump_to={tmp_path}", "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run(
        [sys.executable, "-c", COUNT_COMPILATIONS, str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    counts = json.loads(result.stdout.strip().splitlines()[-1])
    assert counts["control"] == 10
    assert 1 <= counts["eager"] <= 4
    assert 1 <= counts["function"] <= 4
