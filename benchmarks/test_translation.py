"""Translation backends: XLA kernel vs ImageProjectiveTransformV3 (graph and eager), with a yardstick.

The yardstick is an XLA-compiled elementwise op reading and writing the same bytes, so the ratio
"XLA / yardstick" says how far the kernel is from memory bandwidth on this machine. "xla batch
unknown" is the same kernel traced with a None batch, as the model's layers run it. "xla rows" is
the kernel that runs while H, W or C are unknown (two 1-D row shifts and two transposes), timed here
compiled so the row-window kernel has a baseline.

    make benchmark
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
import tensorflow as tf

from ptycho.tensors.reassembly import extract_patches_position, reassemble_patches_position_real
from ptycho.tensors.translation.v3 import translate_v3
from ptycho.tensors.translation.xla import _translate_rows, translate_xla

from .conftest import ratio

pytestmark = pytest.mark.benchmark

SIZES = [(b, n) for b in (32, 128, 512) for n in (64, 78, 128)]


def _yardstick(images, translations):
    return images * 1.0001 + translations[0, 0]


MAX_OFFSET = 7.0  # the seed's max offset; the shifts are drawn within it


@functools.cache
def _batch_unknown(n: int):
    """As the model's layers trace it: the batch unknown while tracing, known to XLA."""
    signature = [tf.TensorSpec([None, n, n, 1]), tf.TensorSpec([None, 2])]
    return tf.function(translate_xla, input_signature=signature, jit_compile=True)


BACKENDS = {
    "xla": tf.function(translate_xla, jit_compile=True),
    "xla eager": translate_xla,  # compiles itself (ptycho/tensors/compiled.py)
    "xla plain function": tf.function(translate_xla),
    "xla batch unknown": _batch_unknown,
    "xla rows": tf.function(_translate_rows, jit_compile=True),
    "v3 graph": tf.function(translate_v3),
    "v3 eager": translate_v3,
    "yardstick": tf.function(_yardstick, jit_compile=True),
}


@pytest.mark.parametrize("backend", list(BACKENDS))
@pytest.mark.parametrize("b, n", SIZES)
def test_translate(timed, benchmark, backend, b, n):
    if benchmark.disabled and backend in ("xla eager", "xla plain function"):
        pytest.skip("timing only; tests/test_compiled.py checks what these calls compute")
    images = tf.random.uniform([b, n, n, 1])
    shifts = tf.random.uniform([b, 2], -MAX_OFFSET, MAX_OFFSET)
    fn = _batch_unknown(n) if backend == "xla batch unknown" else BACKENDS[backend]
    assert fn(images, shifts).shape == (b, n, n, 1)
    timed(f"{backend} B={b} N={n}", fn, images, shifts, rounds=15)


for _b, _n in SIZES:
    ratio(f"B={_b} N={_n}: xla / v3 graph", f"xla B={_b} N={_n}", f"v3 graph B={_b} N={_n}", "<= 0.4")
    ratio(f"B={_b} N={_n}: xla / yardstick", f"xla B={_b} N={_n}", f"yardstick B={_b} N={_n}", "<= 2.5")
    ratio(
        f"B={_b} N={_n}: xla batch unknown / yardstick",
        f"xla batch unknown B={_b} N={_n}",
        f"yardstick B={_b} N={_n}",
    )
    ratio(f"B={_b} N={_n}: xla rows / yardstick", f"xla rows B={_b} N={_n}", f"yardstick B={_b} N={_n}")
    ratio(f"B={_b} N={_n}: v3 eager / v3 graph", f"v3 eager B={_b} N={_n}", f"v3 graph B={_b} N={_n}")
    for _how in ("eager", "plain function"):
        ratio(f"B={_b} N={_n}: xla {_how} / jit", f"xla {_how} B={_b} N={_n}", f"xla B={_b} N={_n}", "<= 1.3")


# Per-group reassembly and extraction of the seed configuration (N=64, gridsize 2, M=78): called
# eagerly, from a plain tf.function, and under jit_compile=True.
def _reassemble(patches, offsets):
    return reassemble_patches_position_real(patches, offsets, 78, backend="xla", support=32)


def _extract(canvas, offsets):
    return extract_patches_position(canvas, offsets, 64, backend="xla")


GROUP_KERNELS = {"reassembly": _reassemble, "extraction": _extract}
CALLERS = {
    "eager": lambda fn: fn,
    "plain function": tf.function,
    "jit": lambda fn: tf.function(fn, jit_compile=True),
}


@pytest.mark.parametrize("caller", list(CALLERS))
@pytest.mark.parametrize("kernel", list(GROUP_KERNELS))
@pytest.mark.parametrize("b", [8, 32, 128])
def test_group_kernels(timed, benchmark, kernel, caller, b):
    if benchmark.disabled:
        pytest.skip("timing only; tests/test_compiled.py checks what these calls compute")
    rng = np.random.default_rng(0)
    offsets = tf.constant(rng.uniform(-7, 7, (b, 1, 2, 4)), tf.float32)
    if kernel == "reassembly":
        values = rng.standard_normal((b, 64, 64, 4)) + 1j * rng.standard_normal((b, 64, 64, 4))
    else:
        values = rng.standard_normal((b, 78, 78, 1)) + 1j * rng.standard_normal((b, 78, 78, 1))
    first = tf.constant(values, tf.complex64)
    fn = CALLERS[caller](GROUP_KERNELS[kernel])
    timed(f"{kernel} {caller} B={b}", lambda: fn(first, offsets).numpy(), rounds=15)


for _b in (8, 32, 128):
    for _kernel in GROUP_KERNELS:
        for _how in ("eager", "plain function"):
            ratio(
                f"{_kernel} B={_b} (N=64, C=4): {_how} / jit",
                f"{_kernel} {_how} B={_b}",
                f"{_kernel} jit B={_b}",
                "<= 1.3",
            )
