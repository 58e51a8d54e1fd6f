"""The 778752 incident, re-enacted on this stack: the batch merged into one canvas once B*C >= 64.

The older PtychoPINN codebase had no shape contracts and a reassembly that summed the whole batch
into one canvas once B*C reached 64 patches (a ``tf.cond`` on the run-time batch). Here the stack
runs with that defect injected (``diagnostics.faults``) and contracts off, as that codebase did:

    PTYCHO_CONTRACTS=off trace-shapes run --out incident.json examples/incident_778752.py
    trace-shapes explain "Input to reshape is a tensor with 778752 values, but the requested shape \
has 24336" --trace incident.json

Usage: python examples/incident_778752.py [--batch 32] [--gridsize 2] [--N 64] [--graph]
(the story: docs/incident-778752.md).
"""

from __future__ import annotations

import argparse

import numpy as np
import tensorflow as tf

from diagnostics.faults import FAULTS
from ptycho.model.factory import create_model_with_gridsize


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--batch", type=int, default=32, help="groups per batch (default: 32)")
    p.add_argument("--gridsize", type=int, default=2, help="patches per group side (default: 2)")
    p.add_argument("--N", type=int, default=64, help="patch side in pixels (default: 64)")
    p.add_argument("--graph", action="store_true", help="run the model in a tf.function (default: eager)")
    args = p.parse_args()
    c = args.gridsize**2
    rng = np.random.default_rng(0)
    x = np.abs(rng.standard_normal((args.batch, args.N, args.N, c))).astype(np.float32)
    offsets = rng.uniform(-6, 6, (args.batch, 1, 2, c)).astype(np.float32)
    with FAULTS["batch-merge"].patch():
        autoencoder, _ = create_model_with_gridsize(args.gridsize, args.N, "xla", n_filters_scale=1)
        run = (
            tf.function(lambda a, b: autoencoder([a, b]))
            if args.graph
            else (lambda a, b: autoencoder([a, b]))
        )
        outputs = run(tf.constant(x), tf.constant(offsets))
    print("output shapes:", [tuple(o.shape) for o in outputs])


if __name__ == "__main__":
    main()
