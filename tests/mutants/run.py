"""Run the fast tier against each re-introduced defect of this directory, in a copy of the tree.

    flock /tmp/tf.lock .venv/bin/python tests/mutants/run.py             # each patch: pytest -m contracts -x
    flock /tmp/tf.lock .venv/bin/python tests/mutants/run.py --only b_nll_without_epsilon
    flock /tmp/tf.lock .venv/bin/python tests/mutants/run.py --killers   # each patch's KILLERS only
    flock /tmp/tf.lock .venv/bin/python tests/mutants/run.py --baseline  # also the unpatched copy first

Each ``*.patch`` is a unified diff against the working tree (``git apply`` format); it is never
applied to the checkout. For each one, the checkout's tracked files (``git ls-files``, as they are
in the working tree), this directory and ``tests/test_values.py`` are copied to a temporary
directory, the patch is applied there, and pytest runs in that copy with ``PYTHONPATH`` set to it:
the package is installed editable from the checkout, so where ``ptycho``, ``contracts`` and
``diagnostics`` are imported from is checked first. Prints one row per patch: killed or survived,
the first failing test, seconds. Exit 1 unless every defect is killed (and the baseline passes).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PYTHON = ROOT / ".venv" / "bin" / "python"
PACKAGES = ("ptycho", "contracts", "diagnostics")
BASELINE = "baseline"  # the unpatched copy

_V = "tests/test_values.py::"
# The fast-tier tests each defect must fail (tests/test_values.py), checked by
# test_designated_tests_kill_their_mutant.
KILLERS: dict[str, tuple[str, ...]] = {
    "a_reflected_ground_truth": (_V + "test_ground_truth_patches_are_numpy_crops_at_each_patch_position",),
    "b_nll_without_epsilon": (_V + "test_poisson_nll_and_its_gradient_are_finite_at_zero_prediction",),
    "c_shared_intensity_scale": (_V + "test_models_built_one_after_the_other_own_their_intensity_scales",),
    "d_integer_patch_centre": (
        _V + "test_ground_truth_patches_are_numpy_crops_at_each_patch_position",
        _V + "test_a_patch_cut_at_an_objects_centre_of_symmetry_is_point_symmetric",
        _V + "test_reassembly_and_stitching_put_a_patch_centre_on_the_canvas_centre[xla]",
        _V + "test_reassembly_and_stitching_put_a_patch_centre_on_the_canvas_centre[v3]",
    ),
    "e_pad_without_odd_check": (
        _V + "test_pad_patches_pads_to_the_size_requested_or_refuses_it",
        _V + "test_pad_patches_refuses_an_odd_canvas_while_tracing",
    ),
    "f_none_dims_not_bound": (_V + "test_a_none_batch_traced_contract_defers_its_batch_relations[None]",),
}


@dataclass(frozen=True)
class Outcome:
    name: str
    status: str  # "killed", "survived", "error: ..."
    failed: tuple[str, ...]  # node ids of the failing tests, in pytest's order
    seconds: float
    output: str


def patches() -> list[Path]:
    return sorted(HERE.glob("*.patch"))


def tree_files() -> list[str]:
    """The checkout's tracked files, and this directory and its tests even before they are
    committed; not other untracked files (work in progress elsewhere could fail the fast tier)."""
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--", "."], cwd=ROOT, check=True, capture_output=True
    ).stdout
    here = HERE.relative_to(ROOT)
    mine = {str(here / p.name) for p in HERE.iterdir() if p.suffix in (".py", ".patch")}
    return sorted({f for f in out.decode().split("\0") if f} | mine | {"tests/test_values.py"})


def copy_tree(target: Path) -> None:
    for name in tree_files():
        source = ROOT / name
        if not source.is_file():  # deleted in the working tree, not yet in the index
            continue
        dest = target / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, dest)


def apply(patch: Path, tree: Path, check_only: bool = False) -> subprocess.CompletedProcess[str]:
    """``git apply`` in ``tree`` (a plain directory: git applies the diff as a patch tool there)."""
    args = ["git", "apply", "--check", str(patch)] if check_only else ["git", "apply", str(patch)]
    env = {**os.environ, "GIT_CEILING_DIRECTORIES": str(tree.parent)}
    return subprocess.run(args, cwd=tree, env=env, capture_output=True, text=True)


def environment(tree: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PTYCHO_CONTRACTS")}
    env["PYTHONPATH"] = str(tree)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def imported_from(tree: Path) -> dict[str, str]:
    """Where each package would be imported from in ``tree``'s environment (found, not imported)."""
    code = f"import importlib.util as u; print(*(u.find_spec(p).origin for p in {PACKAGES!r}), sep='\\n')"
    out = subprocess.run(
        [str(PYTHON), "-c", code], cwd=tree, env=environment(tree), capture_output=True, text=True, check=True
    ).stdout.splitlines()
    return dict(zip(PACKAGES, out))


_FAILED = re.compile(r"^(?:FAILED|ERROR) (\S+)", re.M)


def run_pytest(tree: Path, args: list[str]) -> tuple[int, str]:
    command = [str(PYTHON), "-m", "pytest", "-q", "-p", "no:cacheprovider", *args]
    done = subprocess.run(command, cwd=tree, env=environment(tree), capture_output=True, text=True)
    return done.returncode, done.stdout + done.stderr


def run_one(patch: Path | None, pytest_args: list[str], keep: bool = False) -> Outcome:
    """pytest in a copy of the tree with ``patch`` applied (None: the tree as it is, the baseline)."""
    name = BASELINE if patch is None else patch.stem
    start = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix=f"mutant-{name}-"))
    tree = workdir / "tree"
    try:
        copy_tree(tree)
        applied = apply(patch, tree) if patch is not None else None
        if applied is not None and applied.returncode:
            return Outcome(name, "error: patch does not apply", (), time.monotonic() - start, applied.stderr)
        where = imported_from(tree)
        strays = {p: f for p, f in where.items() if not Path(f).resolve().is_relative_to(tree.resolve())}
        if strays:
            return Outcome(name, f"error: imports {strays}", (), time.monotonic() - start, "")
        code, output = run_pytest(tree, pytest_args)
        failed = tuple(_FAILED.findall(output))
        if code == 0:
            status = "survived"
        elif code in (1, 2) and (failed or code == 2):
            status = "killed"
        else:
            status = f"error: pytest exit {code}"
        return Outcome(name, status, failed, time.monotonic() - start, output)
    finally:
        if keep:
            print(f"kept {tree}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def table(outcomes: list[Outcome]) -> str:
    rows = [("defect", "result", "first failing test", "seconds")]
    for o in outcomes:
        first = o.failed[0].removeprefix("tests/") if o.failed else "-"
        rows.append((o.name, o.status, first, f"{o.seconds:.0f}"))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="comma-separated patch names (file stems)")
    parser.add_argument("--killers", action="store_true", help="run each patch's KILLERS, not the fast tier")
    parser.add_argument(
        "--baseline", action="store_true", help="first run the unpatched copy (its tests must pass)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the mutated copies (printed)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print pytest's output of each run")
    args = parser.parse_args(argv)
    chosen = patches()
    if args.only:
        wanted = set(args.only.split(","))
        chosen = [p for p in chosen if p.stem in wanted]
        missing = wanted - {p.stem for p in chosen}
        if missing:
            parser.error(f"no such patch: {', '.join(sorted(missing))}")
    outcomes = []
    runs: list[Path | None] = [None, *chosen] if args.baseline else list(chosen)
    for patch in runs:
        if not args.killers:
            pytest_args = ["-m", "contracts", "-x"]
        elif patch is None:
            pytest_args = sorted({t for p in chosen for t in KILLERS[p.stem]})
        else:
            pytest_args = list(KILLERS[patch.stem])
        outcome = run_one(patch, pytest_args, keep=args.keep)
        outcomes.append(outcome)
        print(f"{outcome.name}: {outcome.status} ({outcome.seconds:.0f} s)", file=sys.stderr, flush=True)
        if args.verbose:
            print(outcome.output, file=sys.stderr)
    print(table(outcomes))
    expected = {o.name: "survived" if o.name == BASELINE else "killed" for o in outcomes}
    return 0 if all(o.status == expected[o.name] for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
