"""``ptycho-simulate``: a simulated scan as an NPZ with PtychoPINN's keys and the ground truth.

Writes ``xcoords``, ``ycoords`` (patch centres in object pixels), ``diff3d`` (amplitudes
``sqrt(counts)``), ``probeGuess``, ``objectGuess`` (the true object), ``scan_index`` and
``nphotons``.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import _common, _flags

log = logging.getLogger("ptycho.cli")  # not __name__: "__main__" under python -m
PROG = "ptycho-simulate"


def build_parser() -> argparse.ArgumentParser:
    from ..physics.scan import SimulationConfig

    parser = _common.parser(
        PROG,
        "Simulate a ptychographic scan (object, probe, positions, Poisson counts) into an NPZ file\n"
        "that ptycho-train and ptycho-reconstruct read.",
        "example:\n  ptycho-simulate --output scan.npz --N 32 --object_size 96 --nphotons 1e6",
    )
    parser.add_argument("--output", type=Path, required=True, help="the NPZ file to write (.npz)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    _flags.add_dataclass_flags(parser.add_argument_group("simulation"), SimulationConfig)
    return parser


def run(args: argparse.Namespace) -> int:
    from ..physics.scan import SimulationConfig, simulate_scan

    out: Path = args.output
    if out.suffix != ".npz":
        raise ValueError(f"--output {str(out)!r}: expected a file name ending in .npz")
    if out.exists() and not args.overwrite:
        raise ValueError(f"--output {str(out)!r} exists; choose another name or pass --overwrite")
    if not out.parent.resolve().is_dir():
        raise ValueError(f"--output {str(out)!r}: directory {str(out.parent)!r} does not exist")
    config = SimulationConfig(**_flags.given(args, SimulationConfig))
    raw = simulate_scan(config)
    raw.to_file(out)
    counts = float(np.mean(np.sum(raw.diff3d.astype(np.float64) ** 2, axis=(1, 2))))
    assert raw.objectGuess is not None
    log.info(
        "wrote %s: %d positions, N=%d, object %d x %d px, mean %.4g photons per pattern",
        out,
        len(raw.xcoords),
        raw.N,
        raw.objectGuess.shape[1],
        raw.objectGuess.shape[0],
        counts,
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return _common.main(PROG, build_parser, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
