"""Translation backends: XLA kernel vs ImageProjectiveTransformV3 (graph and eager), with a yardstick.

The yardstick is an XLA-compiled elementwise op reading and writing the same bytes, so the ratio
"XLA / yardstick" says how far the kernel is from memory bandwidth on this machine. Two parts of
the kernel are timed alone to show where its time goes: the y pass (a per-image row gather) and
one transpose of the stack, the operation the x pass is built on.

    make benchmark
"""

from __future__ import annotations

import pytest
import tensorflow as tf

from ptycho.projective_warp_xla import _shift_rows, translate_xla
from ptycho.translation import translate_v3

from .conftest import ratio

pytestmark = pytest.mark.benchmark

SIZES = [(b, n) for b in (32, 128, 512) for n in (64, 78, 128)]


def _yardstick(images, translations):
    return images * 1.0001 + translations[0, 0]


def _y_pass(images, translations):
    return _shift_rows(images, translations[:, 1])


def _transpose(images, translations):
    return tf.transpose(images, [0, 2, 1, 3]) + translations[0, 0]


MAX_SHIFT = 7.0  # the seed's max offset; the shifts below are drawn within it


def _bounded(images, translations):
    return translate_xla(images, translations, max_shift=MAX_SHIFT)


BACKENDS = {
    "xla": tf.function(translate_xla, jit_compile=True),
    "xla bounded": tf.function(_bounded, jit_compile=True),
    "v3 graph": tf.function(translate_v3),
    "v3 eager": translate_v3,
    "yardstick": tf.function(_yardstick, jit_compile=True),
    "y pass": tf.function(_y_pass, jit_compile=True),
    "transpose": tf.function(_transpose, jit_compile=True),
}


@pytest.mark.parametrize("backend", list(BACKENDS))
@pytest.mark.parametrize("b, n", SIZES)
def test_translate(timed, backend, b, n):
    images = tf.random.uniform([b, n, n, 1])
    shifts = tf.random.uniform([b, 2], -MAX_SHIFT, MAX_SHIFT)
    fn = BACKENDS[backend]
    assert fn(images, shifts).shape == (b, n, n, 1)
    timed(f"{backend} B={b} N={n}", fn, images, shifts, rounds=15)


for _b, _n in SIZES:
    ratio(f"B={_b} N={_n}: xla / v3 graph", f"xla B={_b} N={_n}", f"v3 graph B={_b} N={_n}", "<= 0.4")
    ratio(f"B={_b} N={_n}: xla / yardstick", f"xla B={_b} N={_n}", f"yardstick B={_b} N={_n}", "<= 2.5")
    ratio(f"B={_b} N={_n}: xla bounded / v3 graph", f"xla bounded B={_b} N={_n}", f"v3 graph B={_b} N={_n}", "<= 0.4")
    ratio(f"B={_b} N={_n}: xla bounded / yardstick", f"xla bounded B={_b} N={_n}", f"yardstick B={_b} N={_n}", "<= 2.5")
    ratio(f"B={_b} N={_n}: v3 eager / v3 graph", f"v3 eager B={_b} N={_n}", f"v3 graph B={_b} N={_n}")
    ratio(f"B={_b} N={_n}: y pass / yardstick", f"y pass B={_b} N={_n}", f"yardstick B={_b} N={_n}")
    ratio(f"B={_b} N={_n}: transpose / yardstick", f"transpose B={_b} N={_n}", f"yardstick B={_b} N={_n}")
