"""The study's command line: ``python -m ptycho.studies.dose_response --preset quick --output-dir out``.

Exit codes: 0 every arm valid; 3 an arm failed the sanity gate (``GATE_FAILED``); 2 usage.
``USE_XLA_TRANSLATE=0`` selects the ImageProjectiveTransformV3 backend instead of XLA.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from .presets import ARMS, PRESETS, Arm
from .run import run_study

log = logging.getLogger(__package__)  # one logger for the study: run.log names it once

GATE_FAILED = 3


def _parse_arms(text: str | None) -> tuple[Arm, ...]:
    if not text:
        return ARMS
    by_name = {a.name: a for a in ARMS}
    chosen = []
    for name in text.split(","):
        if name not in by_name:
            raise argparse.ArgumentTypeError(f"unknown arm {name!r}; the arms are {', '.join(by_name)}")
        chosen.append(by_name[name])
    return tuple(chosen)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ptycho.studies.dose_response",
        description="Dose-response study (1e9/1e4 photons x NLL/MAE), gridsize 2 with XLA translation by "
        "default (USE_XLA_TRANSLATE=0 selects V3). Exit 0: all arms valid; 3: an arm failed "
        "the sanity gate; 2: usage.",
        epilog="presets: "
        + "; ".join(
            f"{p.name} (N={p.N}, {p.n_groups} groups, {p.nepochs} epochs, {p.expected})"
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
        "--arms", type=_parse_arms, default=ARMS, help="comma-separated subset, e.g. 1e9_mae,1e4_mae"
    )
    parser.add_argument(
        "--phase", action="store_true", help="give the lines object a phase (default amplitude-only)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.nepochs is not None and args.nepochs < 0:
        parser.error(f"--nepochs must be >= 0; received: {args.nepochs}")
    from contracts import get_mode

    from ...files import check_output_dir, output_dir

    try:  # every input checked before anything is written
        get_mode()
        check_output_dir(args.output_dir, args.overwrite)
    except ValueError as exc:
        parser.error(str(exc))
    # Results are written into a fresh directory that becomes --output-dir only when the study
    # ends: an error or Ctrl-C leaves the old results whole and no partial new ones beside them.
    with output_dir(args.output_dir, args.overwrite) as work:
        return _run(args, work)


def _run(args: argparse.Namespace, out: Path) -> int:
    log_file = logging.FileHandler(out / "run.log", mode="w")
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr), log_file]
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", handlers=handlers, force=True
    )
    try:
        return _study(args, out)
    finally:
        logging.getLogger().removeHandler(log_file)
        log_file.close()


def _study(args: argparse.Namespace, out: Path) -> int:
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    # Every arm builds a fresh model, so Keras makes a fresh predict function per arm; TensorFlow
    # counts their traces together (same code object) and warns of "retracing" that is not.
    logging.getLogger("tensorflow").addFilter(
        lambda record: "triggered tf.function retracing" not in record.getMessage()
    )
    results = run_study(PRESETS[args.preset], out, args.arms, args.nepochs, args.phase)
    failed = [r for r in results if r.problems]
    for r in failed:
        log.error("sanity gate: arm %s is invalid: %s", r.arm.name, "; ".join(r.problems))
    log.info("wrote %s (metrics.json, dose_response.png, histories/, run.log, config.json)", args.output_dir)
    return GATE_FAILED if failed else 0
