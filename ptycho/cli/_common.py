"""What every workflow command shares: verbosity, the log, error reporting and exit codes.

Exit codes: 0 done; 2 bad input (a flag, a config file, a data file, a model, an output directory:
one line on stderr naming what was wrong and what was expected, nothing written); 130 interrupted
(nothing written). Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from .. import progress
from . import _flags

log = logging.getLogger("ptycho")

BAD_INPUT = 2
INTERRUPTED = 130
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def parser(prog: str, description: str, epilog: str | None = None) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description=description,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _flags.add_config_option(p)
    p.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors; no progress bars")
    p.add_argument("-v", "--verbose", action="store_true", help="debug messages, and tracebacks of errors")
    return p


def add_output_dir(p: argparse.ArgumentParser, required: bool = True, what: str = "results") -> None:
    p.add_argument(
        "--output_dir",
        type=Path,
        required=required,
        help=f"directory for the {what}; written complete or not at all (refused when not empty)",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a non-empty output directory (only once the new results are complete)",
    )


def main(
    prog: str,
    build: Callable[[], argparse.ArgumentParser],
    body: Callable[[argparse.Namespace], int | None],
    argv: Sequence[str] | None,
) -> int:
    """Parse, set up logging, run ``body``; bad input is one line on stderr and exit 2."""
    args = _flags.parse(build(), argv)
    level = logging.WARNING if args.quiet else logging.DEBUG if args.verbose else logging.INFO
    _console_logging(level)
    progress.set_quiet(args.quiet)
    # TensorFlow's C++ log (cuInit on a machine without a GPU, ...) only with --verbose; its
    # errors that matter reach Python as exceptions.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0" if args.verbose else "3")
    try:
        return body(args) or 0
    except (ValueError, OSError) as exc:  # every input check raises ValueError (or a subclass)
        if args.verbose:
            log.exception("bad input")
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return BAD_INPUT
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; no output was written", file=sys.stderr)
        return INTERRUPTED


def _console_logging(level: int) -> None:
    root = logging.getLogger("ptycho")
    root.setLevel(min(level, logging.INFO))
    for handler in [h for h in root.handlers if getattr(h, "_ptycho_console", False)]:
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler._ptycho_console = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.propagate = False


@contextlib.contextmanager
def run_log(directory: Path) -> Iterator[None]:
    """Everything the ``ptycho`` loggers say, also in ``directory/run.log`` (closed at the end)."""
    root = logging.getLogger("ptycho")
    handler = logging.FileHandler(directory / "run.log", mode="w")
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter(FORMAT))
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
        handler.close()
