"""The seed's hypotheses, run as experiments on the current stack, plus two invariants of the stack."""

from __future__ import annotations

import contextlib
import os
from dataclasses import asdict, dataclass
from unittest import mock

import numpy as np
import tensorflow as tf

import contracts
from ptycho.model.factory import create_model_with_gridsize
from ptycho.tensors import translation
from ptycho.tensors.translation import backend as translation_backend

from ._faults import FAULTS
from ._trace import TraceConfig, _inputs, run_trace


@dataclass
class Finding:
    name: str
    verdict: str  # "confirmed", "refuted", "holds", "fails"
    evidence: str

    def to_dict(self) -> dict:
        return asdict(self)


def _offsets_at_reassembly(cfg: TraceConfig) -> Finding:
    result = run_trace(TraceConfig(**{**asdict(cfg), "mode": "eager"}))
    seen = [r for r in result.records if r.function.startswith("ReassemblePatchesLayer.call") and r.argument == "offsets"
            and r.mode == "eager"]
    if not seen:
        return Finding("H1-revised: offsets reach the reassembly layer as (B, 2)", "refuted",
                       "no reassembly call was recorded" + (f" ({result.violation.message.splitlines()[0]})" if result.violation else ""))
    shape = seen[0].concrete_shape or seen[0].static_shape
    flat = shape is not None and len(shape) == 2
    return Finding("H1-revised: offsets reach the reassembly layer as (B, 2)", "confirmed" if flat else "refuted",
                   f"ReassemblePatchesLayer.call received offsets of shape {tuple(shape or ())} ({seen[0].outcome})")


def _symbolic_batch(cfg: TraceConfig) -> Finding:
    result = run_trace(TraceConfig(**{**asdict(cfg), "mode": "graph"}))
    traced = [r for r in result.records if r.mode == "graph" and r.function.startswith("ReassemblePatchesLayer.call")]
    batch = traced[0].static_shape[0] if traced and traced[0].static_shape else "?"
    ok = result.violation is None and result.error is None
    return Finding("H2-revised: a wrong symbolic batch is captured at trace time", "refuted" if batch is None and ok else "confirmed",
                   f"traced batch dim = {batch} (None: bound at run time); the run with B={cfg.batch} "
                   + ("passed every contract" if ok else "failed"))


def _baked_decision() -> Finding:
    @tf.function
    def shift(x, t):
        return translation.translate(x, t)

    x, t = tf.zeros([2, 8, 8, 1]), tf.zeros([2, 2])
    # Count how often the switch is read: a traced function reads it while tracing only.
    switch = translation_backend.should_use_xla
    with mock.patch.object(translation_backend, "should_use_xla", wraps=switch) as read:
        with mock.patch.dict(os.environ, {translation.ENV_VAR: "1"}):
            shift(x, t)
        with mock.patch.dict(os.environ, {translation.ENV_VAR: "0"}):
            shift(x, t)
    decided = read.call_count
    return Finding("H2: the XLA decision is baked into a function traced before a config change", "confirmed" if decided == 1 else "refuted",
                   f"{decided} decision(s) for 2 calls, the second after USE_XLA_TRANSLATE=0: a traced function "
                   "keeps its backend; models here decide at build time and record it (model.translate_backend)")


def _early_consultation() -> Finding:
    with mock.patch.dict(os.environ, {translation.ENV_VAR: "1"}):
        model, _ = create_model_with_gridsize(1, 32, n_filters_scale=1)
    with mock.patch.dict(os.environ, {translation.ENV_VAR: "0"}):
        later = model.get_layer("reassemble").backend
    return Finding("H3: should_use_xla is consulted before the workaround is set", "confirmed" if later == "xla" else "refuted",
                   f"built with USE_XLA_TRANSLATE=1, the model keeps backend={later!r} after the switch changes: "
                   "set the switch (or pass translate_backend) before building the model")


def _environment() -> Finding:
    raw = os.environ.get(translation.ENV_VAR)
    return Finding("H4: USE_XLA_TRANSLATE is set in the environment", "confirmed" if raw not in (None, "") else "refuted",
                   f"USE_XLA_TRANSLATE={raw!r}" if raw not in (None, "") else "USE_XLA_TRANSLATE is not set")


def _backends_agree(fault: str | None) -> Finding:
    rng = np.random.default_rng(0)
    images = tf.constant(rng.standard_normal((8, 24, 24, 1)).astype(np.float32))
    shifts = tf.constant(rng.uniform(-5, 5, (8, 2)).astype(np.float32))
    patch = contextlib.nullcontext() if fault is None else FAULTS[fault].patch()
    with patch:
        diff = float(tf.reduce_max(tf.abs(translation.translate(images, shifts, backend="xla")
                                          - translation.translate(images, shifts, backend="v3"))))
    return Finding("invariant: the XLA and V3 translations agree", "holds" if diff <= 1e-5 else "fails",
                   f"max |xla - v3| = {diff:.3g} on 8 random subpixel shifts")


def _batch_invariance(cfg: TraceConfig) -> Finding:
    model, _ = create_model_with_gridsize(cfg.gridsize, cfg.N, cfg.backend, n_filters_scale=1, max_offset=cfg.max_offset)
    x, offsets = _inputs(cfg, model.model_config)
    whole = model.predict([x, offsets], batch_size=len(x), verbose=0)[1]
    alone = model.predict([x[:3], offsets[:3]], batch_size=1, verbose=0)[1]
    diff = float(np.max(np.abs(whole[:3] - alone)) / (np.max(np.abs(whole[:3])) or 1.0))
    return Finding("invariant: a group's prediction does not depend on its batch", "holds" if diff <= 1e-4 else "fails",
                   f"relative max difference {diff:.3g} between batch {len(x)} and batch 1")


def run_doctor(cfg: TraceConfig) -> list[Finding]:
    with contracts.mode("full"):
        return [
            _offsets_at_reassembly(cfg), _symbolic_batch(cfg), _baked_decision(), _early_consultation(),
            _environment(), _backends_agree(cfg.fault), _batch_invariance(cfg),
        ]
