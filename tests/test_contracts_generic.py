"""contracts/ is a generic library: it knows no ptychography (the stack registers its vocabulary)."""

from __future__ import annotations

import re
from pathlib import Path

CONTRACTS = Path(__file__).resolve().parents[1] / "contracts"
STACK_TERMS = re.compile(
    r"gridsize|ptychograph|ptychopinn|probe|diffraction|canvas|patch|offset|reassembl"
    r"|the seed|seed's|778752|\bgroups?\b(?!\()",
    re.IGNORECASE,
)


def test_contracts_source_names_no_term_of_the_stack():
    found = []
    for path in sorted(CONTRACTS.rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if STACK_TERMS.search(line):
                found.append(f"{path.relative_to(CONTRACTS.parent)}:{number}: {line.strip()}")
    assert not found, "stack terms in contracts/:\n" + "\n".join(found)
