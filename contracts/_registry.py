"""Every contracted function, and the hook through which a caller observes every check.

The diagnostics CLI builds its shape trace on ``recording()``: each check made while a recorder is
active is appended to it as a ``CheckEvent``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from ._spec import FunctionSpec

Outcome = Literal["proved", "deferred", "refuted"]
ExecMode = Literal["eager", "graph", "symbolic"]


@dataclass(frozen=True)
class CheckEvent:
    """One argument (or return value) checked against its spec."""

    function: str  # qualified name
    location: str  # file:line
    argument: str
    spec: str  # "B N N C"
    layout: str | None
    dtype: str
    static_shape: tuple[int | None, ...] | None
    concrete_shape: tuple[int, ...] | None  # known in eager mode only
    bindings: dict[str, int | None]
    outcome: Outcome
    exec_mode: ExecMode
    message: str | None = None  # the ShapeContractError text when refuted
    deferred: tuple[str, ...] = ()  # relations left to run time, e.g. "B: labels axis 0 == images axis 0"
    replica: str | None = None  # "replica 1 of 2" inside a tf.distribute replica: its share's shapes


REGISTRY: dict[str, FunctionSpec] = {}
_recorders: list[list[CheckEvent]] = []


def register(spec: FunctionSpec) -> None:
    REGISTRY[f"{spec.module}.{spec.qualname}"] = spec


def recording_active() -> bool:
    return bool(_recorders)


def emit(event: CheckEvent) -> None:
    for sink in _recorders:
        sink.append(event)


@contextlib.contextmanager
def recording() -> Iterator[list[CheckEvent]]:
    """Collect every check made inside the block: ``with recording() as events: ...``."""
    sink: list[CheckEvent] = []
    _recorders.append(sink)
    try:
        yield sink
    finally:
        _recorders.remove(sink)
