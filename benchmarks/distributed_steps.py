"""Training steps per second with one device and with two replicas (two logical CPU devices of
this machine's CPU), contracts on and off, in one process (devices are fixed at start-up).

    python -m benchmarks.distributed_steps [--batches 16] [--repeats 3]

Prints one JSON object: the fastest step (seconds) of each configuration over ``--repeats`` epochs
of ``--batches`` steps each, after one warm-up epoch. Model: the quick study's (N=32, gridsize 2,
n_filters_scale 1), global batch 16. ``benchmarks/test_distributed_steps.py`` runs it.
"""

from __future__ import annotations

import argparse
import json
import time

from ptycho.distributed.strategy import logical_cpus, resolve_strategy, strategy_scope

DEVICES = logical_cpus(2)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import contracts  # noqa: E402
from ptycho.model.factory import create_model_with_gridsize, training_model  # noqa: E402

N, C, BATCH = 32, 4, 16


class _StepTimes(keras.callbacks.Callback):
    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def on_train_batch_begin(self, batch, logs=None):  # type: ignore[no-untyped-def]
        self.start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):  # type: ignore[no-untyped-def]
        self.times.append(time.perf_counter() - self.start)


def fastest_step(strategy: tf.distribute.Strategy | None, batches: int, repeats: int) -> float:
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (batches * BATCH, N, N, C)).astype(np.float32)
    coords = rng.uniform(-2, 2, (batches * BATCH, 1, 2, C)).astype(np.float32)
    data = tf.data.Dataset.from_tensor_slices(((x, coords), x**2)).batch(BATCH)
    keras.utils.set_random_seed(0)
    with strategy_scope(strategy):
        autoencoder, _ = create_model_with_gridsize(2, N, "xla", n_filters_scale=1)
        trainer = training_model(autoencoder, "nll", 5e-4)
    trainer.fit(data, epochs=1, verbose=0)  # traces and warms up
    times = _StepTimes()
    trainer.fit(data, epochs=repeats, verbose=0, callbacks=[times])
    return min(times.times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    mirrored = resolve_strategy("mirrored", DEVICES)
    results = {}
    for mode in ("full", "off"):
        contracts.set_mode(mode)  # the process default reaches the replica threads
        results[f"1 device, contracts {mode}"] = fastest_step(None, args.batches, args.repeats)
        results[f"2 replicas, contracts {mode}"] = fastest_step(mirrored, args.batches, args.repeats)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
