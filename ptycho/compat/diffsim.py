"""PtychoPINN's ``ptycho.diffsim``: the photon scale and simulated diffraction of object patches.

Diffraction follows shared/CONVENTIONS.md (``A = sqrt(fftshift(|FFT2(psi)|^2) / N^2)``, Poisson
counts, amplitude ``sqrt(counts)``). The Poisson draw takes a ``seed`` (default: fresh entropy,
as PtychoPINN's unseeded draw); no global random state is used.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import params as _params
from ..physics.simulation import diffraction_amplitude


def scale_nphotons(padded_obj: Any) -> float:
    """``sqrt(params nphotons / mean(sum over rows and columns of obj^2))``: the factor that gives
    the patterns of ``padded_obj`` ``(B, N, N, C)`` a mean of ``nphotons`` counts per pattern."""
    obj = np.abs(np.asarray(padded_obj, dtype=np.complex128 if np.iscomplexobj(padded_obj) else np.float64))
    if obj.ndim != 4:
        raise ValueError(f"scale_nphotons: expected (B, N, N, C); received shape {obj.shape}")
    energy = float(np.mean(np.sum(obj**2, axis=(1, 2))))
    if not energy > 0:
        raise ValueError("scale_nphotons: the patterns have no signal (mean energy 0)")
    return float(np.sqrt(float(_params.get("nphotons")) / energy))


def illuminate_and_diffract(
    Y_I: Any, Y_phi: Any, probe: Any, intensity_scale: float | None = None, seed: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Flat object patches ``Y_I``, ``Y_phi`` ``(n, N, N, 1)`` under ``probe`` ``(N, N)`` or
    ``(N, N, 1)``: ``(X, Y_I, Y_phi, intensity_scale)`` in the channel layout ``(n / C, N, N, C)``
    (C from ``params.cfg['gridsize']``). ``X``: Poisson amplitudes divided by the scale; ``Y_I``:
    the illuminated amplitude ``|Y_I probe|``; ``Y_phi``: the input phase."""
    amplitude = np.asarray(Y_I, np.float64)
    phase = np.asarray(Y_phi, np.float64)
    probe = np.asarray(probe)
    if probe.ndim == 3 and probe.shape[-1] == 1:
        probe = probe[..., 0]
    n = int(amplitude.shape[1]) if amplitude.ndim == 4 else 0
    if amplitude.ndim != 4 or amplitude.shape[-1] != 1 or amplitude.shape != phase.shape:
        raise ValueError(
            f"illuminate_and_diffract: Y_I and Y_phi must be flat (n, N, N, 1) and alike; received "
            f"{amplitude.shape} and {phase.shape}"
        )
    if probe.shape != (n, n):
        raise ValueError(
            f"illuminate_and_diffract: probe must be (N, N) = ({n}, {n}); received {probe.shape}"
        )
    g = int(_params.get("gridsize"))
    c = g * g
    if len(amplitude) % c:
        raise ValueError(
            f"illuminate_and_diffract: {len(amplitude)} patches do not form whole groups of C = {c} "
            f"(params gridsize {g})"
        )
    waves = amplitude[..., 0] * np.exp(1j * phase[..., 0]) * probe
    scale = scale_nphotons(np.abs(waves)[..., None]) if intensity_scale is None else float(intensity_scale)
    counts = np.random.default_rng(seed).poisson(
        (diffraction_amplitude(scale * waves) ** 2).astype(np.float64)
    )
    X = (np.sqrt(counts) / scale).astype(np.float32)

    def channels(flat: np.ndarray) -> np.ndarray:  # (n, N, N) -> (n / C, N, N, C), sample-major
        return np.transpose(flat.reshape(-1, c, n, n), (0, 2, 3, 1))

    return (
        channels(X),
        channels(np.abs(waves).astype(np.float32)),
        channels(phase[..., 0].astype(np.float32)),
        scale,
    )
