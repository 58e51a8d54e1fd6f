"""Kernels that compile themselves: run an XLA kernel compiled wherever it is called from.

A kernel written in XLA-compilable ops is fast only inside an XLA cluster; called eagerly or from
a plain ``tf.function`` TensorFlow runs it op by op (``translate_xla`` at B=128, N=78: about 1 ms
compiled, 4-7 ms in a plain ``tf.function``, 25-29 ms eagerly). ``run_compiled(kernel, tensors,
**static)`` runs ``kernel(*tensors, **static)``:

* inside an XLA cluster (``jit_compile=True``, or a function called from one): inline, so the
  caller's cluster compiles it with everything around it;
* anywhere else: through a ``tf.function(jit_compile=True)`` made once per kernel, static
  arguments and signature (dtypes and every dim but the batch), traced with the batch ``None``.

XLA compiles once per concrete shape, so the batch (axis 0 of every tensor, the same for all) is
padded with zeros up to a bucket, and the outputs are cut back to it: the buckets are the powers of
two and 1.5 times them (1, 2, 3, 4, 6, 8, 12, 16, 24, ...), so n different batch sizes up to B
compile at most ``2 * log2(B) + 1`` times, and padding adds less than half. A kernel called here
must treat batch rows independently, take zeros as a valid row, and return batch-major tensors.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable
from typing import Any

import tensorflow as tf

from contracts import in_xla_context

Kernel = Callable[..., Any]
_FUNCTIONS = 64  # compiled functions kept (least recently used dropped): bounded state


def bucket(batch: int) -> int:
    """The smallest of 0, 1, 2, 3, 4, 6, 8, 12, ... (2**k and 3 * 2**(k-1)) that is >= ``batch``."""
    if batch < 0:
        raise ValueError(f"bucket: batch must be >= 0; received: batch={batch}")
    if batch <= 2:
        return batch
    power = 1 << (batch - 1).bit_length()  # smallest power of two >= batch
    three_quarters = 3 * power // 4
    return three_quarters if three_quarters >= batch else power


def _bucket_tensor(batch: tf.Tensor) -> tf.Tensor:
    """``bucket`` of a run-time batch size (int32 scalar), in graph ops."""
    wide = tf.cast(batch, tf.int64)
    # The smallest power of two >= batch: bit length of (batch - 1), exact in integers.
    bits = tf.zeros([], tf.int64)
    rest = tf.maximum(wide - 1, 0)
    for shift in (32, 16, 8, 4, 2, 1):
        high = tf.bitwise.right_shift(rest, shift) > 0
        bits += tf.where(high, tf.constant(shift, tf.int64), 0)
        rest = tf.where(high, tf.bitwise.right_shift(rest, shift), rest)
    bits += tf.cast(rest > 0, tf.int64)
    power = tf.bitwise.left_shift(tf.constant(1, tf.int64), bits)
    three_quarters = 3 * power // 4
    chosen = tf.where(three_quarters >= wide, three_quarters, power)
    return tf.cast(tf.where(wide <= 2, wide, chosen), tf.int32)


def _signature(tensors: tuple[tf.Tensor, ...]) -> tuple[tuple[tf.DType, tuple[int | None, ...]], ...]:
    return tuple((t.dtype, tuple(t.shape[1:].as_list())) for t in tensors)


@functools.lru_cache(maxsize=_FUNCTIONS)
def compiled_function(
    kernel: Kernel,
    static: tuple[tuple[str, Hashable], ...],
    signature: tuple[tuple[tf.DType, tuple[int | None, ...]], ...],
) -> Any:
    """The one ``tf.function(jit_compile=True)`` for ``kernel`` with these static arguments and
    this signature (batch ``None``); cached, at most 64 kept."""
    specs = [tf.TensorSpec([None, *shape], dtype) for dtype, shape in signature]
    keywords = dict(static)

    def call(*tensors: tf.Tensor) -> Any:
        return kernel(*tensors, **keywords)

    call.__name__ = f"compiled_{getattr(kernel, '__name__', 'kernel')}"
    return tf.function(call, input_signature=specs, jit_compile=True, autograph=False)


def _pad_batch(tensor: tf.Tensor, extra: tf.Tensor | int) -> tf.Tensor:
    if isinstance(extra, int) and extra == 0:
        return tensor
    return tf.pad(tensor, [[0, extra]] + [[0, 0]] * (tensor.shape.rank - 1))


def run_compiled(kernel: Kernel, tensors: tuple[tf.Tensor, ...], **static: Hashable) -> Any:
    """``kernel(*tensors, **static)`` compiled by XLA from eager code, a plain ``tf.function`` or
    an XLA cluster alike (see the module). ``tensors`` share their batch (axis 0); every other dim,
    and the rank, must be known; ``static`` values are hashable (they key the compiled function)."""
    if in_xla_context():
        return kernel(*tensors, **static)
    tensors = tuple(tf.convert_to_tensor(t) for t in tensors)
    for t in tensors:
        if t.shape.rank is None or not t.shape[1:].is_fully_defined():
            raise ValueError(
                f"run_compiled({getattr(kernel, '__name__', kernel)}): every dim but the batch must be "
                f"known to compile; received a tensor of shape {t.shape}"
            )
    function = compiled_function(kernel, tuple(sorted(static.items())), _signature(tensors))
    known = tensors[0].shape[0]
    if known is not None:
        size = bucket(known)
        outputs = function(*(_pad_batch(t, size - known) for t in tensors))
        return outputs if size == known else tf.nest.map_structure(lambda o: o[:known], outputs)
    batch = tf.shape(tensors[0])[0]
    extra = _bucket_tensor(batch) - batch
    padded = [_pad_batch(t, extra) for t in tensors]
    return tf.nest.map_structure(lambda o: o[:batch], function(*padded))
