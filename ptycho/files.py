"""Output files written atomically, and output directories that never mix old and new results.

A file is written to a temporary name beside its target and renamed over it when complete, so an
error or an interrupt leaves either the old file or the new one, never half of one. An output
directory is filled under a temporary name beside it and renamed into place when the command
succeeds: after a failure or Ctrl-C there is no output directory at all (the log went to stderr).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np


class DataFileError(ValueError):
    """A data file that is not scan data; the message names the file, the key and what was expected."""


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path to write; renamed to ``path`` when the block ends without an exception.

    The temporary name keeps ``path``'s suffix (``numpy.savez`` and Keras choose the format by it).
    """
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=target.suffix, dir=target.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's 0600 would make results private to their writer
    try:
        yield Path(tmp)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def save_json(path: str | Path, value: Any) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(value, indent=2) + "\n")


def save_npz(path: str | Path, **arrays: np.ndarray) -> None:
    """``numpy.savez_compressed`` to a temporary file, then renamed."""
    with atomic_path(path) as tmp:
        np.savez_compressed(tmp, **arrays)  # type: ignore[arg-type]  # numpy stubs read **kwds as allow_pickle


def save_figure(path: str | Path, figure: Any, **options: Any) -> None:
    """``figure.savefig`` to a temporary file, then renamed; the figure is closed."""
    import matplotlib.pyplot as plt

    try:
        with atomic_path(path) as tmp:
            figure.savefig(tmp, **options)
    finally:
        plt.close(figure)


def check_output_dir(path: str | Path, overwrite: bool = False) -> Path:
    """Refuse an output directory that holds files (unless ``overwrite``) or that is a file."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise ValueError(f"output directory {str(out)!r} is a file; expected a directory or a new path")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        held = ", ".join(sorted(p.name for p in out.iterdir())[:5])
        raise ValueError(
            f"output directory {str(out)!r} is not empty (holds {held}); "
            "choose a new one, or pass --overwrite to replace it"
        )
    if not out.parent.resolve().is_dir():
        raise ValueError(f"output directory {str(out)!r}: its parent {str(out.parent)!r} does not exist")
    return out


@contextlib.contextmanager
def output_dir(path: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """A fresh directory to fill; it becomes ``path`` when the block succeeds, else it is removed.

    With ``overwrite`` an existing ``path`` is replaced only then, so a failed run leaves the old
    results whole and nothing of the new one.
    """
    out = check_output_dir(path, overwrite)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    os.chmod(work, 0o777 & ~_umask())
    try:
        yield work
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.replaced-", dir=out.parent))
        os.replace(out, old / out.name)
        os.replace(work, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(work, out)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def read_npz(
    path: str | Path, required: tuple[str, ...], optional: tuple[str, ...] = (), text: tuple[str, ...] = ()
) -> dict[str, np.ndarray]:
    """Every ``required`` and present ``optional`` key of an NPZ, read now (no pickles). Keys in
    ``text`` may hold a string (a unicode array); every other key must be numeric.

    A missing, unreadable, truncated or non-NPZ file, or a missing key, is a ``DataFileError``
    that names the file and says what was expected.
    """
    name = str(path)
    if not Path(path).is_file():
        raise DataFileError(f"{name}: no such file; expected an NPZ with keys {', '.join(required)}")
    with open(path, "rb") as head:
        magic = head.read(6)
    if magic == b"\x93NUMPY":
        raise DataFileError(
            f"{name}: holds a single array (.npy format); expected an NPZ archive with keys "
            f"{', '.join(required)}"
        )
    if not magic.startswith(b"PK"):
        raise DataFileError(
            f"{name}: not an NPZ file (it does not begin as a zip archive does); expected a NumPy .npz "
            f"archive with keys {', '.join(required)}"
        )
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in required if k not in data.files]
            if missing:
                raise DataFileError(
                    f"{name}: missing key{'s' if len(missing) > 1 else ''} {', '.join(missing)}; "
                    f"found {', '.join(sorted(data.files)) or 'no keys'}"
                )
            keys = [k for k in (*required, *optional) if k in data.files]
            return {k: _read_key(data, k, name, k in text) for k in keys}
    except DataFileError:
        raise
    except Exception as exc:  # zipfile, zlib, pickle and format errors all mean the same to a user
        raise DataFileError(
            f"{name}: not a readable NPZ file ({type(exc).__name__}: {exc}); expected a NumPy .npz "
            "archive as numpy.savez writes it"
        ) from None


def _read_key(data: np.lib.npyio.NpzFile, key: str, name: str, text: bool = False) -> np.ndarray:
    try:
        value = data[key]
    except ValueError as exc:
        if "pickle" in str(exc):
            raise DataFileError(
                f"{name}: key {key!r} holds Python objects (a pickle); expected a numeric array"
            ) from None
        raise
    if value.dtype.kind not in ("biufcU" if text else "biufc"):
        raise DataFileError(f"{name}: key {key!r} has dtype {value.dtype}; expected a numeric array")
    return value
