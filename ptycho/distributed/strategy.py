"""Which ``tf.distribute`` strategy a training run uses, from what a user can type.

``resolve_strategy`` turns ``None``/``"none"`` (one device, TensorFlow's default strategy),
``"mirrored"`` (all local GPUs, or all logical CPU devices when there is no GPU, or the devices
given), ``"multiworker"`` (``MultiWorkerMirroredStrategy`` from the ``TF_CONFIG`` environment
variable, as ``python -m ptycho.distributed.launch`` writes it) or a ``tf.distribute.Strategy``
object into a strategy or ``None``. ``logical_cpus`` splits the CPU into logical devices, so two
replicas can be tested on a machine without GPUs; it must run before TensorFlow initialises.

Every contract dim ``B`` under a strategy is a replica's share of the global batch, which can be
0 on the last batch: the model runs on an empty batch (``ptycho.model.layers.Conv2D``) and the
trainer divides by the global count of examples (``ptycho.model.factory.Trainer``).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Sequence
from typing import TypeAlias

import tensorflow as tf

STRATEGIES = ("none", "mirrored", "multiworker")
# One strategy per device set and process: two MirroredStrategy objects in one process reuse
# collective keys, and the second fails at its first all-reduce with "Shape mismatch in the
# collective instance" (measured with TF 2.21, two logical CPUs). A multi-worker strategy joins the
# cluster once per process. Bounded by the device sets a process names.
_MIRRORED: dict[tuple[str, ...], tf.distribute.Strategy] = {}
_MULTIWORKER: dict[str, tf.distribute.Strategy] = {}
StrategySpec: TypeAlias = str | tf.distribute.Strategy | None


def resolve_strategy(
    spec: StrategySpec, devices: Sequence[str] | None = None
) -> tf.distribute.Strategy | None:
    """The strategy ``spec`` names, or None for one device (see the module docstring)."""
    if isinstance(spec, tf.distribute.Strategy):
        if devices:
            raise ValueError("devices are chosen by the strategy object itself; pass one or the other")
        return spec
    if spec is None or spec == "none":
        if devices:
            raise ValueError(
                f"devices={list(devices)!r} need strategy='mirrored'; received strategy={spec!r}"
            )
        return None
    if spec == "mirrored":
        chosen = tuple(devices) if devices else tuple(local_devices())
        if chosen not in _MIRRORED:
            _MIRRORED[chosen] = tf.distribute.MirroredStrategy(list(chosen))
        return _MIRRORED[chosen]
    if spec == "multiworker":
        if devices:
            raise ValueError(
                "strategy='multiworker' uses each worker's local devices; devices= is not for it"
            )
        check_tf_config()
        if "multiworker" not in _MULTIWORKER:
            _MULTIWORKER["multiworker"] = tf.distribute.MultiWorkerMirroredStrategy()
        return _MULTIWORKER["multiworker"]
    raise ValueError(f"strategy must be one of {STRATEGIES} or a tf.distribute.Strategy; received: {spec!r}")


def strategy_scope(strategy: tf.distribute.Strategy | None) -> contextlib.AbstractContextManager[object]:
    """``strategy.scope()``, or a scope that does nothing for one device (``None``)."""
    return contextlib.nullcontext() if strategy is None else strategy.scope()


def local_devices() -> list[str]:
    """All local GPUs; without GPUs, every logical CPU device (one unless ``logical_cpus`` ran)."""
    gpus = tf.config.list_logical_devices("GPU")
    return [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]


def logical_cpus(count: int) -> list[str]:
    """Split the first CPU into ``count`` logical devices (before TensorFlow initialises); their names."""
    if count < 1:
        raise ValueError(f"logical_cpus: count must be >= 1; received: {count!r}")
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
    except RuntimeError as e:  # TensorFlow initialised its devices already
        existing = tf.config.list_logical_devices("CPU")
        if len(existing) == count:
            return [d.name for d in existing]
        raise RuntimeError(
            f"logical_cpus({count}): TensorFlow's devices are initialised already with {len(existing)} "
            "CPU device(s); call this first in the process, before any tensor is made"
        ) from e
    return [d.name for d in tf.config.list_logical_devices("CPU")]


def check_tf_config() -> dict:
    """The ``TF_CONFIG`` of this worker, refused unless it names a worker cluster and this task."""
    text = os.environ.get("TF_CONFIG")
    launcher = "set it on each machine, or run `python -m ptycho.distributed.launch --workers N -- ...`"
    if not text:
        raise ValueError(f"strategy='multiworker' needs the TF_CONFIG environment variable: {launcher}")
    try:
        config = json.loads(text)
        workers = config["cluster"]["worker"]
        task = config["task"]
        index = int(task["index"])
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(
            'TF_CONFIG must be JSON {"cluster": {"worker": ["host:port", ...]}, "task": {"type": "worker", '
            f'"index": i}}; received: {text!r} ({e})'
        ) from e
    if not (isinstance(workers, list) and workers and 0 <= index < len(workers)):
        raise ValueError(f"TF_CONFIG's task index {index} is not a worker of {workers!r}")
    return config


def is_chief(strategy: tf.distribute.Strategy | None) -> bool:
    """Whether this process writes the run's outputs (worker 0 of a multi-worker job, else always)."""
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return True
    resolver = strategy.cluster_resolver
    return resolver is None or resolver.task_id in (None, 0)
