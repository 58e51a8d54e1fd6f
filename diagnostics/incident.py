"""The 778752 incident's hypotheses, as data shared by ``explain`` and ``doctor``.

The story (what crashed, the numbers, the cause, what was tried first) is in ``INCIDENT_DOC``.
"""

from __future__ import annotations

from dataclasses import dataclass

INCIDENT = "the 778752 incident"
INCIDENT_DOC = "docs/incident-778752.md"


@dataclass(frozen=True)
class Hypothesis:
    id: str
    claim: str


HYPOTHESES: dict[str, Hypothesis] = {
    h.id: h
    for h in (
        Hypothesis("H1-revised", "offsets reach the reassembly layer as (B, 2) instead of (B, 1, 2, C)"),
        Hypothesis("H2-revised", "a wrong symbolic batch is captured at trace time"),
        Hypothesis("H2", "the XLA decision is baked into a function traced before a config change"),
        Hypothesis("H3", "should_use_xla is consulted before the workaround is set"),
        Hypothesis("H4", "USE_XLA_TRANSLATE is set in the environment"),
    )
}
