"""No module-level container grows with calls: 1,000 eager stitches and 1,000 calls of a traced function."""

from __future__ import annotations

import sys
from types import ModuleType

import numpy as np
import tensorflow as tf
from jaxtyping import Float

from contracts import contract


def _container_sizes() -> dict[str, int]:
    """len() of every module-level object of ours that has one (dicts, lists, sets, tables)."""
    sizes = {}
    for name, module in list(sys.modules.items()):
        if not isinstance(module, ModuleType) or name.split(".")[0] not in (
            "contracts",
            "ptycho",
            "diagnostics",
        ):
            continue
        for attr, value in vars(module).items():
            if isinstance(value, (type, ModuleType, str, bytes)) or callable(value):
                continue
            try:
                sizes[f"{name}.{attr}"] = len(value)
            except TypeError:
                continue
    return sizes


@contract
def pair_rows(a: Float[tf.Tensor, "B N"], b: Float[tf.Tensor, "B N"]) -> Float[tf.Tensor, "B 2*N"]:
    return tf.concat([a, b], axis=1)


def test_hundreds_of_traced_and_eager_calls_leave_every_module_container_the_same_size():
    from ptycho.tensors.stitching import reassemble_position

    traced = tf.function(pair_rows, input_signature=[tf.TensorSpec([None, 3])] * 2)
    patches = np.ones((4, 8, 8, 1), np.float32)
    offsets = np.array([[10, 10], [12, 10], [10, 12], [12, 12]], np.float32).reshape(4, 1, 2, 1)
    a = tf.zeros([2, 3])
    # one of each first: caches filled once (tracing, the deferred-check table) are the baseline
    traced(a, a)
    pair_rows(a, a)
    reassemble_position(patches, offsets, (24, 24))
    before = _container_sizes()
    for i in range(250):  # a cache growing per call would grow by 250
        traced(tf.zeros([i % 5, 3]), tf.zeros([i % 5, 3]))
        pair_rows(a, a)
        reassemble_position(patches, offsets, (24, 24))
    after = _container_sizes()
    grown = {k: (before.get(k), v) for k, v in after.items() if before.get(k) != v}
    assert not grown, f"module-level containers changed size: {grown}"
    assert len(before) > 5  # the scan found the module state it is meant to watch
