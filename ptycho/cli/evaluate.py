"""``ptycho-evaluate``: score a reconstruction against a ground truth (or another reconstruction).

The metrics of ``ptycho.evaluation`` (amplitude and phase MAE, PSNR, SSIM, FRC resolution at 1/7)
printed as a table; with ``--output_dir`` also ``metrics.json`` and ``frc.png``.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import _common

log = logging.getLogger("ptycho.cli")  # not __name__: "__main__" under python -m
PROG = "ptycho-evaluate"
OBJECT_KEYS = ("object", "objectGuess")


def build_parser() -> argparse.ArgumentParser:
    parser = _common.parser(
        PROG,
        "Compare two complex images of the same shape: a reconstruction (key 'object', as\n"
        "ptycho-reconstruct writes it) and a reference (key 'objectGuess' of a data file, or\n"
        "'object' of another reconstruction).",
        "example:\n  ptycho-evaluate --reconstruction recon/reconstruction.npz --reference scan.npz",
    )
    parser.add_argument(
        "--reconstruction", type=Path, required=True, help="NPZ with 'object' (or 'objectGuess')"
    )
    parser.add_argument("--reference", type=Path, required=True, help="NPZ with 'objectGuess' (or 'object')")
    parser.add_argument(
        "--border",
        type=int,
        default=None,
        help="pixels trimmed at each edge before scoring (default: the reconstruction's "
        "'scored_border', the border its patches do not cover; else 0)",
    )
    parser.add_argument(
        "--phase_plane", action="store_true", help="remove a fitted phase plane (default: the mean phase)"
    )
    _common.add_output_dir(parser, required=False, what="metrics.json and frc.png")
    return parser


def read_object(path: Path, order: tuple[str, ...]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    from ..files import DataFileError, read_npz

    arrays = read_npz(path, required=(), optional=(*OBJECT_KEYS, "scored_border"))
    key = next((k for k in order if k in arrays), None)
    if key is None:
        raise DataFileError(
            f"{path}: holds neither {' nor '.join(repr(k) for k in order)}; expected a complex image"
        )
    image = arrays[key]
    if image.ndim != 2:
        raise DataFileError(f"{path}: key {key!r} has shape {image.shape}; expected a 2-D image")
    if not np.all(np.isfinite(image)):
        raise DataFileError(f"{path}: key {key!r} has NaN or inf values")
    return image, arrays


def run(args: argparse.Namespace) -> int:
    from ..evaluation import evaluate, frc_curve, rescale_amplitude, trim
    from ..files import check_output_dir, output_dir, save_json

    if args.output_dir is not None:
        check_output_dir(args.output_dir, args.overwrite)
    image, arrays = read_object(args.reconstruction, OBJECT_KEYS)
    truth, _ = read_object(args.reference, OBJECT_KEYS[::-1])
    if image.shape != truth.shape:
        raise ValueError(
            f"{args.reconstruction} is {image.shape[1]} x {image.shape[0]} px and {args.reference} is "
            f"{truth.shape[1]} x {truth.shape[0]} px; expected the same shape"
        )
    border = args.border
    if border is None:
        border = int(arrays["scored_border"]) if "scored_border" in arrays else 0
    if border < 0 or 2 * border >= min(image.shape):
        raise ValueError(f"--border {border}: must be >= 0 and leave pixels of a {image.shape} image")
    metrics = evaluate(image, truth, border=border, plane=args.phase_plane).to_dict()
    width = max(map(len, metrics)) + 1
    print(f"{'metric':<{width}} value   ({args.reconstruction} vs {args.reference}, border {border} px)")
    for key, value in metrics.items():
        print(f"{key:<{width}} {value:.4f}")
    if args.output_dir is not None:
        amplitude = np.abs(trim(truth, border)).astype(np.float64)
        square = min(amplitude.shape)
        rescaled = rescale_amplitude(np.abs(trim(image, border)).astype(np.float64), amplitude)
        freq, frc = frc_curve(rescaled[:square, :square], amplitude[:square, :square])
        with output_dir(args.output_dir, args.overwrite) as work:
            from ._figures import frc_figure

            save_json(
                work / "metrics.json",
                {
                    "reconstruction": str(args.reconstruction),
                    "reference": str(args.reference),
                    "border": border,
                    **metrics,
                },
            )
            frc_figure(
                work / "frc.png", freq, frc, metrics["frc_resolution"], f"amplitude FRC, border {border} px"
            )
        log.info("wrote %s (metrics.json, frc.png)", args.output_dir)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return _common.main(PROG, build_parser, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
