"""How much checking contracts do: ``off``, ``static`` (trace time only) or ``full`` (default).

The mode comes from the ``PTYCHO_CONTRACTS`` environment variable, read the first time a mode is
needed, and can be changed for a block with ``contracts.mode(...)``. A function decorated while the
mode is ``off`` is returned undecorated, so it costs nothing per call, whatever the mode later is.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Literal

Mode = Literal["off", "static", "full"]
MODES: tuple[Mode, ...] = ("off", "static", "full")
ENV_VAR = "PTYCHO_CONTRACTS"


class _State:
    mode: Mode | None = None


_state = _State()


def _validate(value: str, source: str) -> Mode:
    value = value.strip().lower()
    if value not in MODES:
        raise ValueError(
            f"{source}: contract mode must be one of {', '.join(MODES)}; received: {value!r}"
        )
    return value  # type: ignore[return-value]


def get_mode() -> Mode:
    """The mode in force now."""
    if _state.mode is None:
        _state.mode = _validate(os.environ.get(ENV_VAR, "full"), ENV_VAR)
    return _state.mode


def set_mode(value: str) -> Mode:
    """Set the mode for the rest of the process; returns the previous one."""
    previous = get_mode()
    _state.mode = _validate(value, "set_mode")
    return previous


@contextlib.contextmanager
def mode(value: str) -> Iterator[Mode]:
    """``with contracts.mode("static"): ...`` runs a block in another mode."""
    previous = set_mode(value)
    try:
        yield _state.mode  # type: ignore[misc]
    finally:
        _state.mode = previous
