"""STYLE.md rule 8: contracts/ and diagnostics/ are mypy --strict clean; ptycho/ is mypy clean."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _mypy(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mypy", *args], cwd=ROOT, capture_output=True, text=True, timeout=600
    )


def test_mypy_strict_is_clean_on_contracts_and_diagnostics():
    # diagnostics imports ptycho, which is checked (non-strict) below: follow it silently, so strict
    # errors are reported for the packages named here only.
    result = _mypy("--strict", "--follow-imports=silent", "contracts", "diagnostics")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean_on_ptycho():
    result = _mypy("ptycho")
    assert result.returncode == 0, result.stdout + result.stderr
