"""STYLE.md rule 8: contracts/ is mypy --strict clean; diagnostics/ and ptycho/ are mypy clean."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _mypy(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mypy", *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_mypy_strict_is_clean_on_contracts():
    result = _mypy("--strict", "contracts")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean_on_diagnostics_and_ptycho():
    result = _mypy("diagnostics", "ptycho")
    assert result.returncode == 0, result.stdout + result.stderr
