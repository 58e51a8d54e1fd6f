"""STYLE.md rule 8: contracts/ (and later diagnostics/) are mypy clean."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_is_clean_on_contracts():
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "contracts", "diagnostics"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
