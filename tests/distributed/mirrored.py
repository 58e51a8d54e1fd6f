"""Training on two logical CPU devices against one device, in its own process (devices are fixed
when TensorFlow initialises). Prints one JSON object of measurements on its last line; the
judgement is tests/test_distributed.py's. Run: python -m tests.distributed.mirrored"""

from __future__ import annotations

import json
from dataclasses import replace

from ptycho.distributed.strategy import logical_cpus, resolve_strategy

DEVICES = logical_cpus(2)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from jaxtyping import Float  # noqa: E402

import contracts  # noqa: E402
from ptycho.config.config import ModelConfig, TrainingConfig  # noqa: E402
from ptycho.data.container import PtychoDataContainer  # noqa: E402
from ptycho.data.raw import RawData  # noqa: E402
from ptycho.physics.objects import lines_object  # noqa: E402
from ptycho.physics.probe import get_default_probe  # noqa: E402
from ptycho.physics.simulation import grid_positions, simulate_diffraction  # noqa: E402
from ptycho.training import train  # noqa: E402

N, GRIDSIZE, NPHOTONS = 16, 2, 1e6


def container(n: int) -> PtychoDataContainer:
    obj = lines_object(48, seed=0)
    probe = get_default_probe(N)
    positions = grid_positions((48, 48), N, 3.0)
    raw = RawData(
        positions[:, 0],
        positions[:, 1],
        simulate_diffraction(obj, probe, positions, NPHOTONS, seed=0),
        probe,
        objectGuess=obj,
    )
    grouped = raw.generate_grouped_data(N, K=4, nsamples=n, gridsize=GRIDSIZE, seed=1, oversample=True)
    return PtychoDataContainer.from_grouped(
        grouped, probe, NPHOTONS, ModelConfig(N=N, gridsize=GRIDSIZE, max_offset=8)
    )


def config(nepochs: int, batch_size: int) -> TrainingConfig:
    model = ModelConfig(N=N, gridsize=GRIDSIZE, n_filters_scale=1, max_offset=8)
    return TrainingConfig(
        model=model, nphotons=NPHOTONS, nepochs=nepochs, batch_size=batch_size, learning_rate=1e-3, loss="nll"
    )


def run(
    data: PtychoDataContainer, cfg: TrainingConfig, strategy: str | None
) -> tuple[dict, list[np.ndarray]]:
    keras.utils.set_random_seed(0)
    result = train(data, cfg, strategy=strategy, devices=DEVICES if strategy else None, epoch_order=True)
    return result.history, [w.numpy() for w in result.model.trainer.weights]


def weight_difference(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    """||a - b|| / ||a|| over all the weights (or gradients) together."""
    flat_a, flat_b = (np.concatenate([x.ravel() for x in w]).astype(np.float64) for w in (a, b))
    return float(np.linalg.norm(flat_a - flat_b) / np.linalg.norm(flat_a))


def even_batches() -> dict:
    data, cfg = container(16), config(nepochs=3, batch_size=4)
    _, w0_one = run(data, replace(cfg, nepochs=0), None)
    _, w0_two = run(data, replace(cfg, nepochs=0), "mirrored")
    h_one, w_one = run(data, cfg, None)
    h_two, w_two = run(data, cfg, "mirrored")
    one = train(data, replace(cfg, nepochs=0)).model.trainer
    two = train(data, replace(cfg, nepochs=0), strategy="mirrored", devices=DEVICES).model.trainer
    two.set_weights(one.get_weights())
    scaled = (data.X[:4] * data.intensity_scale).astype(np.float32)
    batch = ((tf.constant(scaled), tf.constant(data.coords[:4])), tf.constant(scaled**2))
    g_one, g_two = gradients(one, batch, None), gradients(two, batch, resolve_strategy("mirrored", DEVICES))
    return {
        "gradient_difference": weight_difference(g_one, g_two),
        "initial_weight_difference": weight_difference(w0_one, w0_two),
        "loss_one": h_one["loss"],
        "loss_two": h_two["loss"],
        "weight_difference": weight_difference(w_one, w_two),
        "weights_moved": weight_difference(w0_one, w_one),
    }


def gradients(
    trainer: keras.Model, batch: tuple, strategy: tf.distribute.Strategy | None
) -> list[np.ndarray]:
    def replica_gradients(x, y):  # type: ignore[no-untyped-def]
        with tf.GradientTape() as tape:
            _, loss = trainer._global_mean_loss(x, y, training=True)
        return tape.gradient(loss, trainer.trainable_weights)

    if strategy is None:
        return [g.numpy() for g in replica_gradients(*batch)]
    dataset = strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensors(batch))
    x, y = next(iter(dataset))
    per_replica = strategy.run(tf.function(replica_gradients), args=(x, y))
    return [g.numpy() for g in strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)]


def last_batch_of_one() -> dict:
    data, cfg = container(5), config(nepochs=2, batch_size=4)  # batches 4 (2 + 2) and 1 (1 + 0)
    h_one, w_one = run(data, cfg, None)
    h_two, w_two = run(data, cfg, "mirrored")
    # the gradient of the last batch alone, from the same weights, on one device and on two
    one = train(data, replace(cfg, nepochs=0)).model.trainer
    strategy = resolve_strategy("mirrored", DEVICES)  # the one train() used: see strategy.py
    two = train(data, replace(cfg, nepochs=0), strategy=strategy).model.trainer
    two.set_weights(one.get_weights())
    scaled = (data.X[4:5] * data.intensity_scale).astype(np.float32)
    batch = ((tf.constant(scaled), tf.constant(data.coords[4:5])), tf.constant(scaled**2))
    g_one, g_two = gradients(one, batch, None), gradients(two, batch, strategy)
    return {
        "loss_one": h_one["loss"],
        "loss_two": h_two["loss"],
        "weight_difference": weight_difference(w_one, w_two),
        "gradient_difference": weight_difference(g_one, g_two),
        "gradient_norm": float(np.sqrt(sum(float(np.sum(g**2)) for g in g_one))),
    }


@contracts.contract
def doubles_a_single_row(x: Float[tf.Tensor, "B n"]) -> Float[tf.Tensor, "B n"]:
    """A slip written for this test: a share of one row comes back as two rows."""
    return tf.cond(tf.shape(x)[0] == 1, lambda: tf.concat([x, x], 0), lambda: x)


class Slip(keras.layers.Layer):
    def call(self, x):  # type: ignore[no-untyped-def]
        return doubles_a_single_row(x)


def violation_in_a_replica() -> dict:
    strategy = resolve_strategy("mirrored", DEVICES)
    with strategy.scope():
        inputs = keras.Input((3,))
        model = keras.Model(inputs, keras.layers.Dense(3)(Slip()(inputs)))
        model.compile("sgd", "mse")
    # global batches of 4 and 3: replicas get 2 + 2 rows, then 2 + 1 (Keras builds its metrics from
    # the first batch's replicas averaged, which needs them equal)
    x = np.ones((7, 3), np.float32)
    try:
        with contracts.raising_contract_errors():
            model.fit(tf.data.Dataset.from_tensor_slices((x, x)).batch(4), epochs=1, verbose=0)
    except contracts.ShapeContractError as e:
        return {
            "raised": "ShapeContractError",
            "message": str(e),
            "dim": e.violation.dim,
            "replica": e.violation.replica,
        }
    except Exception as e:
        return {"raised": type(e).__name__, "message": str(e)[:2000]}
    return {"raised": None}


if __name__ == "__main__":
    print(
        json.dumps(
            {
                "devices": DEVICES,
                "even": even_batches(),
                "last_one": last_batch_of_one(),
                "violation": violation_in_a_replica(),
            }
        )
    )
