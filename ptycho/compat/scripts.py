"""PtychoPINN's console scripts ``ptycho_train`` and ``ptycho_inference``, with its flags and outputs.

``ptycho_train --train_data_file train.npz --test_data_file test.npz --output_dir out --do_stitching``
writes ``out/wts.h5.zip`` (the model) and, with ``--do_stitching``, ``reconstructed_amplitude.png``
and ``reconstructed_phase.png``. ``--config run.yaml`` holds the same fields (flat, or with a
``model:`` section); a flag given on the command line wins over the file, a flag not given never
does (PtychoPINN's defaults overrode the file). Boolean flags take true/false/yes/no/1/0 (PtychoPINN
read ``--object_big False`` as True).

``ptycho_inference --model_path out --test_data test.npz --output_dir inf`` writes the two images
(and ``comparison_plot.png`` with ``--comparison_plot`` when the data holds the true object).

Exit codes: 0 done; 2 bad input, one line on stderr naming it; 130 interrupted.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import progress

log = logging.getLogger("ptycho")

_TRUE, _FALSE = ("true", "yes", "1", "on"), ("false", "no", "0", "off")


def strict_bool(text: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise argparse.ArgumentTypeError(f"expected true or false (yes/no, 1/0); received {text!r}")


def _flag_type(annotation: Any) -> Any:
    from ..cli._flags import _unwrap_optional

    base, _ = _unwrap_optional(annotation)
    if base is bool:
        return strict_bool
    if base in (int, float, str):
        return base
    if base is Path:
        return Path
    if typing.get_origin(base) is typing.Literal:
        return str
    return None


def _add_config_flags(parser: argparse.ArgumentParser) -> None:
    from ..config.config import ModelConfig, TrainingConfig

    seen: set[str] = set()
    for cls in (ModelConfig, TrainingConfig):
        hints = typing.get_type_hints(cls)
        group = parser.add_argument_group(cls.__name__)
        for field in dataclasses.fields(cls):
            if field.name in seen or field.name in ("model", "extra"):
                continue
            kind = _flag_type(hints[field.name])
            if kind is None:
                continue
            seen.add(field.name)
            help_text = field.metadata.get("help", "PtychoPINN's field of the same name (docs/migrating.md)")
            group.add_argument(f"--{field.name}", type=kind, default=argparse.SUPPRESS, help=help_text)


def _logging(quiet: bool, debug: bool) -> None:
    from ..cli._common import _console_logging

    _console_logging(logging.WARNING if quiet else logging.DEBUG if debug else logging.INFO)
    progress.set_quiet(quiet)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0" if debug else "3")


def _run(prog: str, body: Any, args: argparse.Namespace) -> int:
    try:
        body(args)
        return 0
    except (ValueError, OSError, TypeError) as exc:
        if getattr(args, "debug", False):
            log.exception("bad input")
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130


# --- ptycho_train ----------------------------------------------------------------------------------


def train_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ptycho_train",
        description="PtychoPINN's training script on this stack: train on an NPZ, save wts.h5.zip, "
        "optionally stitch the test data's reconstruction.",
    )
    parser.add_argument(
        "--config", type=Path, default=None, help="YAML file of config fields (flat or model:)"
    )
    parser.add_argument("--do_stitching", action="store_true", help="reconstruct and stitch --test_data_file")
    parser.add_argument("--quiet", action="store_true", help="only warnings and errors")
    parser.add_argument("--debug", action="store_true", help="debug messages and tracebacks")
    _add_config_flags(parser)
    return parser


def _train(args: argparse.Namespace) -> None:
    from . import model_manager
    from .workflows import load_data, run_cdi_example, save_outputs, setup_configuration

    config = setup_configuration(args, args.config)
    if config.train_data_file is None:
        raise ValueError("--train_data_file is required (on the command line or in --config)")
    output_dir = config.output_dir or Path("training_outputs")
    train_data = load_data(
        config.train_data_file, n_subsample=config.n_subsample, subsample_seed=config.subsample_seed
    )
    given = "nphotons" in vars(args) or _yaml_has(args.config, "nphotons")
    if train_data.nphotons is not None and not given:
        config = dataclasses.replace(config, nphotons=train_data.nphotons)  # the file's dose
    test_data = None if config.test_data_file is None else load_data(config.test_data_file)
    if args.do_stitching and test_data is None:
        raise ValueError("--do_stitching needs --test_data_file")
    log.info(
        "training on %s: %d positions, N=%d, gridsize=%d",
        config.train_data_file,
        len(train_data.xcoords),
        config.N,
        config.gridsize,
    )
    amplitude, phase, results = run_cdi_example(train_data, test_data, config, do_stitching=args.do_stitching)
    model_manager.save(output_dir)
    save_outputs(amplitude, phase, results, output_dir)
    log.info("wrote %s", output_dir)


def _yaml_has(path: Path | None, key: str) -> bool:
    if path is None:
        return False
    from ..config.config import load_yaml_config

    values = load_yaml_config(path)
    return key in values or key in (values.get("model") or {})


def train_main(argv: Sequence[str] | None = None) -> int:
    args = train_parser().parse_args(argv)
    _logging(args.quiet, args.debug)
    return _run("ptycho_train", _train, args)


# --- ptycho_inference ------------------------------------------------------------------------------


def inference_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ptycho_inference",
        description="PtychoPINN's inference script on this stack: reconstruct an NPZ with a trained "
        "model (a directory holding wts.h5.zip) and save the stitched amplitude and phase.",
    )
    parser.add_argument("--model_path", type=Path, required=True, help="directory holding wts.h5.zip")
    parser.add_argument("--test_data", type=Path, required=True, help="the NPZ to reconstruct")
    parser.add_argument("--config", type=Path, default=None, help="YAML; only its model: section is read")
    parser.add_argument("--output_dir", type=Path, default=Path("inference_outputs"))
    parser.add_argument("--debug", action="store_true")
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--comparison_plot", action="store_true", help="also plot against objectGuess")
    parser.add_argument("--n_images", type=int, default=None, help="groups to reconstruct (default: all)")
    parser.add_argument("--n_subsample", type=int, default=None, help="positions to draw first")
    parser.add_argument("--subsample_seed", type=int, default=None)
    parser.add_argument("--phase_vmin", type=float, default=None)
    parser.add_argument("--phase_vmax", type=float, default=None)
    parser.add_argument("--backend", choices=("tensorflow",), default="tensorflow")
    return parser


def _inference(args: argparse.Namespace) -> None:
    from ..config.config import load_yaml_config
    from ..files import atomic_path
    from . import loader, model_manager, nbutils
    from .tf_helper import reassemble_position
    from .workflows import load_data, save_outputs

    if args.config is not None:
        model_section = load_yaml_config(args.config).get("model") or {}
        log.info("--config %s: model section %s (the model's own config is used)", args.config, model_section)
    bundle, _ = model_manager.load_bundle_archive(args.model_path)
    model = bundle.model_config
    test = load_data(args.test_data, n_subsample=args.n_subsample, subsample_seed=args.subsample_seed)
    c = model.C
    available = len(test.xcoords) if c == 1 else max(len(test.xcoords) // c, 1)
    nsamples = available if args.n_images is None else min(args.n_images, available)
    dset = test.generate_grouped_data(
        model.N, K=max(4, c), nsamples=nsamples, gridsize=model.gridsize, seed=45
    )
    container = loader.load(lambda: dset, test.probeGuess, None, False)
    container.nphotons = bundle.config.nphotons  # the input scale the model was trained with
    patches, offsets = nbutils.reconstruct_image(container, bundle.diffraction_to_obj)
    stitched = reassemble_position(patches, offsets, M=20).numpy()
    amplitude, phase = np.abs(stitched), np.angle(stitched)
    save_outputs(amplitude, phase, {}, args.output_dir)
    if args.comparison_plot and test.objectGuess is not None and np.ptp(np.abs(test.objectGuess)) > 0:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        figure, axes = plt.subplots(1, 2, figsize=(8, 4))
        axes[0].imshow(np.abs(test.objectGuess), cmap="gray")
        axes[0].set_title("objectGuess amplitude")
        axes[1].imshow(np.squeeze(amplitude), cmap="gray")
        axes[1].set_title("reconstructed amplitude")
        with atomic_path(Path(args.output_dir) / "comparison_plot.png") as tmp:
            figure.savefig(tmp, format="png")
        plt.close(figure)
    log.info("wrote %s", args.output_dir)


def inference_main(argv: Sequence[str] | None = None) -> int:
    args = inference_parser().parse_args(argv)
    _logging(args.quiet, args.debug)
    return _run("ptycho_inference", _inference, args)
