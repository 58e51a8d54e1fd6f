"""Trace named shapes through the whole stack: build the model, run it, record every contract check.

``run_trace(TraceConfig(...))`` returns a ``TraceResult`` of plain records: one ``TraceRecord`` per
argument (or return value) checked, in the order the checks ran, and the first ``TraceViolation``.
Tensors here: patches ``(B, N, N, C)``, offsets ``(B, 1, 2, C)``, canvases ``(B, M, M, 1)``.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import tensorflow as tf

import contracts
from ptycho.config.config import ModelConfig
from ptycho.distributed.strategy import local_devices, resolve_strategy, strategy_scope
from ptycho.model.factory import create_model_with_gridsize, training_model
from ptycho.tensors.translation import decide_backend

from .faults import FAULTS

TraceMode = Literal["keras", "eager", "graph", "xla", "fit"]
TRACE_MODES: tuple[TraceMode, ...] = ("keras", "eager", "graph", "xla", "fit")
Outcome = Literal["proved", "deferred", "refuted"]


@dataclass(frozen=True)
class TraceConfig:
    N: int = 64
    gridsize: int = 2
    batch: int = 32
    backend: Literal["xla", "v3"] | None = None
    mode: TraceMode | Literal["all"] = "all"
    fault: str | None = None
    max_offset: float = 7.0
    n_filters_scale: int = 2
    seed: int = 0  # of the random inputs
    strategy: Literal["none", "mirrored"] = "none"  # mirrored: "fit" on two replicas (logical CPUs)

    def model_config(self) -> ModelConfig:
        return ModelConfig(
            N=self.N,
            gridsize=self.gridsize,
            n_filters_scale=self.n_filters_scale,
            max_offset=self.max_offset,
            translate_backend=self.backend,
        )


@dataclass
class TraceRecord:
    """One contract check: ``mode`` is a ``TraceMode``, or ``"values"`` for the backends' agreement."""

    mode: str
    function: str
    location: str
    argument: str
    spec: str
    layout: str | None
    dtype: str
    static_shape: list[int | None] | None
    concrete_shape: list[int] | None
    bindings: dict[str, int | None]
    outcome: str
    deferred: list[str]
    replica: str | None = None  # "replica 1 of 2" for a check inside a tf.distribute replica


@dataclass
class TraceViolation:
    """The first contract the trace saw broken, with the full contract message."""

    mode: str
    function: str
    argument: str
    message: str


@dataclass
class TraceResult:
    config: TraceConfig
    dims: dict[str, int]
    backend: str
    backend_source: str
    records: list[TraceRecord] = field(default_factory=list)
    violation: TraceViolation | None = None
    error: str | None = None  # an exception that was not a contract violation

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def counts(self) -> dict[Outcome, int]:
        outcomes: tuple[Outcome, ...] = ("proved", "deferred", "refuted")
        return {k: sum(r.outcome == k for r in self.records) for k in outcomes}


def _records(events: list[contracts.CheckEvent], mode: str) -> list[TraceRecord]:
    return [
        TraceRecord(
            mode,
            e.function,
            e.location,
            e.argument,
            e.spec,
            e.layout,
            e.dtype,
            None if e.static_shape is None else list(e.static_shape),
            None if e.concrete_shape is None else list(e.concrete_shape),
            dict(e.bindings),
            e.outcome,
            list(e.deferred),
            e.replica,
        )
        for e in events
    ]


def trace_inputs(cfg: TraceConfig, model_cfg: ModelConfig) -> tuple[np.ndarray, np.ndarray]:
    """Diffraction amplitudes ``(B, N, N, C)`` and channel offsets ``(B, 1, 2, C)`` within the margin."""
    rng = np.random.default_rng(cfg.seed)
    c = model_cfg.C
    x = np.abs(rng.standard_normal((cfg.batch, cfg.N, cfg.N, c))).astype(np.float32) * 100
    offsets = rng.uniform(-0.9, 0.9, (cfg.batch, 1, 2, c)).astype(np.float32) * cfg.max_offset
    return x, offsets


def _run_mode(mode: TraceMode, autoencoder: Any, x: np.ndarray, offsets: np.ndarray) -> None:
    c = x.shape[-1]
    n = x.shape[1]
    signature = [tf.TensorSpec([None, n, n, c]), tf.TensorSpec([None, 1, 2, c])]
    if mode == "eager":
        autoencoder([tf.constant(x), tf.constant(offsets)])
    elif mode in ("graph", "xla"):
        fn = tf.function(
            lambda a, b: autoencoder([a, b]), input_signature=signature, jit_compile=(mode == "xla")
        )
        fn(tf.constant(x), tf.constant(offsets))
    elif mode == "fit":
        trainer = training_model(autoencoder, "nll")
        data = tf.data.Dataset.from_tensor_slices(((x, offsets), x**2)).batch(len(x))
        trainer.fit(data, epochs=1, steps_per_epoch=1, verbose=0, shuffle=False)


def run_trace(cfg: TraceConfig) -> TraceResult:
    """Build the stack for ``cfg`` and run each requested mode, recording every contract check.

    The trace stops at the first violation (or the first error outside any contract). With every
    mode requested and no violation, it ends with the values check of the two backends. With
    ``strategy="mirrored"`` the model is built under a ``MirroredStrategy`` of every logical CPU
    device (at least two: ``ptycho.distributed.strategy.logical_cpus`` before TensorFlow starts)
    and ``fit`` trains one step of the global batch split among the replicas: its checks are each
    replica's, with that replica's batch.
    """
    model_cfg = cfg.model_config()
    modes: tuple[TraceMode, ...] = TRACE_MODES if cfg.mode == "all" else ("keras", cfg.mode)
    fault = contextlib.nullcontext() if cfg.fault is None else FAULTS[cfg.fault].patch()
    dims = {"B": cfg.batch, "g": cfg.gridsize, "C": model_cfg.C, "N": cfg.N, "M": model_cfg.padded_size}
    # What the model will decide, for a trace that stops before a model exists; the built model's
    # own record replaces it.
    expected = decide_backend(cfg.backend)
    result = TraceResult(cfg, dims, backend=expected.backend, backend_source=expected.source)
    # Full checking unless the user turned contracts off (PTYCHO_CONTRACTS=off: nothing is traced).
    checking = contextlib.nullcontext() if contracts.get_mode() == "off" else contracts.mode("full")
    strategy = None
    if cfg.strategy == "mirrored":
        devices = local_devices()
        if len(devices) < 2:
            raise ValueError(
                f"trace --strategy mirrored needs two or more devices; this process has {devices}: "
                "split the CPU first (ptycho.distributed.strategy.logical_cpus, before TensorFlow starts)"
            )
        strategy = resolve_strategy("mirrored", devices)
    with fault, checking, strategy_scope(strategy):
        autoencoder: Any = None
        for mode in dict.fromkeys(modes):
            with contracts.recording() as events:
                try:
                    if mode == "keras":
                        autoencoder, _ = create_model_with_gridsize(
                            cfg.gridsize,
                            cfg.N,
                            cfg.backend,
                            n_filters_scale=cfg.n_filters_scale,
                            max_offset=cfg.max_offset,
                        )
                        result.backend = autoencoder.translate_backend
                        result.backend_source = autoencoder.translate_backend_source
                    else:
                        _run_mode(mode, autoencoder, *trace_inputs(cfg, model_cfg))
                except contracts.ShapeContractError as e:
                    result.violation = _violation(mode, e)
                except (tf.errors.InvalidArgumentError, tf.errors.UnknownError) as e:
                    converted = contracts.as_contract_error(e)
                    if converted is None:
                        result.error = f"{type(e).__name__}: {tf_message(e)}"
                    else:
                        result.violation = _violation(mode, converted)
                except (ValueError, TypeError) as e:  # TF's own trace-time shape errors, contracts off
                    result.error = f"{type(e).__name__}: {tf_message(e)}"
            result.records += _records(events, mode)
            if result.violation or result.error:
                break
        if cfg.mode == "all" and not (result.violation or result.error) and result.records:
            _backend_agreement(cfg, model_cfg, result)
    return result


def _backend_agreement(cfg: TraceConfig, model_cfg: ModelConfig, result: TraceResult) -> None:
    """Values, not shapes: reassembly with the XLA and V3 backends must agree on the trace's data."""
    from ptycho.tensors.reassembly import reassemble_patches_position_real

    x, offsets = trace_inputs(cfg, model_cfg)
    patches = tf.constant(x / (np.max(x) or 1.0))
    backends: tuple[Literal["xla", "v3"], ...] = ("xla", "v3")
    canvases = [
        reassemble_patches_position_real(patches, tf.constant(offsets), model_cfg.padded_size, backend=b)
        for b in backends
    ]
    diff = float(tf.reduce_max(tf.abs(canvases[0] - canvases[1])))
    scale = max(1.0, float(tf.reduce_max(tf.abs(canvases[1]))))
    tolerance = 1e-4 * scale  # float32 sums of C translated patches, then a division
    ok = diff <= tolerance
    shape = list(canvases[0].shape)
    result.records.append(
        TraceRecord(
            "values",
            "reassemble_patches_position_real (xla vs v3)",
            "",
            "return value",
            "B M M 1",
            "canvas",
            "float32",
            shape,
            shape,
            dict(result.dims),
            "proved" if ok else "refuted",
            [],
        )
    )
    if not ok:
        result.violation = TraceViolation(
            "values",
            "reassemble_patches_position_real",
            "return value",
            f"the XLA and V3 backends disagree on the same patches and offsets: max |xla - v3| = {diff:.3g} "
            f"(expected <= {tolerance:.2g}); shapes hold, so look at the translation's sign, fill or "
            "interpolation",
        )


def tf_message(error: BaseException) -> str:
    """The line of a TF error that states the problem (not the traceback or node annotations)."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(error))
    text = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", text)
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("[[")]
    keys = (
        "values, but the requested shape",
        "Dimensions must be equal",
        "Incompatible shapes",
        "should be equal",
        "must be",
        "divisible",
        "incompatible",
        "input shapes:",
    )
    for line in lines:
        if any(k in line for k in keys):
            return line
    return lines[-1] if lines else type(error).__name__


def contract_message(error: contracts.ShapeContractError) -> str:
    """The contract's own message, without what TF or Keras put before it."""
    message = str(error)
    start = message.find("shape contract violated")
    return message[start:] if start >= 0 else message


def _violation(mode: str, error: contracts.ShapeContractError) -> TraceViolation:
    v = error.violation
    if v is None:
        return TraceViolation(mode, "?", "?", contract_message(error))
    return TraceViolation(mode, v.function, v.argument, contract_message(error))
