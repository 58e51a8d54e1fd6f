"""The study's command line: ``python -m ptycho.studies.dose_response --preset quick --output-dir out``.

Exit codes: 0 every arm (and baseline run) valid; 3 one failed the sanity gate (``GATE_FAILED``);
2 usage.
``USE_XLA_TRANSLATE=0`` selects the ImageProjectiveTransformV3 backend instead of XLA.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING

from .presets import LOSSES, PRESETS, Arm, arms_of
from .run import run_study

if TYPE_CHECKING:
    from .checkpoint import Checkpoint

log = logging.getLogger(__package__)  # one logger for the study: run.log names it once

GATE_FAILED = 3


BASELINES = ("ePIE", "mPIE", "none")


def _parse_doses(text: str) -> tuple[float, ...]:
    doses = []
    for item in text.split(","):
        try:
            dose = float(item)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{item!r} is not a number of photons") from None
        if not (math.isfinite(dose) and dose > 0):
            raise argparse.ArgumentTypeError(f"doses must be finite and > 0; received: {item!r}")
        if dose in doses:
            raise argparse.ArgumentTypeError(f"dose {item!r} is given twice")
        doses.append(dose)
    return tuple(doses)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1; received: {value}")
    return value


def _choose_arms(text: str | None, doses: tuple[float, ...]) -> tuple[Arm, ...]:
    """The arms named in ``text`` (comma-separated) among the doses' arms; all of them when empty."""
    every = arms_of(doses)
    if not text:
        return every
    by_name = {a.name: a for a in every}
    chosen = []
    for name in text.split(","):
        if name not in by_name:
            raise ValueError(f"unknown arm {name!r}; the arms are {', '.join(by_name)}")
        chosen.append(by_name[name])
    return tuple(chosen)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ptycho.studies.dose_response",
        description="Dose-response study (doses x Poisson NLL / amplitude MAE, repeated over seeds, with "
        "an optional iterative baseline from PtyLab), gridsize 2 with XLA translation by default "
        "(USE_XLA_TRANSLATE=0 selects V3). Exit 0: all arms valid; 3: an arm failed the sanity "
        "gate; 2: usage.",
        epilog="presets: "
        + "; ".join(
            f"{p.name} (N={p.N}, {p.n_groups} groups, {p.nepochs} epochs, doses "
            f"{','.join(f'{d:g}' for d in p.doses)}, {p.seeds} seed(s), baseline {p.baseline or 'none'}, "
            f"{p.expected})"
            for p in PRESETS.values()
        ),
    )
    parser.add_argument("--preset", choices=sorted(PRESETS), default="quick")
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=Path("dose_response_out"),
        help="written complete when the study ends, or not at all; refused when not empty",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a non-empty --output-dir once the new results are complete",
    )
    parser.add_argument(
        "--nepochs", type=int, default=None, help="override the preset's epochs (0: untrained)"
    )
    parser.add_argument(
        "--doses",
        type=_parse_doses,
        default=None,
        help="photons per pattern, comma-separated, e.g. 1e3,1e4,1e5,1e6,1e9 (default: the preset's)",
    )
    parser.add_argument(
        "--seeds", type=_positive_int, default=None, help="repeats of every arm (default: the preset's)"
    )
    parser.add_argument(
        "--baseline",
        choices=BASELINES,
        default=None,
        help="PtyLab engine run on each dose's data, or none (default: the preset's; needs "
        "pip install '.[baseline]')",
    )
    parser.add_argument(
        "--arms",
        default=None,
        help=f"comma-separated subset of the doses x losses ({', '.join(LOSSES)}), e.g. 1e9_mae,1e4_mae",
    )
    parser.add_argument(
        "--phase", action="store_true", help="give the lines object a phase (default amplitude-only)"
    )
    parser.add_argument(
        "--conv-precision",
        choices=("float32", "bfloat16"),
        default=None,
        help="the network's convolutions in float32 or bfloat16 (default: the preset's; README: Speed)",
    )
    parser.add_argument(
        "--checkpoint-dir",
        type=Path,
        default=None,
        help="keep each finished arm seed and baseline run here as it finishes, and take the ones a "
        "previous run with the same settings left there: an interrupted sweep resumes (default: none)",
    )
    parser.add_argument(
        "--strategy",
        choices=("none", "mirrored"),
        default="none",
        help="mirrored: train each arm on every local GPU (README: Training on several devices); "
        "default: one device",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.nepochs is not None and args.nepochs < 0:
        parser.error(f"--nepochs must be >= 0; received: {args.nepochs}")
    preset = PRESETS[args.preset]
    changes: dict[str, object] = {}
    if args.doses is not None:
        changes["doses"] = args.doses
    if args.seeds is not None:
        changes["seeds"] = args.seeds
    if args.baseline is not None:
        changes["baseline"] = None if args.baseline == "none" else args.baseline
    if args.conv_precision is not None:
        changes["conv_precision"] = args.conv_precision
    args.preset = replace(preset, **changes)  # type: ignore[arg-type]
    try:
        args.arms = _choose_arms(args.arms, args.preset.doses)
    except ValueError as exc:
        parser.error(f"argument --arms: {exc}")
    if args.preset.baseline:
        try:
            import PtyLab  # noqa: F401
        except ImportError:
            parser.error(
                f"the preset's baseline {args.preset.baseline} needs PtyLab: pip install '.[baseline]' "
                "(or --baseline none)"
            )
    from contracts import get_mode

    from ...files import check_output_dir, output_dir
    from .checkpoint import Checkpoint

    try:  # every input checked before anything is written
        get_mode()
        check_output_dir(args.output_dir, args.overwrite)
        checkpoint = None
        if args.checkpoint_dir is not None:
            _check_apart(args.checkpoint_dir, args.output_dir)
            checkpoint = Checkpoint(args.checkpoint_dir, _run_settings(args))
    except ValueError as exc:
        parser.error(str(exc))
    # Results are written into a fresh directory that becomes --output-dir only when the study
    # ends: an error or Ctrl-C leaves the old results whole and no partial new ones beside them.
    with output_dir(args.output_dir, args.overwrite) as work:
        return _run(args, work, checkpoint)


# What an entry does not depend on: which doses and seeds are run and the baseline's engine (each
# entry's key names its own), the preset's name and its measured time.
_NOT_SETTINGS = ("name", "expected", "doses", "seeds", "baseline")


def _run_settings(args: argparse.Namespace) -> dict[str, object]:
    """Everything an entry's result depends on, for ``--checkpoint-dir``: the translation backend
    too (``USE_XLA_TRANSLATE``), which each model decides when it is built."""
    from ...tensors.translation.backend import should_use_xla

    preset = asdict(args.preset)
    if args.nepochs is not None:
        preset["nepochs"] = args.nepochs
    for key in _NOT_SETTINGS:
        preset.pop(key)
    backend = should_use_xla().backend
    settings: dict[str, object] = {
        "preset": preset,
        "phase": args.phase,
        "strategy": args.strategy,
        "translate_backend": backend,
    }
    if args.strategy == "mirrored":  # each replica's batch share, and so the training, depends on it
        from ...distributed.strategy import local_devices

        settings["replicas"] = len(local_devices())
    return settings


def _check_apart(checkpoint: Path, output: Path) -> None:
    """The checkpoint must survive the study: not the output directory, nor inside or around it."""
    a, b = checkpoint.resolve(), output.resolve()
    if a == b or b in a.parents or a in b.parents:
        raise ValueError(
            f"--checkpoint-dir {str(checkpoint)!r} overlaps --output-dir {str(output)!r}, which the study "
            "replaces when it ends; expected a directory outside it"
        )


def _run(args: argparse.Namespace, out: Path, checkpoint: Checkpoint | None) -> int:
    log_file = logging.FileHandler(out / "run.log", mode="w")
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr), log_file]
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", handlers=handlers, force=True
    )
    try:
        return _study(args, out, checkpoint)
    finally:
        logging.getLogger().removeHandler(log_file)
        log_file.close()


def _study(args: argparse.Namespace, out: Path, checkpoint: Checkpoint | None) -> int:
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    # Every arm builds a fresh model, so Keras makes a fresh predict function per arm; TensorFlow
    # counts their traces together (same code object) and warns of "retracing" that is not.
    logging.getLogger("tensorflow").addFilter(
        lambda record: "triggered tf.function retracing" not in record.getMessage()
    )
    strategy = None if args.strategy == "none" else args.strategy
    results, baselines = run_study(
        args.preset, out, args.arms, args.nepochs, args.phase, strategy, checkpoint
    )
    failed = [(r.key, r.problems) for r in results if r.problems]
    failed += [(b.key, b.problems) for b in baselines if b.problems]
    for key, problems in failed:
        log.error("sanity gate: %s is invalid: %s", key, "; ".join(problems))
    log.info(
        "wrote %s (metrics.json, summary.json, dose_response.png, histories/, run.log, config.json)",
        args.output_dir,
    )
    return GATE_FAILED if failed else 0
