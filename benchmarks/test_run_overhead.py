"""What ``trace-shapes run`` costs a program that does not fail: the same program with and without the
recorder, in the same run (goal: at most 1.5x in graph mode).

Each program builds its model, compiles and fits in graph mode (Keras' default), so the recorder's
cost is all of it: layer calls recorded while tracing, and the run-time shape table written at
every step. Two programs: a small Keras MLP, and the quick dose-study preset's PINN (N=32, gridsize
2, batch 8).

make benchmark     (or: python -m pytest benchmarks --benchmark-enable)
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from diagnostics.recorder import Recorder

from .conftest import ratio

pytestmark = pytest.mark.benchmark


def small_keras_fit() -> None:
    import keras

    rng = np.random.default_rng(0)
    x = rng.normal(size=(512, 32)).astype("float32")
    y = rng.integers(0, 10, size=512)
    model = keras.Sequential(
        [
            keras.Input((32,)),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(10),
        ]
    )
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    model.predict(x, batch_size=64, verbose=0)


def quick_pinn_fit() -> None:
    from ptycho.model.factory import create_model_with_gridsize, training_model

    rng = np.random.default_rng(0)
    n, c, groups = 32, 4, 64
    x = np.abs(rng.standard_normal((groups, n, n, c))).astype(np.float32)
    offsets = rng.uniform(-3, 3, (groups, 1, 2, c)).astype(np.float32)
    autoencoder, _ = create_model_with_gridsize(2, n, "xla", n_filters_scale=1)
    trainer = training_model(autoencoder, "mae")
    data = tf.data.Dataset.from_tensor_slices(((x, offsets), x)).batch(8)
    trainer.fit(data, epochs=2, verbose=0)


def recorded(program):
    def run() -> None:
        with Recorder():
            program()

    return run


@pytest.mark.parametrize(
    "key, fn",
    [
        ("run: small keras fit plain", small_keras_fit),
        ("run: small keras fit recorded", recorded(small_keras_fit)),
        ("run: quick PINN fit plain", quick_pinn_fit),
        ("run: quick PINN fit recorded", recorded(quick_pinn_fit)),
    ],
)
def test_program_with_and_without_the_recorder(timed, key, fn):
    timed(key, fn, rounds=3)


ratio(
    "run: small Keras fit, recorded / plain",
    "run: small keras fit recorded",
    "run: small keras fit plain",
    goal="<= 1.5",
)
ratio(
    "run: quick PINN fit, recorded / plain",
    "run: quick PINN fit recorded",
    "run: quick PINN fit plain",
    goal="<= 1.5",
)
