"""``ptycho-reconstruct``: a trained model and a scan in; the stitched object out.

Every position seeds one group (of the model's gridsize, from its K nearest neighbours), the model
predicts each group's object patch, and the patches' central ``--stitch_crop`` boxes are stitched
at the groups' centres. Output directory: ``reconstruction.npz`` (``object`` complex64,
``amplitude``, ``phase``, ``origin``: the object-pixel position of the image's pixel (0, 0),
``scored_border``: the border no stitched box covers),
``reconstruction.png``, ``metrics.json`` (when the data file holds ``objectGuess``) and ``run.log``.
"""

from __future__ import annotations

import argparse
import logging
import math
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from . import _common

log = logging.getLogger("ptycho.cli")  # not __name__: "__main__" under python -m
PROG = "ptycho-reconstruct"


def build_parser() -> argparse.ArgumentParser:
    parser = _common.parser(
        PROG,
        "Reconstruct the object of a scan (NPZ) with a model trained by ptycho-train.",
        "example:\n  ptycho-reconstruct --model_dir model --data_file scan.npz --output_dir recon",
    )
    parser.add_argument("--model_dir", type=Path, required=True, help="the output directory of ptycho-train")
    parser.add_argument("--data_file", type=Path, required=True, help="the scan to reconstruct (NPZ)")
    _common.add_output_dir(parser, what="reconstruction, its image, metrics and log")
    parser.add_argument(
        "--gridsize", type=int, default=None, help="must equal the model's (default: the model's)"
    )
    parser.add_argument(
        "--stitch_crop",
        type=int,
        default=None,
        help="stitch the central crop x crop of each predicted patch (default: the box holding 90%% of the "
        "probe's intensity, at most N/2, the patches' support)",
    )
    parser.add_argument("--batch_size", type=int, default=64, help="groups per prediction step (default: 64)")
    parser.add_argument(
        "--allow_nphotons_mismatch",
        action="store_true",
        help="reconstruct data simulated at another dose than the model was trained at",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the neighbours drawn into each group")
    return parser


def check_data(args: argparse.Namespace, raw: Any, config: Any) -> None:
    """The data must fit the model: its N, the gridsize asked for, its dose."""
    model, name = config.model, str(args.data_file)
    if raw.N != model.N:
        raise ValueError(
            f"{name}: patterns are {raw.N} x {raw.N} (diff3d {raw.diff3d.shape}); the model in "
            f"{str(args.model_dir)!r} was trained at N={model.N}"
        )
    if args.gridsize is not None and args.gridsize != model.gridsize:
        raise ValueError(
            f"--gridsize {args.gridsize}: the model in {str(args.model_dir)!r} was trained at gridsize "
            f"{model.gridsize}; omit --gridsize"
        )
    if (
        raw.nphotons is not None
        and not math.isclose(raw.nphotons, config.nphotons, rel_tol=1e-6)
        and not args.allow_nphotons_mismatch
    ):
        raise ValueError(
            f"{name} was simulated at nphotons={raw.nphotons:g}; the model was trained at "
            f"nphotons={config.nphotons:g}; pass --allow_nphotons_mismatch to reconstruct it anyway"
        )
    if len(raw.xcoords) < config.neighbor_count:
        raise ValueError(
            f"{name}: {len(raw.xcoords)} positions; a group is drawn from K={config.neighbor_count} "
            "nearest neighbours, so at least that many are needed"
        )
    for flag in ("stitch_crop", "batch_size"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            raise ValueError(f"--{flag} must be >= 1; received: {value}")


def object_frame(raw: Any) -> tuple[tuple[int, int], np.ndarray]:
    """The stitched image's shape and the object-pixel position of its pixel (0, 0).

    With ``objectGuess`` the object's own frame; else the scan's extent plus half a patch.
    """
    if raw.objectGuess is not None:
        return raw.objectGuess.shape, np.zeros(2)
    half = (raw.N - 1) / 2
    origin = np.floor(raw.positions.min(axis=0) - half)
    extent = np.floor(raw.positions.max(axis=0) + half) - origin + 1
    return (int(extent[1]), int(extent[0])), origin


def run(args: argparse.Namespace) -> int:
    from ..data.container import PtychoDataContainer
    from ..data.raw import RawData
    from ..files import check_output_dir, output_dir
    from ..model.bundle import load_bundle
    from ..physics.probe import footprint

    check_output_dir(args.output_dir, args.overwrite)
    raw = RawData.from_file(args.data_file)
    bundle = load_bundle(args.model_dir)
    config = bundle.config
    check_data(args, raw, config)
    model = bundle.model_config
    # Default: what one pattern constrains (the probe's 90%-intensity box), at most the network's
    # support (the central N/2 box).
    crop = args.stitch_crop if args.stitch_crop is not None else min(footprint(raw.probeGuess), model.N // 2)
    if crop > model.N or (model.N - crop) % 2:
        raise ValueError(f"--stitch_crop {crop}: must be at most N={model.N} with N - crop even")
    # Every position seeds one group (nsamples = P), drawn as in training.
    grouped = raw.generate_grouped_data(
        model.N, K=config.neighbor_count, nsamples=len(raw.xcoords), gridsize=model.gridsize, seed=args.seed
    )
    try:
        data = PtychoDataContainer.from_grouped(grouped, raw.probeGuess, config.nphotons, model)
    except ValueError as exc:
        raise ValueError(f"{args.data_file}: {exc}") from None
    shape, origin = object_frame(raw)
    data = replace(
        data, global_offsets=(data.global_offsets - origin[None, None, :, None]).astype(np.float32)
    )
    with output_dir(args.output_dir, args.overwrite) as work, _common.run_log(work):
        reconstruct_into(work, args, raw, bundle, data, shape, origin, crop)
    log.info("wrote %s", args.output_dir)
    return 0


def reconstruct_into(
    work: Path,
    args: argparse.Namespace,
    raw: Any,
    bundle: Any,
    data: Any,
    shape: tuple[int, int],
    origin: np.ndarray,
    crop: int,
) -> None:
    from ..evaluation import evaluate
    from ..files import save_json, save_npz
    from ..tensors.stitching import covered_border
    from ..training import reconstruct
    from ._figures import reconstruction_figure

    log.info(
        "reconstructing %s: %d groups of %d, object %d x %d px, stitch crop %d, model %s",
        args.data_file,
        len(data),
        bundle.model_config.C,
        shape[1],
        shape[0],
        crop,
        args.model_dir,
    )
    obj = reconstruct(bundle.diffraction_to_obj, data, shape, batch_size=args.batch_size, crop=crop)
    arrays = {
        "object": obj.astype(np.complex64),
        "amplitude": np.abs(obj),
        "phase": np.angle(obj),
        "origin": origin,
    }
    title = f"{Path(args.data_file).name}: {len(data)} groups, model {Path(args.model_dir).name}"
    border = covered_border(data.global_offsets, crop, shape)  # outside it, pixels no patch covers
    arrays["scored_border"] = np.asarray(border)
    if raw.objectGuess is not None:
        metrics = evaluate(obj, raw.objectGuess, border=border).to_dict()
        save_json(work / "metrics.json", {"scored_border": border, **metrics})
        log.info(
            "against objectGuess (border %d px): amplitude SSIM %.3f, MAE %.4f, PSNR %.2f dB, "
            "FRC %.3f cycles/px",
            border,
            metrics["amplitude_ssim"],
            metrics["amplitude_mae"],
            metrics["amplitude_psnr"],
            metrics["frc_resolution"],
        )
    save_npz(work / "reconstruction.npz", **arrays)
    reconstruction_figure(work / "reconstruction.png", obj, raw.objectGuess, title, border)


def main(argv: Sequence[str] | None = None) -> int:
    return _common.main(PROG, build_parser, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
