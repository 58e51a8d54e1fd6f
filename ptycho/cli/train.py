"""``ptycho-train``: train the PINN on an NPZ scan; a model directory that ``ptycho-reconstruct`` reads.

Output directory: ``model.keras``, ``model.json``, ``check.npz`` (the bundle, ``ptycho.model.bundle``),
``history.json``, ``loss.png``, ``config.json`` (the full config and the data it was trained on) and
``run.log``.
"""

from __future__ import annotations

import argparse
import logging
import math
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from . import _common, _flags

log = logging.getLogger("ptycho.cli")  # not __name__: "__main__" under python -m
PROG = "ptycho-train"
FROM_DATA = {
    "N": "the data's",
    "nphotons": "the data file's nphotons, else 1e9",
    "max_offset": "the largest offset any group of the scan can have, rounded up",
}


def build_parser() -> argparse.ArgumentParser:
    from ..config.config import ModelConfig, TrainingConfig

    parser = _common.parser(
        PROG,
        "Train the physics-informed network on a scan (an NPZ with xcoords, ycoords, diff3d,\n"
        "probeGuess); writes a model directory for ptycho-reconstruct.",
        "example:\n  ptycho-train --train_data_file scan.npz --output_dir model --nepochs 20 --n_groups 256",
    )
    parser.add_argument("--train_data_file", type=Path, required=True, help="the scan to train on (NPZ)")
    _common.add_output_dir(parser, what="model, history, loss plot and log")
    model_flags = parser.add_argument_group("model")
    _flags.add_dataclass_flags(model_flags, ModelConfig, defaults=FROM_DATA)
    training_flags = parser.add_argument_group("training")
    _flags.add_dataclass_flags(training_flags, TrainingConfig, exclude=("N", "gridsize"), defaults=FROM_DATA)
    distribution = parser.add_argument_group("distribution (README: Training on several devices)")
    distribution.add_argument(
        "--strategy",
        choices=("none", "mirrored", "multiworker"),
        default="none",
        help="none: one device; mirrored: every local GPU (or --devices); multiworker: the workers of "
        "TF_CONFIG (python -m ptycho.distributed.launch --workers N -- ptycho-train ...), worker 0 "
        "writes --output_dir (default: none)",
    )
    distribution.add_argument(
        "--devices",
        type=_device_list,
        default=None,
        help="with --strategy mirrored: comma-separated device names, e.g. /gpu:0,/gpu:1",
    )
    distribution.add_argument(
        "--backup_dir",
        type=Path,
        default=None,
        help="keep weights, optimizer and epoch here after every epoch; run the same command again "
        "after an interruption to resume at the next epoch (removed when training completes)",
    )
    return parser


def _device_list(text: str) -> list[str]:
    devices = [d.strip() for d in text.split(",")]
    if not all(devices):
        raise argparse.ArgumentTypeError(f"expected comma-separated device names; received {text!r}")
    return devices


def data_nphotons(raw: Any, given: float | None, name: str) -> float:
    """The dose to train at: the file's when it records one; a different ``--nphotons`` is refused."""
    if raw.nphotons is None:
        return 1e9 if given is None else given
    if given is not None and not math.isclose(given, raw.nphotons, rel_tol=1e-6):
        raise ValueError(
            f"--nphotons {given:g} disagrees with {name}, simulated at nphotons={raw.nphotons:g} (the "
            "intensity scale depends on it); omit --nphotons to use the file's"
        )
    return raw.nphotons


def configure(args: argparse.Namespace, raw: Any) -> Any:
    """The ``TrainingConfig`` of the flags, with N, nphotons and max_offset from the data when absent."""
    from ..config.config import ModelConfig, TrainingConfig

    name = str(args.train_data_file)
    model_values = _flags.given(args, ModelConfig)
    if model_values.setdefault("N", raw.N) != raw.N:
        raise ValueError(
            f"--N {model_values['N']} disagrees with {name}, whose patterns are {raw.N} x {raw.N} "
            f"(diff3d {raw.diff3d.shape})"
        )
    training_values = _flags.given(args, TrainingConfig)
    training_values["nphotons"] = data_nphotons(raw, training_values.get("nphotons"), name)
    return TrainingConfig(model=ModelConfig(**model_values), **training_values)


def group(raw: Any, config: Any, n_groups: int, name: str) -> Any:
    """``n_groups`` groups of the model's gridsize (several per position when there are fewer)."""
    model = config.model
    oversample = n_groups > len(raw.xcoords)
    if oversample:
        log.info(
            "%s: %d groups from %d positions (several groups per position)", name, n_groups, len(raw.xcoords)
        )
    try:
        return raw.generate_grouped_data(
            model.N,
            K=config.neighbor_count,
            nsamples=n_groups,
            gridsize=model.gridsize,
            seed=config.seed,
            oversample=oversample,
            sequential=config.sequential_sampling,
        )
    except ValueError as exc:
        raise ValueError(f"{name}: {str(exc).removeprefix('generate_grouped_data: ')}") from None


def run(args: argparse.Namespace) -> int:
    from ..data.container import PtychoDataContainer
    from ..data.grouping import largest_group_offset
    from ..data.raw import RawData
    from ..files import check_output_dir, output_dir

    check_output_dir(args.output_dir, args.overwrite)
    if args.devices and args.strategy != "mirrored":
        raise ValueError(f"--devices needs --strategy mirrored; received --strategy {args.strategy}")
    from ..distributed.strategy import is_chief, resolve_strategy

    # first: a multi-worker strategy configures TensorFlow at start-up
    strategy = resolve_strategy(args.strategy, args.devices)
    name = str(args.train_data_file)
    raw = RawData.from_file(args.train_data_file)
    config = configure(args, raw)
    grouped = group(raw, config, config.n_groups, name)
    if "max_offset" not in vars(args):
        # Not the training groups' largest offset: every group ptycho-reconstruct may draw from a
        # scan of this geometry must fit (grouping.largest_group_offset).
        largest = largest_group_offset(raw.positions, config.neighbor_count, config.model.gridsize)
        config = replace(config, model=replace(config.model, max_offset=float(math.ceil(largest))))
    try:
        data = PtychoDataContainer.from_grouped(grouped, raw.probeGuess, config.nphotons, config.model)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None
    if not is_chief(strategy):  # another worker: trains its share, writes nothing
        with tempfile.TemporaryDirectory(prefix="ptycho-worker-") as scratch:
            train_into(Path(scratch), data, config, name, strategy, args.backup_dir)
        log.info("worker done; worker 0 writes %s", args.output_dir)
        return 0
    with output_dir(args.output_dir, args.overwrite) as work, _common.run_log(work):
        train_into(work, data, config, name, strategy, args.backup_dir)
    log.info(
        "wrote %s (model.keras, model.json, history.json, loss.png, config.json, run.log)", args.output_dir
    )
    return 0


def train_into(
    work: Path, data: Any, config: Any, name: str, strategy: Any = None, backup_dir: Path | None = None
) -> None:
    import keras
    import tensorflow as tf

    from .. import progress
    from ..files import save_json
    from ..model.bundle import save_bundle
    from ..training import train
    from ._figures import loss_figure

    keras.utils.set_random_seed(config.seed)
    tf.config.experimental.enable_op_determinism()
    model = config.model
    log.info(
        "training on %s: %d groups of %d (N=%d), nphotons %g, loss %s, %d epochs, batch %d, max_offset %g",
        name,
        len(data),
        model.C,
        model.N,
        config.nphotons,
        config.loss,
        config.nepochs,
        config.batch_size,
        model.max_offset,
    )
    result = train(
        data,
        config,
        callbacks=[progress.keras_callback(config.nepochs)],
        strategy=strategy,
        backup_dir=backup_dir,
    )
    log.info("translation backend %s", result.model.autoencoder.translate_backend)
    inputs = [np.asarray(t) for t in data.inputs()]
    save_bundle(work, result.model.autoencoder, config, inputs)
    save_json(work / "history.json", result.history)
    save_json(
        work / "config.json",
        {"train_data_file": str(Path(name).resolve()), "groups": len(data), "config": config.to_dict()},
    )
    loss_figure(work / "loss.png", result.history, f"{config.loss} loss, {len(data)} groups")
    if result.history.get("loss"):
        log.info("final loss %.6g after %d epochs", result.history["loss"][-1], len(result.history["loss"]))


def main(argv: Sequence[str] | None = None) -> int:
    return _common.main(PROG, build_parser, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
