"""The seed's mismatch, caught by a contract in eager, traced and XLA modes.

    python -m contracts.demo

The seed's XLA run failed with "Input to reshape is a tensor with 778752 values, but the requested
shape has 24336": 128 flat images of 78 x 78 (B*C = 32*4) met a tensor holding C = 4 canvases where
one per group was expected. Here a contracted function receives images with a batch of 128 and
offsets with a batch of 32, as at that boundary, and the contract names the dim in every mode.
Exit code 0 when every mode reported the mismatch as expected, 1 otherwise.
"""

from __future__ import annotations

import sys

import tensorflow as tf
from jaxtyping import Float

from contracts import ShapeContractError, contract, raising_contract_errors


@contract
def flatten_for_translation(
    images: Float[tf.Tensor, "B N N C"], offsets: Float[tf.Tensor, "B 1 2 C"]
) -> Float[tf.Tensor, "B*C N N 1"]:
    """Channel images (B, N, N, C) -> flat images (B*C, N, N, 1), group-major."""
    n = tf.shape(images)[1]
    return tf.reshape(tf.transpose(images, [0, 3, 1, 2]), [-1, n, n, 1])


def _report(title: str, run) -> bool:
    print(f"--- {title}")
    try:
        with raising_contract_errors():
            run()
    except ShapeContractError as e:
        print(e)
        print()
        return "dim B" in str(e)
    print("no error: the mismatch was NOT caught\n")
    return False


def main() -> int:
    images = tf.zeros([128, 78, 78, 4])  # the flat batch, 32 groups x 4 patches
    offsets = tf.zeros([32, 1, 2, 4])  # one row per group
    none_batch = [tf.TensorSpec([None, 78, 78, 4]), tf.TensorSpec([None, 1, 2, 4])]
    graph = tf.function(flatten_for_translation, input_signature=none_batch)
    xla = tf.function(flatten_for_translation, input_signature=none_batch, jit_compile=True)
    results = [
        _report("eager", lambda: flatten_for_translation(images, offsets)),
        _report("tf.function, concrete shapes (refuted at trace time)",
                lambda: tf.function(flatten_for_translation)(images, offsets)),
        _report("tf.function, None batch (checked when the graph runs)", lambda: graph(images, offsets)),
        _report("jit_compile=True, None batch (XLA drops Assert; the contract still fires)",
                lambda: xla(images, offsets)),
    ]
    good = xla(tf.zeros([32, 78, 78, 4]), offsets)
    print(f"--- matching batches under XLA: flat images {tuple(good.shape)}")
    caught = sum(results)
    print(f"caught in {caught} of {len(results)} modes")
    return 0 if caught == len(results) and tuple(good.shape) == (128, 78, 78, 1) else 1


if __name__ == "__main__":
    sys.exit(main())
