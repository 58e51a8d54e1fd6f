"""Each defect of tests/mutants/ still applies to the tree and is killed by its designated tests.

Runs only the designated tests (``run.KILLERS``) in a mutated copy of the tree per patch, and
once in an unpatched copy, where they must pass. The whole fast tier against every patch is
``python tests/mutants/run.py``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from tests.mutants import run

pytestmark = pytest.mark.slow

PATCHES = run.patches()


def test_every_patch_has_designated_killers():
    assert {p.stem for p in PATCHES} == set(run.KILLERS)
    assert len(PATCHES) == 6


@pytest.mark.parametrize("patch", PATCHES, ids=[p.stem for p in PATCHES])
def test_patch_applies_to_the_current_tree(patch):
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "tree"
        run.copy_tree(tree)
        done = run.apply(patch, tree, check_only=True)
        assert done.returncode == 0, done.stderr


def test_designated_tests_pass_without_a_defect():
    killers = sorted({t for tests in run.KILLERS.values() for t in tests})
    outcome = run.run_one(None, killers)
    assert outcome.status == "survived", outcome.output[-3000:]


@pytest.mark.parametrize("patch", PATCHES, ids=[p.stem for p in PATCHES])
def test_designated_tests_kill_their_mutant(patch):
    killers = run.KILLERS[patch.stem]
    outcome = run.run_one(patch, list(killers))
    assert outcome.status == "killed", outcome.output[-3000:]
    assert set(outcome.failed) == set(killers), (outcome.failed, outcome.output[-3000:])
