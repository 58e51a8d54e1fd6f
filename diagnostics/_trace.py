"""Trace named shapes through the whole stack: build the model, run it, record every contract check."""

from __future__ import annotations

import contextlib
import re
from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np
import tensorflow as tf

import contracts
from ptycho.config.config import ModelConfig
from ptycho.model.factory import create_model_with_gridsize, training_model
from ptycho.tensors.translation import decide_backend

from ._faults import FAULTS

Mode = Literal["eager", "graph", "xla", "keras", "fit"]
MODES: tuple[Mode, ...] = ("keras", "eager", "graph", "xla", "fit")


@dataclass(frozen=True)
class TraceConfig:
    N: int = 64
    gridsize: int = 2
    batch: int = 32
    backend: Literal["xla", "v3"] | None = None
    mode: str = "all"
    fault: str | None = None
    max_offset: float = 7.0
    n_filters_scale: int = 2
    seed: int = 0


@dataclass
class TraceRecord:
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


@dataclass
class Violation:
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
    violation: Violation | None = None
    error: str | None = None  # an exception that was not a contract violation

    def to_dict(self) -> dict:
        return asdict(self)


def _records(events: list[contracts.CheckEvent], mode: str) -> list[TraceRecord]:
    return [
        TraceRecord(mode, e.function, e.location, e.argument, e.spec, e.layout, e.dtype,
                    None if e.static_shape is None else list(e.static_shape),
                    None if e.concrete_shape is None else list(e.concrete_shape),
                    dict(e.bindings), e.outcome, list(e.deferred))
        for e in events
    ]


def _inputs(cfg: TraceConfig, model_cfg: ModelConfig) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(cfg.seed)
    c = model_cfg.C
    x = np.abs(rng.standard_normal((cfg.batch, cfg.N, cfg.N, c))).astype(np.float32) * 100
    offsets = rng.uniform(-0.9, 0.9, (cfg.batch, 1, 2, c)).astype(np.float32) * cfg.max_offset
    return x, offsets


def _run_mode(mode: Mode, autoencoder, x: np.ndarray, offsets: np.ndarray) -> None:
    c = x.shape[-1]
    n = x.shape[1]
    signature = [tf.TensorSpec([None, n, n, c]), tf.TensorSpec([None, 1, 2, c])]
    if mode == "eager":
        autoencoder([tf.constant(x), tf.constant(offsets)])
    elif mode in ("graph", "xla"):
        fn = tf.function(lambda a, b: autoencoder([a, b]), input_signature=signature, jit_compile=(mode == "xla"))
        fn(tf.constant(x), tf.constant(offsets))
    elif mode == "fit":
        trainer = training_model(autoencoder, "nll")
        data = tf.data.Dataset.from_tensor_slices(((x, offsets), x**2)).batch(len(x))
        trainer.fit(data, epochs=1, steps_per_epoch=1, verbose=0, shuffle=False)


def run_trace(cfg: TraceConfig) -> TraceResult:
    """Build the stack for ``cfg`` and run each requested mode, recording every contract check."""
    model_cfg = ModelConfig(N=cfg.N, gridsize=cfg.gridsize, n_filters_scale=cfg.n_filters_scale,
                            max_offset=cfg.max_offset, translate_backend=cfg.backend)
    modes = MODES if cfg.mode == "all" else ("keras", cfg.mode)
    fault = contextlib.nullcontext() if cfg.fault is None else FAULTS[cfg.fault].patch()
    dims = {"B": cfg.batch, "g": cfg.gridsize, "C": model_cfg.C, "N": cfg.N, "M": model_cfg.padded_size}
    # What the model will decide, for a trace that stops before a model exists; the built model's
    # own record replaces it.
    expected = decide_backend(cfg.backend)
    result = TraceResult(cfg, dims, backend=expected.backend, backend_source=expected.source)
    # Full checking unless the user turned contracts off (PTYCHO_CONTRACTS=off: nothing is traced).
    checking = contextlib.nullcontext() if contracts.get_mode() == "off" else contracts.mode("full")
    with fault, checking:
        autoencoder = None
        for mode in dict.fromkeys(modes):
            with contracts.recording() as events:
                try:
                    if mode == "keras":
                        autoencoder, _ = create_model_with_gridsize(
                            cfg.gridsize, cfg.N, cfg.backend, n_filters_scale=cfg.n_filters_scale,
                            max_offset=cfg.max_offset)
                        result.backend = autoencoder.translate_backend
                        result.backend_source = autoencoder.translate_backend_source
                    else:
                        _run_mode(mode, autoencoder, *_inputs(cfg, model_cfg))  # type: ignore[arg-type]
                except contracts.ShapeContractError as e:
                    result.violation = _violation(mode, e)
                except (tf.errors.InvalidArgumentError, tf.errors.UnknownError) as e:
                    converted = contracts.as_contract_error(e)
                    if converted is None:
                        result.error = f"{type(e).__name__}: {_tf_message(e)}"
                    else:
                        result.violation = _violation(mode, converted)
                except (ValueError, TypeError) as e:  # TF's own trace-time shape errors, contracts off
                    result.error = f"{type(e).__name__}: {_tf_message(e)}"
            result.records += _records(events, mode)
            if result.violation or result.error:
                break
        if cfg.mode == "all" and not (result.violation or result.error) and result.records:
            _backend_agreement(cfg, model_cfg, result)
    return result


def _backend_agreement(cfg: TraceConfig, model_cfg: ModelConfig, result: TraceResult) -> None:
    """Values, not shapes: reassembly with the XLA and V3 backends must agree on the trace's data."""
    from ptycho.tensors.reassembly import reassemble_patches_position_real

    x, offsets = _inputs(cfg, model_cfg)
    patches = tf.constant(x / (np.max(x) or 1.0))
    backends: tuple[Literal["xla", "v3"], ...] = ("xla", "v3")
    canvases = [reassemble_patches_position_real(patches, tf.constant(offsets), model_cfg.padded_size, backend=b)
                for b in backends]
    diff = float(tf.reduce_max(tf.abs(canvases[0] - canvases[1])))
    scale = max(1.0, float(tf.reduce_max(tf.abs(canvases[1]))))
    tolerance = 1e-4 * scale  # float32 sums of C translated patches, then a division
    ok = diff <= tolerance
    result.records.append(TraceRecord(
        "values", "reassemble_patches_position_real (xla vs v3)", "", "return value", "B M M 1", "canvas", "float32",
        list(canvases[0].shape), list(canvases[0].shape), dict(result.dims), "proved" if ok else "refuted", []))
    if not ok:
        result.violation = Violation(
            "values", "reassemble_patches_position_real", "return value",
            f"the XLA and V3 backends disagree on the same patches and offsets: max |xla - v3| = {diff:.3g} "
            f"(expected <= {tolerance:.2g}); shapes hold, so look at the translation's sign, fill or interpolation")


def _tf_message(error: BaseException) -> str:
    """The line of a TF error that states the problem (not the traceback or node annotations)."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(error))
    text = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", text)
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("[[")]
    for line in lines:
        if any(k in line for k in ("values, but the requested shape", "Dimensions must be equal", "Incompatible shapes",
                                    "should be equal", "must be", "divisible", "incompatible")):
            return line
    return lines[-1] if lines else type(error).__name__


def _violation(mode: str, error: contracts.ShapeContractError) -> Violation:
    v = error.violation
    message = str(error)
    start = message.find("shape contract violated")
    message = message[start:] if start >= 0 else message
    if v is None:
        return Violation(mode, "?", "?", message)
    return Violation(mode, v.function, v.argument, message)
