"""Test objects: the synthetic "lines" object and any 2-D image as amplitude and phase."""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def lines_object(
    size: int, n_lines: int = 400, seed: int = 0, phase: bool = False, width: float = 1.0
) -> np.ndarray:
    """Random straight segments blurred at sigma 1, 5 and 10 (weights 1, 2, 5), ``size x size`` complex64.

    ``width`` scales the three sigmas (2: lines twice as wide, for a reconstruction whose
    resolution is coarser than one pixel). Drawn on a canvas twice the size and centre-cropped,
    normalised to [0, 1]; amplitude ``0.5 + value`` (in [0.5, 1.5]); with ``phase=True`` a phase
    of ``value - mean`` radians.
    """
    if not isinstance(size, int) or size < 8:
        raise ValueError(f"lines_object: size must be an int >= 8; received: size={size!r}")
    if not 0 < width < np.inf:
        raise ValueError(f"lines_object: width must be > 0 and finite; received: width={width!r}")
    rng = np.random.default_rng(seed)
    big = 2 * size
    canvas = np.zeros((big, big))
    for _ in range(n_lines):
        x0, y0, x1, y1 = rng.uniform(0, big - 1, 4)
        steps = int(max(abs(x1 - x0), abs(y1 - y0))) + 1
        xs = np.linspace(x0, x1, steps).round().astype(int)
        ys = np.linspace(y0, y1, steps).round().astype(int)
        canvas[ys, xs] = 1.0
    blurred = sum(w * ndimage.gaussian_filter(canvas, s * width) for s, w in ((1, 1), (5, 2), (10, 5)))
    start = (big - size) // 2
    crop = blurred[start : start + size, start : start + size]
    value = (crop - crop.min()) / (np.ptp(crop) or 1.0)
    amplitude = 0.5 + value
    angle = (value - value.mean()) if phase else np.zeros_like(value)
    return (amplitude * np.exp(1j * angle)).astype(np.complex64)


def image_object(amplitude: np.ndarray, phase: np.ndarray | None = None) -> np.ndarray:
    """A complex object from a 2-D amplitude image (rescaled to [0.5, 1.5]) and optional phase (radians)."""
    amplitude = np.asarray(amplitude, dtype=np.float64)
    if amplitude.ndim != 2:
        raise ValueError(f"image_object: amplitude must be 2-D; received: shape={amplitude.shape}")
    value = (amplitude - amplitude.min()) / (np.ptp(amplitude) or 1.0)
    angle = np.zeros_like(value) if phase is None else np.asarray(phase, dtype=np.float64)
    if angle.shape != value.shape:
        raise ValueError(
            f"image_object: phase shape {angle.shape} differs from amplitude shape {value.shape}"
        )
    return ((0.5 + value) * np.exp(1j * angle)).astype(np.complex64)
