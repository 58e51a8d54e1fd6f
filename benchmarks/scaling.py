"""How cost grows with the scan: grouping, simulation, stitching and evaluation at 10^3..10^5 positions.

Every (stage, P) runs in a fresh process. Its memory is the peak resident set (Linux's VmHWM, reset
just before the stage) above the resident set the stage started from: its inputs, the interpreter
and TensorFlow excluded. Its time excludes imports and making the inputs. The scan keeps its
density as it grows: a jittered raster with a 4 px step on a square object of side
4 sqrt(P) + N (N=64, gridsize 2, K=7), so the object's area grows with P too. The growth exponent is the
least-squares slope of log(time) and log(memory) against log(P); memory is also fitted as a
fixed part plus a cost per position, a + b P, since a fixed part (chunk buffers) pulls the log-log
slope of a linear cost below 1.

    python -m benchmarks.scaling                    # 10^3, 10^4, 10^5 (a few minutes)
    python -m benchmarks.scaling --positions 300 1000 --stages grouping
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

STAGES = ("grouping", "simulation", "stitching", "evaluation")
N, GRIDSIZE, K, STEP = 64, 2, 7, 4.0


def scan(positions: int) -> tuple[tuple[int, int], np.ndarray]:
    """A square object holding a raster of about ``positions`` patch centres at STEP px."""
    from ptycho.physics.simulation import jittered_raster

    side = math.ceil(math.sqrt(positions) * STEP + N)
    raster = jittered_raster((side, side), N, STEP, jitter=0.5, seed=0)
    return (side, side), raster[:positions]


def run_stage(stage: str, positions: int) -> dict[str, float]:
    """One stage on one scan size, in this process: seconds and peak RSS (bytes) before and after."""
    from ptycho.data.grouping import choose_groups, largest_group_offset
    from ptycho.evaluation import evaluate
    from ptycho.physics.probe import get_default_probe
    from ptycho.physics.simulation import simulate_diffraction
    from ptycho.tensors.stitching import reassemble_position

    shape, raster = scan(positions)
    rng = np.random.default_rng(0)
    floor = _floor()
    if stage == "grouping":
        start = time.perf_counter()
        groups = choose_groups(raster, K=K, nsamples=len(raster), gridsize=GRIDSIZE, seed=0)
        largest_group_offset(raster, K, GRIDSIZE)
        seconds = time.perf_counter() - start
        assert groups.shape == (len(raster), GRIDSIZE * GRIDSIZE)
    elif stage == "simulation":
        obj = np.exp(1j * rng.uniform(0, 1, shape)).astype(np.complex64)
        probe = get_default_probe(N)
        floor = _floor()
        start = time.perf_counter()
        patterns = simulate_diffraction(obj, probe, raster, 1e6, seed=0)
        seconds = time.perf_counter() - start
        assert patterns.shape == (len(raster), N, N)
    elif stage == "stitching":
        patches = (rng.standard_normal((len(raster), N, N, 1), np.float32) + 0j).astype(np.complex64)
        offsets = raster.reshape(-1, 1, 2, 1).astype(np.float32)
        reassemble_position(patches[:8], offsets[:8], shape)  # compiled once: not a cost of the scan
        floor = _floor()
        start = time.perf_counter()
        stitched = reassemble_position(patches, offsets, shape)
        assert stitched.shape == shape
        seconds = time.perf_counter() - start
    elif stage == "evaluation":
        truth = np.exp(1j * rng.uniform(0, 1, shape)).astype(np.complex64)
        reconstruction = truth * (1 + 0.05 * rng.standard_normal(shape))
        floor = _floor()
        start = time.perf_counter()
        evaluate(reconstruction, truth, border=N // 2, plane=True)
        seconds = time.perf_counter() - start
    else:
        raise ValueError(f"unknown stage {stage!r}; expected one of {', '.join(STAGES)}")
    return {"seconds": seconds, "peak": float(_peak_rss()), "floor": float(floor), "object": shape[0]}


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024  # kB
    raise RuntimeError(f"/proc/self/status has no {field}")


def _floor() -> int:
    """The resident set now, with the peak reset to it (Linux: ``clear_refs`` 5 resets VmHWM)."""
    Path("/proc/self/clear_refs").write_text("5")
    return _status("VmRSS")


def _peak_rss() -> int:
    return _status("VmHWM")


def measure(stage: str, positions: int) -> dict[str, float]:
    """``run_stage`` in a fresh process."""
    code = (
        "import json; from benchmarks.scaling import run_stage; "
        f"print(json.dumps(run_stage({stage!r}, {positions})))"
    )
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=False, timeout=3600
    )
    if result.returncode != 0:
        raise RuntimeError(f"{stage} at P={positions} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def exponent(sizes: list[int], values: list[float]) -> float:
    """The least-squares slope of log(value) against log(size)."""
    return float(np.polyfit(np.log(sizes), np.log(np.maximum(values, 1e-12)), 1)[0])


def affine(sizes: list[int], values: list[float]) -> tuple[float, float, float]:
    """Least-squares ``value = a + b * size``: (a, b, the largest residual relative to its value)."""
    b, a = np.polyfit(np.asarray(sizes, float), np.asarray(values, float), 1)
    residual = max(abs(a + b * p - v) / v for p, v in zip(sizes, values, strict=True))
    return float(a), float(b), float(residual)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--positions", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--stages", nargs="+", choices=STAGES, default=list(STAGES))
    args = parser.parse_args(argv)
    print(f"N={N}, gridsize {GRIDSIZE}, K={K}, raster step {STEP} px")
    heads = " | ".join(f"P={p}" for p in args.positions)
    print(f"| stage | {heads} | time exponent | memory exponent | memory = a + b P (largest residual) |")
    print("|---" * (len(args.positions) + 4) + "|")
    for stage in args.stages:
        rows = [measure(stage, p) for p in args.positions]
        cells = [f"{r['seconds']:.3g} s, {(r['peak'] - r['floor']) / 2**20:.0f} MiB" for r in rows]
        t_exp = exponent(args.positions, [r["seconds"] for r in rows])
        memory = [(r["peak"] - r["floor"]) / 2**20 for r in rows]
        m_exp = exponent(args.positions, memory)
        a, b, worst = affine(args.positions, memory)
        fit = f"{a:.0f} MiB + {b * 2**10:.1f} KiB x P ({worst:.0%})"
        print(f"| {stage} | " + " | ".join(cells) + f" | {t_exp:.2f} | {m_exp:.2f} | {fit} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
