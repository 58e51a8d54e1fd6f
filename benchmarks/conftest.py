"""Benchmarks report ratios measured in the same run (timings on a shared 2-core machine are noisy).

Each benchmark files its mean under a key; ``pytest_terminal_summary`` prints the ratios that the
README quotes. With ``--benchmark-disable`` (the test suite) each benchmark body runs once, so the
code stays exercised without timing anything.
"""

from __future__ import annotations

import os

import pytest

# TensorFlow's default CPU allocator is malloc; glibc serves blocks over 32 MB by mmap and unmaps
# them on free, so an op whose output exceeds 32 MB (B=512, N=128 here: 33.5 MB) pays a page
# fault per 4 KiB page on every call (8193 per call measured with getrusage, ~10 ms), whatever
# the op does. The BFC allocator keeps its memory. It must be chosen before TensorFlow starts,
# so `make benchmark` sets TF_CPU_ALLOCATOR_USE_BFC=true in the environment; this file only
# reports what the run had (setting it here would reach every test collected with it).
_ALLOCATOR = (
    "BFC (TF_CPU_ALLOCATOR_USE_BFC=true)"
    if os.environ.get("TF_CPU_ALLOCATOR_USE_BFC") == "true"
    else "malloc (TensorFlow's default; `make benchmark` sets TF_CPU_ALLOCATOR_USE_BFC=true)"
)

_times: dict[str, float] = {}

# (label, numerator key, denominator key, baseline key or None, goal text)
RATIOS: list[tuple[str, str, str, str | None, str]] = []


def ratio(label: str, numerator: str, denominator: str, goal: str = "", baseline: str | None = None) -> None:
    """Report numerator/denominator; with ``baseline``, (numerator - baseline)/(denominator - baseline)."""
    RATIOS.append((label, numerator, denominator, baseline, goal))


@pytest.fixture
def timed(benchmark, request):
    """``timed(key, fn, *args)``: benchmark ``fn`` and file its minimum under ``key``.

    The minimum is the statistic least disturbed by other work on a shared machine.
    """

    def run(key: str, fn, *args, rounds: int | None = None):
        if rounds is None:
            result = benchmark(fn, *args)
        else:
            result = benchmark.pedantic(fn, args=args, rounds=rounds, warmup_rounds=1)
        stats = getattr(benchmark, "stats", None)
        if stats is not None and not benchmark.disabled:
            _times[key] = stats.stats.min
        return result

    return run


def pytest_terminal_summary(terminalreporter):
    rows = [r for r in RATIOS if all(k in _times for k in r[1:3]) and (r[3] is None or r[3] in _times)]
    if not rows:
        return
    terminalreporter.section("ratios measured in this run (minimum times)")
    terminalreporter.write_line(f"CPU allocator: {_ALLOCATOR}")
    for label, n, d, base, goal in rows:
        b = _times[base] if base else 0.0
        value = (_times[n] - b) / (_times[d] - b)
        parts = f"{n} {_times[n] * 1e6:.1f} us, {d} {_times[d] * 1e6:.1f} us"
        if base:
            parts += f", {base} {b * 1e6:.1f} us"
        extra = f"   goal: {goal}" if goal else ""
        terminalreporter.write_line(f"{label:<62} {value:7.3f}   ({parts}){extra}")
