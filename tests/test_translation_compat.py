"""The private TensorFlow/XLA names of ptycho/tensors/translation/_compat.py, pinned to the installed TF."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from ptycho.tensors.translation._compat import gather_dimension_numbers, xla_gather


def test_xla_gather_takes_a_run_of_elements_per_index_and_clamps_its_start():
    numbers = gather_dimension_numbers(
        offset_dims=[1], collapsed_slice_dims=[], start_index_map=[0], index_vector_dim=1
    )
    operand = tf.range(10, dtype=tf.float32)

    @tf.function(jit_compile=True)
    def runs(starts):
        return xla_gather(operand, starts, numbers, tf.constant([3]))

    out = runs(tf.constant([[0], [4], [9]])).numpy()
    np.testing.assert_array_equal(out, [[0, 1, 2], [4, 5, 6], [7, 8, 9]])  # start 9 clamped to 7
