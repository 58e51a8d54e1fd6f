"""How much checking contracts do: ``off``, ``static`` (trace time only) or ``full`` (default).

The mode is read on every call, never frozen when a function is decorated: ``with mode(...)`` sets
it for a block (a ``ContextVar``, so threads and tasks keep their own), ``set_mode`` sets the
process default, and otherwise the ``PTYCHO_CONTRACTS`` environment variable decides, read at the
call, so setting it after import takes effect at the next call. A value other than off, static or
full (any case, surrounding blanks ignored) is a ``ValueError`` naming the variable, the value and
the accepted values, raised where the mode is first read: the first contracted call, or earlier
where a program checks its inputs (``trace-shapes trace`` and ``doctor`` call ``get_mode()`` before
building anything).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Literal

ContractMode = Literal["off", "static", "full"]
MODES: tuple[ContractMode, ...] = ("off", "static", "full")
ENV_VAR = "PTYCHO_CONTRACTS"  # named after this project's distribution, ptycho-contracts

_block: ContextVar[ContractMode | None] = ContextVar("contracts_mode", default=None)


class _Default:
    mode: ContractMode | None = None  # set_mode(); None: the environment decides


def _validate(value: str, source: str) -> ContractMode:
    text = value.strip().lower()
    for known in MODES:
        if text == known:
            return known
    fix = (
        f" (set the environment variable {ENV_VAR} to one of them, or unset it for full)"
        if source == ENV_VAR
        else ""
    )
    raise ValueError(f"{source}: contract mode must be one of {', '.join(MODES)}; received: {value!r}{fix}")


def get_mode() -> ContractMode:
    """The mode in force now: the innermost ``mode()`` block, else ``set_mode``, else the environment."""
    block = _block.get()
    if block is not None:
        return block
    if _Default.mode is not None:
        return _Default.mode
    raw = os.environ.get(ENV_VAR)
    if raw is None or raw == "full":
        return "full"
    return _validate(raw, ENV_VAR)


def set_mode(value: str | None) -> ContractMode | None:
    """Set the process default (None: back to the environment); returns the previous default."""
    previous = _Default.mode
    _Default.mode = None if value is None else _validate(value, "set_mode")
    return previous


@contextlib.contextmanager
def mode(value: str) -> Iterator[ContractMode]:
    """``with contracts.mode("static"): ...`` runs a block in another mode.

    The block's mode is this thread's (a ``ContextVar``): threads started inside it, such as the
    replica threads in which ``tf.distribute.MirroredStrategy`` traces each replica, read the
    process default (``set_mode``, then ``PTYCHO_CONTRACTS``) instead.
    """
    checked = _validate(value, "mode")
    token = _block.set(checked)
    try:
        yield checked
    finally:
        _block.reset(token)
