"""A merged batch caught by a contract in eager, traced and XLA modes.

    python -m contracts.demo

A function takes images ``(B, H, W, C)`` and one label per image ``(B,)``. It is called with the
images of 32 examples already flattened to one row per channel (128 rows) and the 32 labels: the
kind of mismatch that, unchecked, surfaces far downstream as "Input to reshape is a tensor with
... values". The contract names the dim in every mode. Exit code 0 when every mode reported the
mismatch, 1 otherwise.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import tensorflow as tf
from jaxtyping import Float

from contracts import ShapeContractError, contract, get_mode, raising_contract_errors


@contract
def channels_to_rows(
    images: Float[tf.Tensor, "B H W C"], labels: Float[tf.Tensor, " B"]
) -> Float[tf.Tensor, "B*C H W 1"]:
    """Images ``(B, H, W, C)`` -> one row per channel ``(B*C, H, W, 1)``, example-major."""
    shape = tf.shape(images)
    return tf.reshape(tf.transpose(images, [0, 3, 1, 2]), [-1, shape[1], shape[2], 1])


def _report(title: str, run: Callable[[], object]) -> bool:
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
    try:
        get_mode()  # a bad mode in the environment: one line, not a traceback from the first check
    except ValueError as exc:
        print(f"contracts.demo: {exc}", file=sys.stderr)
        return 2
    images = tf.zeros([128, 78, 78, 4])  # 32 examples x 4 channels, already flattened
    labels = tf.zeros([32])
    none_batch = [tf.TensorSpec([None, 78, 78, 4]), tf.TensorSpec([None])]
    graph = tf.function(channels_to_rows, input_signature=none_batch)
    xla = tf.function(channels_to_rows, input_signature=none_batch, jit_compile=True)
    results = [
        _report("eager", lambda: channels_to_rows(images, labels)),
        _report(
            "tf.function, concrete shapes (refuted at trace time)",
            lambda: tf.function(channels_to_rows)(images, labels),
        ),
        _report("tf.function, None batch (checked when the graph runs)", lambda: graph(images, labels)),
        _report(
            "jit_compile=True, None batch (XLA drops Assert; the contract still fires)",
            lambda: xla(images, labels),
        ),
    ]
    good = xla(tf.zeros([32, 78, 78, 4]), labels)
    print(f"--- matching batches under XLA: rows {tuple(good.shape)}")
    caught = sum(results)
    print(f"caught in {caught} of {len(results)} modes")
    return 0 if caught == len(results) and tuple(good.shape) == (128, 78, 78, 1) else 1


if __name__ == "__main__":
    sys.exit(main())
