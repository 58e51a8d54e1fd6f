"""What an audit costs: ``audit`` of our PINN (N=64, gridsize 2) at the 6 default batch sizes in eager
and graph mode, against one ``trace --mode all`` of the same configuration, in the same run
(goal: at most 3x).

Both build their model inside the timed body. Timing only: the bodies take about a minute, and
``tests/test_audit.py`` and ``tests/test_trace_shapes.py`` exercise the same code in the suite, so
with ``--benchmark-disable`` (the suite) they are skipped.

make benchmark     (or: python -m pytest benchmarks --benchmark-enable)
"""

from __future__ import annotations

import numpy as np
import pytest

from diagnostics.audit import DEFAULT_BATCHES, audit
from diagnostics.trace import TraceConfig, run_trace

from .conftest import ratio

pytestmark = pytest.mark.benchmark


def pinn_inputs(batch: int) -> list[np.ndarray]:
    rng = np.random.default_rng(batch)
    return [
        np.abs(rng.standard_normal((batch, 64, 64, 4))).astype(np.float32),
        rng.uniform(-6, 6, (batch, 1, 2, 4)).astype(np.float32),
    ]


def audit_pinn() -> None:
    from ptycho.model.factory import create_model_with_gridsize

    model, _ = create_model_with_gridsize(2, 64, "xla", n_filters_scale=2)
    result = audit(model, pinn_inputs, batches=DEFAULT_BATCHES, modes=("eager", "graph"))
    assert not result.findings


def trace_all() -> None:
    result = run_trace(TraceConfig(N=64, gridsize=2, batch=32, mode="all", n_filters_scale=2))
    assert result.violation is None and result.error is None


@pytest.mark.parametrize(
    "key, fn", [("audit: PINN 6 batch sizes", audit_pinn), ("audit: trace --mode all", trace_all)]
)
def test_audit_against_one_full_trace(benchmark, timed, key, fn):
    if benchmark.disabled:
        pytest.skip("timing only (about a minute); the suite exercises audit and trace in tests/")
    timed(key, fn, rounds=2)


ratio(
    "audit of the PINN at 6 batch sizes / one trace --mode all",
    "audit: PINN 6 batch sizes",
    "audit: trace --mode all",
    goal="<= 3",
)
