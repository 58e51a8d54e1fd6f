"""The 778752 incident's hypotheses and the stack's invariants, run as experiments (``doctor``).

``CHECKS`` is the registry, run in order. Each ``Check`` states its id, its claim, the ids of the
``REQUIREMENTS`` it needs and the function that runs it. A requirement is established once per run,
the first time a check needs it; a check whose requirement is not met is reported ``skipped`` with
the reason and is not run. A contract violation met while establishing a requirement or running a
check is a finding (verdict ``violation``), never an error of the doctor.

The whole run happens inside the requested fault (``diagnostics.faults``) and with contracts on.
The story behind the hypotheses: ``docs/incident-778752.md``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal
from unittest import mock

import numpy as np
import tensorflow as tf

import contracts
from ptycho.model.factory import create_model_with_gridsize
from ptycho.tensors import translation
from ptycho.tensors.translation import backend as translation_backend

from .faults import FAULTS
from .incident import HYPOTHESES
from .trace import TraceConfig, TraceResult, contract_message, run_trace, tf_message, trace_inputs

Verdict = Literal["confirmed", "refuted", "holds", "fails", "violation", "error", "skipped"]


@dataclass(frozen=True)
class Finding:
    id: str
    claim: str
    verdict: Verdict
    evidence: str
    requires: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class DoctorRun:
    """What one run's requirements establish and its checks read."""

    cfg: TraceConfig
    model: Any = None  # the autoencoder for cfg (requirement "model")
    trace: TraceResult | None = None  # a graph-mode trace of cfg (requirement "trace")
    established: dict[str, str | None] = field(default_factory=dict)  # requirement id -> None or why not


@dataclass(frozen=True)
class Requirement:
    id: str
    description: str  # "a model can be built for this configuration"
    establish: Callable[[DoctorRun], str | None]  # None when met, otherwise why not
    requires: tuple[str, ...] = ()


@dataclass(frozen=True)
class Check:
    id: str
    claim: str
    requires: tuple[str, ...]
    run: Callable[[DoctorRun], tuple[Verdict, str]]  # (verdict, evidence)


class _ViolationFound(Exception):
    """A trace met a contract violation: reported as the check's finding."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# Requirements


def _build_model(run: DoctorRun) -> str | None:
    cfg = run.cfg
    try:
        run.model, _ = create_model_with_gridsize(
            cfg.gridsize, cfg.N, cfg.backend, n_filters_scale=1, max_offset=cfg.max_offset
        )
    except (ValueError, TypeError) as e:
        return f"{type(e).__name__}: {e}"
    return None


def _xla_available(run: DoctorRun) -> str | None:
    try:
        tf.function(lambda x: x + 1, jit_compile=True)(tf.zeros([1]))
    except (tf.errors.OpError, RuntimeError, ValueError) as e:
        return f"a jit_compile=True function does not run here: {type(e).__name__}: {tf_message(e)}"
    return None


def _trace(run: DoctorRun) -> str | None:
    # The run's fault is already in force; a fault given again would patch the stack twice.
    run.trace = run_trace(replace(run.cfg, mode="graph", fault=None, n_filters_scale=1))
    if run.trace.error is not None:
        return f"the trace failed outside any contract: {run.trace.error}"
    return None


REQUIREMENTS: dict[str, Requirement] = {
    r.id: r
    for r in (
        Requirement("model", "a model can be built for this configuration", _build_model),
        Requirement("xla", "the XLA backend is available", _xla_available),
        Requirement(
            "trace", "the trace ran without error (Keras construction and graph mode)", _trace, ("model",)
        ),
    )
}


# Checks


def _traced(run: DoctorRun) -> TraceResult:
    if run.trace is None:
        raise RuntimeError("check run without its requirement 'trace'")
    return run.trace


def _contracts_hold(run: DoctorRun) -> tuple[Verdict, str]:
    trace = _traced(run)
    if trace.violation is not None:
        raise _ViolationFound(trace.violation.message)
    counts = trace.counts()
    return "holds", (
        f"{len(trace.records)} checks while building and running in graph mode: proved "
        f"{counts['proved']}, deferred to run time {counts['deferred']}"
    )


def _offsets_at_reassembly(run: DoctorRun) -> tuple[Verdict, str]:
    seen = [
        r
        for r in _traced(run).records
        if r.function.startswith("ReassemblePatchesLayer.call") and r.argument == "offsets"
    ]
    if not seen:
        return "refuted", "no reassembly call was recorded"
    flat = [r for r in seen if r.static_shape is not None and len(r.static_shape) == 2]
    record = (flat or seen)[0]
    shape = tuple(record.concrete_shape or record.static_shape or ())
    return ("confirmed" if flat else "refuted"), (
        f"ReassemblePatchesLayer.call received offsets of shape {shape} ({record.outcome}, {record.mode})"
    )


def _symbolic_batch(run: DoctorRun) -> tuple[Verdict, str]:
    trace = _traced(run)
    traced = [
        r for r in trace.records if r.mode == "graph" and r.function.startswith("ReassemblePatchesLayer.call")
    ]
    if not traced or not traced[0].static_shape:
        return "refuted", "the reassembly was not traced in graph mode"
    batch = traced[0].static_shape[0]
    ran = (
        "passed every contract"
        if trace.violation is None
        else "met a contract violation (see contracts-hold)"
    )
    return ("refuted" if batch is None else "confirmed"), (
        f"traced batch dim = {batch} (None: bound at run time); the run with B={run.cfg.batch} {ran}"
    )


def _baked_decision(run: DoctorRun) -> tuple[Verdict, str]:
    shift = tf.function(lambda x, t: translation.translate(x, t))

    x, t = tf.zeros([2, 8, 8, 1]), tf.zeros([2, 2])
    # Count how often the switch is read: a traced function reads it while tracing only.
    switch = translation_backend.should_use_xla
    with mock.patch.object(translation_backend, "should_use_xla", wraps=switch) as read:
        with mock.patch.dict(os.environ, {translation.ENV_VAR: "1"}):
            shift(x, t)
        with mock.patch.dict(os.environ, {translation.ENV_VAR: "0"}):
            shift(x, t)
    decided = read.call_count
    return ("confirmed" if decided == 1 else "refuted"), (
        f"{decided} decision(s) for 2 calls, the second after USE_XLA_TRANSLATE=0: a traced function "
        "keeps its backend; models here decide at build time and record it (model.translate_backend)"
    )


def _early_consultation(run: DoctorRun) -> tuple[Verdict, str]:
    with mock.patch.dict(os.environ, {translation.ENV_VAR: "1"}):
        model, _ = create_model_with_gridsize(1, 32, n_filters_scale=1)
    with mock.patch.dict(os.environ, {translation.ENV_VAR: "0"}):
        later = model.get_layer("reassemble").backend
    return ("confirmed" if later == "xla" else "refuted"), (
        f"built with USE_XLA_TRANSLATE=1, the model keeps backend={later!r} after the switch changes: "
        "set the switch (or pass translate_backend) before building the model"
    )


def _environment(run: DoctorRun) -> tuple[Verdict, str]:
    raw = os.environ.get(translation.ENV_VAR)
    if raw not in (None, ""):
        return "confirmed", f"USE_XLA_TRANSLATE={raw!r}"
    return "refuted", "USE_XLA_TRANSLATE is not set"


def _backends_agree(run: DoctorRun) -> tuple[Verdict, str]:
    rng = np.random.default_rng(0)
    images = tf.constant(rng.standard_normal((8, 24, 24, 1)).astype(np.float32))
    shifts = tf.constant(rng.uniform(-5, 5, (8, 2)).astype(np.float32))
    xla = translation.translate(images, shifts, backend="xla")
    v3 = translation.translate(images, shifts, backend="v3")
    diff = float(tf.reduce_max(tf.abs(xla - v3)))
    return ("holds" if diff <= 1e-5 else "fails"), f"max |xla - v3| = {diff:.3g} on 8 random subpixel shifts"


def _batch_invariance(run: DoctorRun) -> tuple[Verdict, str]:
    model = run.model
    x, offsets = trace_inputs(run.cfg, model.model_config)
    whole = model.predict([x, offsets], batch_size=len(x), verbose=0)[1]
    alone = model.predict([x[:3], offsets[:3]], batch_size=1, verbose=0)[1]
    diff = float(np.max(np.abs(whole[:3] - alone)) / (np.max(np.abs(whole[:3])) or 1.0))
    return ("holds" if diff <= 1e-4 else "fails"), (
        f"relative max difference {diff:.3g} between batch {len(x)} and batch 1"
    )


def _hypothesis(
    hypothesis: str, requires: tuple[str, ...], run: Callable[[DoctorRun], tuple[Verdict, str]]
) -> Check:
    return Check(hypothesis, HYPOTHESES[hypothesis].claim, requires, run)


CHECKS: tuple[Check, ...] = (
    Check(
        "contracts-hold",
        "invariant: every contract holds while the model is built and run in graph mode",
        ("model", "trace"),
        _contracts_hold,
    ),
    _hypothesis("H1-revised", ("model", "trace"), _offsets_at_reassembly),
    _hypothesis("H2-revised", ("model", "trace"), _symbolic_batch),
    _hypothesis("H2", ("xla",), _baked_decision),
    _hypothesis("H3", ("xla",), _early_consultation),
    _hypothesis("H4", (), _environment),
    Check("backends-agree", "invariant: the XLA and V3 translations agree", ("xla",), _backends_agree),
    Check(
        "batch-invariance",
        "invariant: a group's prediction does not depend on its batch",
        ("model",),
        _batch_invariance,
    ),
)


# The runner


def _as_violation(error: BaseException) -> str | None:
    """The contract message behind ``error``, or None when it is not a contract violation."""
    if isinstance(error, _ViolationFound):
        return error.message
    if isinstance(error, contracts.ShapeContractError):
        return contract_message(error)
    if isinstance(error, (tf.errors.InvalidArgumentError, tf.errors.UnknownError)):
        converted = contracts.as_contract_error(error)
        return None if converted is None else contract_message(converted)
    return None


def _establish(
    run: DoctorRun, requirements: dict[str, Requirement], name: str, findings: list[Finding]
) -> str | None:
    if name in run.established:
        return run.established[name]
    requirement = requirements[name]
    reason: str | None = None
    for needed in requirement.requires:
        reason = _establish(run, requirements, needed, findings)
        if reason is not None:
            reason = f"needs {requirements[needed].description}: {reason}"
            break
    if reason is None:
        try:
            reason = requirement.establish(run)
        except Exception as e:  # a requirement that fails in any way is not met; say why
            violation = _as_violation(e)
            if violation is None:
                reason = f"{type(e).__name__}: {tf_message(e)}"
            else:
                reason = "a contract violation: " + violation.splitlines()[0]
                findings.append(Finding(name, requirement.description, "violation", violation))
    run.established[name] = reason
    return reason


def _run_check(check: Check, run: DoctorRun) -> Finding:
    try:
        verdict, evidence = check.run(run)
    except Exception as e:  # the experiment failed: a contract violation is a finding, anything else an error
        violation = _as_violation(e)
        if violation is not None:
            return Finding(check.id, check.claim, "violation", violation, check.requires)
        return Finding(check.id, check.claim, "error", f"{type(e).__name__}: {tf_message(e)}", check.requires)
    return Finding(check.id, check.claim, verdict, evidence, check.requires)


def run_doctor(
    cfg: TraceConfig,
    checks: Sequence[Check] | None = None,
    requirements: dict[str, Requirement] | None = None,
) -> list[Finding]:
    """Run ``checks`` (default ``CHECKS``) in order for ``cfg``, inside ``cfg.fault``.

    One finding per check, in order; a requirement that met a contract violation adds its own
    finding (verdict ``violation``) before the first check that needed it.
    """
    known = REQUIREMENTS if requirements is None else requirements
    checks = CHECKS if checks is None else checks
    run = DoctorRun(cfg)
    findings: list[Finding] = []
    fault = contextlib.nullcontext() if cfg.fault is None else FAULTS[cfg.fault].patch()
    with fault, contracts.mode("full"):
        for check in checks:
            unmet = None
            for name in check.requires:
                reason = _establish(run, known, name, findings)
                if reason is not None:
                    unmet = f"requires {known[name].description}; not met: {reason}"
                    break
            if unmet is not None:
                findings.append(Finding(check.id, check.claim, "skipped", unmet, check.requires))
            else:
                findings.append(_run_check(check, run))
    return findings
