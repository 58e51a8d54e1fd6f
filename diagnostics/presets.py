"""Named sets of dims for ``explain``: ``--dim NAME=VALUE`` for anyone, and the ptycho stack's preset.

The ptycho preset fills ``B g C N M`` from ``--N --gridsize --batch --max-offset`` (M = N + 2 *
ceil(max_offset) rounded up to even, the stack's canvas; ``tests/test_run.py`` checks it against the
stack's own ``ModelConfig.padded_size``; what each flag accepts: ``limits.py``), names ``B*C`` as
one quantity and reads the 778752 incident's hypotheses. Nothing here imports the stack:
``explain`` must run beside a user's own ``ptycho``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .limits import canvas_side, check_ptycho_flags


@dataclass(frozen=True)
class Preset:
    name: str
    composites: tuple[tuple[str, ...], ...] = ()  # products named as one quantity: ("B", "C") -> "B*C"
    incident: bool = False  # read the 778752 incident's hypotheses


GENERIC = Preset("generic")
PTYCHO = Preset("ptycho", composites=(("B", "C"),), incident=True)
PRESETS = {p.name: p for p in (GENERIC, PTYCHO)}

_DIM = re.compile(r"^([A-Za-z_][\w*]*)=(\d+)$")


def ptycho_dims(N: int = 64, gridsize: int = 2, batch: int = 32, max_offset: float = 7.0) -> dict[str, int]:
    """The stack's dims: B groups of C = g*g patches of N x N pixels on M x M canvases."""
    check_ptycho_flags(N, gridsize, batch, max_offset)
    return {"B": batch, "g": gridsize, "C": gridsize * gridsize, "N": N, "M": canvas_side(N, max_offset)}


def parse_dims(items: list[str]) -> dict[str, int]:
    """``["B=32", "classes=10"]`` -> ``{"B": 32, "classes": 10}``; a clear error for anything else."""
    dims: dict[str, int] = {}
    for item in items:
        m = _DIM.match(item.strip())
        if not m:
            raise ValueError(
                f"--dim takes NAME=VALUE with a positive integer VALUE (e.g. B=32), got {item!r}"
            )
        name, value = m.group(1), int(m.group(2))
        if value < 1:
            raise ValueError(f"--dim {name}: the value must be a positive integer, got {value}")
        if name in dims and dims[name] != value:
            raise ValueError(f"--dim {name} given twice with different values ({dims[name]} and {value})")
        dims[name] = value
    return dims
