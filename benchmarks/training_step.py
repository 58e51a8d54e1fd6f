"""The training step of the 778752 incident's configuration (N=64, gridsize 2, batch 32, 2x filters):
its FLOPs, its time and where the time goes, against what this CPU's matmul and convolution reach.

FLOPs: a 3x3 convolution producing H x W x C_out from C_in channels costs 2 H W 9 C_in C_out per
example forward; a training step costs 3x that (forward, gradient of the input, gradient of the
weights), summed over the model's Conv2D layers. The convolutions are nearly all of the step's
arithmetic (the FFTs and translations are O(N^2 log N) per pattern), so the achieved rate is
(conv FLOPs per step) / (step time), reported against three yardsticks measured in the same run:
a 2048^2 float32 matmul, and a 32x64x64x64 -> 64 3x3 convolution in float32 and in bfloat16.

Parts of the step, each timed alone as a compiled sub-graph (forward and gradient): the convolution
stack (diffraction -> amplitude and phase heads), the physics (patches -> reassembly, extraction,
probe, FFT -> intensity) and its translations alone (reassembly and extraction), and Adam's update;
the contracts' share is the step with contracts off; the input pipeline's and Keras' loop's, a step
of ``fit`` over a ``tf.data`` set in memory against ``train_on_batch``.
Prediction throughput is diffraction patterns per second through ``predict`` (batch 32).

    python -m benchmarks.training_step                      # float32 and bfloat16 convolutions
    python -m benchmarks.training_step --precision float32 --json   # one variant, for a driver
    python -m benchmarks.training_step --precision float32 --checkout ../old   # another commit
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

N, GRIDSIZE, BATCH, FILTERS, MAX_OFFSET = 64, 2, 32, 2, 7.0


def best(fn: Callable[[], Any], rounds: int = 8, warmup: int = 2) -> float:
    """The fastest of ``rounds`` calls, in seconds (the statistic least disturbed by other work)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def yardsticks() -> dict[str, float]:
    """GFLOP/s of a float32 matmul and of a 3x3 convolution in float32 and bfloat16."""
    import tensorflow as tf

    a = tf.random.uniform([2048, 2048])
    matmul = tf.function(lambda: tf.matmul(a, a))
    x = tf.random.uniform([32, 64, 64, 64])
    k = tf.random.uniform([3, 3, 64, 64])
    conv = tf.function(lambda x, k: tf.nn.conv2d(x, k, 1, "SAME"))
    conv_flops = 2 * 32 * 64 * 64 * 9 * 64 * 64
    xb, kb = tf.cast(x, tf.bfloat16), tf.cast(k, tf.bfloat16)
    return {
        "matmul_float32": 2 * 2048**3 / best(lambda: matmul().numpy()) / 1e9,
        "conv_float32": conv_flops / best(lambda: conv(x, k).numpy()) / 1e9,
        "conv_bfloat16": conv_flops / best(lambda: conv(xb, kb).numpy()) / 1e9,
    }


def conv_flops_per_example(model: Any) -> int:
    """Forward FLOPs of every Conv2D of ``model`` for one example (2 H W k^2 C_in C_out each)."""
    import keras

    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            _, height, width, c_out = layer.output.shape
            kh, kw, c_in, _ = layer.kernel.shape
            total += 2 * height * width * kh * kw * c_in * c_out
    return total


def data(groups: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.abs(rng.standard_normal((groups, N, N, GRIDSIZE**2))).astype(np.float32) * 0.1
    coords = rng.uniform(-5, 5, (groups, 1, 2, GRIDSIZE**2)).astype(np.float32)
    return x, coords


def measure(precision: str, rounds: int) -> dict[str, float]:
    """Step, parts and prediction of one model variant (fresh model, fixed inputs)."""
    import keras
    import tensorflow as tf

    import contracts
    from ptycho.model.factory import create_model_with_gridsize, training_model

    # Checkouts from before conv_precision existed build float32 convolutions without the argument.
    precision_argument = {} if precision == "float32" else {"conv_precision": precision}

    def build() -> tuple[Any, Any, Any]:
        autoencoder, to_object = create_model_with_gridsize(
            GRIDSIZE, N, "xla", n_filters_scale=FILTERS, max_offset=MAX_OFFSET, **precision_argument
        )
        return autoencoder, to_object, training_model(autoencoder, "nll", 1e-3)

    keras.utils.set_random_seed(0)
    autoencoder, to_object, trainer = build()
    x, coords = data(BATCH)
    target = x**2
    step = best(lambda: trainer.train_on_batch([x, coords], target), rounds)

    # The convolution stack alone: diffraction -> both heads, forward and gradient of the weights.
    heads = keras.Model(
        autoencoder.inputs[0],
        [autoencoder.get_layer("amplitude_head").output, autoencoder.get_layer("phase_head").output],
    )

    @tf.function
    def conv_part(x: tf.Tensor) -> list[tf.Tensor]:
        with tf.GradientTape() as tape:
            amplitude, phase = heads(x, training=True)
            loss = tf.reduce_sum(amplitude) + tf.reduce_sum(phase)
        return tape.gradient(loss, heads.trainable_variables)

    convs = best(lambda: [g.numpy() for g in conv_part(x)], rounds)

    # The physics alone: complex patches -> predicted intensity, forward and gradient of the patches.
    names = ["reassemble", "object", "extract", "illumination", "diffraction_amplitude"]
    layers = {name: autoencoder.get_layer(name) for name in names}
    patches = tf.complex(tf.random.uniform([BATCH, N, N, GRIDSIZE**2]), tf.zeros([BATCH, N, N, GRIDSIZE**2]))

    @tf.function
    def physics_part(patches: tf.Tensor, coords: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            tape.watch(patches)
            canvas = layers["reassemble"](patches, coords)
            flat = layers["extract"](canvas, coords)
            amplitude = layers["diffraction_amplitude"](layers["illumination"](flat))
            loss = tf.reduce_sum(tf.square(amplitude))
        return tape.gradient(loss, patches)

    physics = best(lambda: physics_part(patches, tf.constant(coords)).numpy(), rounds)

    @tf.function
    def translation_part(patches: tf.Tensor, coords: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            tape.watch(patches)
            flat = layers["extract"](layers["reassemble"](patches, coords), coords)
            loss = tf.reduce_sum(tf.abs(flat))
        return tape.gradient(loss, patches)

    translation = best(lambda: translation_part(patches, tf.constant(coords)).numpy(), rounds)

    # The input pipeline and Keras' loop: a step of fit over a data set in memory, minus the step.
    dataset = tf.data.Dataset.from_tensor_slices(((x, coords), target)).repeat(8).batch(BATCH)
    trainer.fit(dataset, epochs=1, verbose=0)
    start = time.perf_counter()
    trainer.fit(dataset, epochs=1, verbose=0)
    fit_step = (time.perf_counter() - start) / 8

    variables = trainer.trainable_variables
    gradients = [tf.ones_like(v) * 1e-6 for v in variables]
    optimizer = trainer.optimizer
    update = tf.function(lambda: optimizer.apply_gradients(zip(gradients, variables, strict=True)))
    adam = best(lambda: update(), rounds)

    groups = 512
    many_x, many_coords = data(groups, seed=1)
    predict = best(lambda: to_object.predict([many_x, many_coords], batch_size=BATCH, verbose=0), 3, 1)

    previous = contracts.set_mode("off")
    try:
        keras.utils.set_random_seed(0)
        _, _, plain_trainer = build()
        plain_step = best(lambda: plain_trainer.train_on_batch([x, coords], target), rounds)
    finally:
        contracts.set_mode(previous)

    flops = 3 * BATCH * conv_flops_per_example(autoencoder)
    return {
        "step": step,
        "step_contracts_off": plain_step,
        "convolutions": convs,
        "physics": physics,
        "translation": translation,
        "fit_step": fit_step,
        "adam": adam,
        "conv_gflop_per_step": flops / 1e9,
        "patterns_per_second": groups * GRIDSIZE**2 / predict,
    }


def report(results: dict[str, dict[str, float]], sticks: dict[str, float]) -> None:
    print(
        f"yardsticks (GFLOP/s): matmul float32 {sticks['matmul_float32']:.0f}, "
        f"conv float32 {sticks['conv_float32']:.0f}, conv bfloat16 {sticks['conv_bfloat16']:.0f}"
    )
    print(
        "| convolutions | step | step in fit | contracts off | conv stack | physics (translation) | Adam | "
        "conv GFLOP/step | achieved GFLOP/s | / fp32 conv | / bf16 conv | / matmul | patterns/s (predict) |"
    )
    print("|---" * 13 + "|")
    for name, r in results.items():
        rate = r["conv_gflop_per_step"] / r["step"]
        print(
            f"| {name} | {r['step'] * 1e3:.0f} ms | {r['fit_step'] * 1e3:.0f} ms | "
            f"{r['step_contracts_off'] * 1e3:.0f} ms | {r['convolutions'] * 1e3:.0f} ms | "
            f"{r['physics'] * 1e3:.0f} ms ({r['translation'] * 1e3:.0f} ms) | {r['adam'] * 1e3:.1f} ms | "
            f"{r['conv_gflop_per_step']:.0f} | {rate:.0f} | {rate / sticks['conv_float32']:.2f} | "
            f"{rate / sticks['conv_bfloat16']:.2f} | {rate / sticks['matmul_float32']:.2f} | "
            f"{r['patterns_per_second']:.0f} |"
        )
    if {"float32", "bfloat16"} <= results.keys():
        speedup = results["float32"]["step"] / results["bfloat16"]["step"]
        throughput = results["bfloat16"]["patterns_per_second"] / results["float32"]["patterns_per_second"]
        print(f"bfloat16 / float32: step {speedup:.2f}x faster, prediction {throughput:.2f}x the patterns/s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--precision", choices=("float32", "bfloat16"), nargs="+", default=["float32", "bfloat16"]
    )
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument(
        "--checkout",
        default=None,
        help="import ptycho and contracts from this checkout (to time another commit in the same run)",
    )
    parser.add_argument("--json", action="store_true", help="print the measurements as one JSON line")
    args = parser.parse_args(argv)
    if args.checkout is not None:
        sys.path.insert(0, args.checkout)
    sticks = yardsticks()
    results = {precision: measure(precision, args.rounds) for precision in args.precision}
    sticks_after = yardsticks()  # the machine's state may drift: keep the faster reading of each
    sticks = {k: max(v, sticks_after[k]) for k, v in sticks.items()}
    if args.json:
        import ptycho

        print(json.dumps({"yardsticks": sticks, "results": results, "ptycho": ptycho.__file__}))
    else:
        report(results, sticks)
    return 0


if __name__ == "__main__":
    sys.exit(main())
