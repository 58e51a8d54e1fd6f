"""One worker of a multi-worker training (``python -m ptycho.distributed.launch --workers 2 -- python
-m tests.distributed.multiworker OUT``), or with ``--one-process`` the same training in one process.

Trains the model of ``tests/distributed/mirrored.py`` for 2 epochs (global batch 4) with
``strategy="multiworker"`` and writes the chief's final weights to ``OUT/weights.npz``.
``--die-after-epoch K``: worker 1 kills itself (SIGKILL) after epoch K, as a crashed machine would.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("out", type=Path)
parser.add_argument("--one-process", action="store_true")
parser.add_argument("--die-after-epoch", type=int, default=None)
args = parser.parse_args()

from ptycho.distributed.strategy import is_chief, resolve_strategy  # noqa: E402

# A multi-worker strategy is made first: it configures TensorFlow's collectives at start-up.
strategy = None if args.one_process else resolve_strategy("multiworker")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from ptycho.training import train  # noqa: E402
from tests.distributed.mirrored import config, container  # noqa: E402


class _Die(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):  # type: ignore[no-untyped-def]
        if epoch + 1 == args.die_after_epoch and os.environ.get("PTYCHO_WORKER_INDEX") == "1":
            print(f"worker 1 kills itself after epoch {epoch + 1}", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)


data, cfg = container(16), config(nepochs=2 if args.die_after_epoch is None else 50, batch_size=4)
keras.utils.set_random_seed(0)
result = train(data, cfg, callbacks=[_Die()], strategy=strategy, epoch_order=True)
if is_chief(strategy):
    args.out.mkdir(parents=True, exist_ok=True)
    weights = result.model.trainer.get_weights()
    np.savez(args.out / "weights.npz", *weights)
    print("loss", result.history["loss"], flush=True)
sys.exit(0)
