"""Scan positions, patch extraction, illumination, diffraction and Poisson counts (NumPy, seeded).

Positions are patch centres ``[x, y]`` in object pixels (x along the width). Patch pixel (r, c)
samples the object at ``(x - (N-1)/2 + c, y - (N-1)/2 + r)``, bilinear, zero outside: the same
placement that ``ptycho.tensors.stitching.reassemble_position`` uses to stitch patches back.
"""

from __future__ import annotations

import numpy as np

from ..progress import progress


def grid_positions(object_shape: tuple[int, int], N: int, step: float) -> np.ndarray:
    """A raster of patch centres ``(P, 2)`` ``[x, y]``, every patch inside the object."""
    height, width = object_shape
    if step <= 0:
        raise ValueError(f"grid_positions: step must be > 0; received: step={step!r}")
    lo = (N - 1) / 2
    xs = np.arange(lo, width - 1 - lo + 1e-9, step)
    ys = np.arange(lo, height - 1 - lo + 1e-9, step)
    if len(xs) == 0 or len(ys) == 0:
        raise ValueError(f"grid_positions: object {object_shape} is smaller than a patch (N={N})")
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx.ravel(), gy.ravel()], axis=1)


def jittered_raster(
    object_shape: tuple[int, int], N: int, step: float, jitter: float = 0.0, seed: int = 0
) -> np.ndarray:
    """``grid_positions`` moved by uniform noise in ``[-jitter, jitter]`` px, kept inside the object."""
    if not 0 <= jitter < np.inf:
        raise ValueError(f"jittered_raster: jitter must be >= 0 and finite; received: jitter={jitter!r}")
    raster = grid_positions(object_shape, N, step)
    rng = np.random.default_rng(seed)
    lo = (N - 1) / 2
    hi = np.array([object_shape[1], object_shape[0]]) - 1 - lo
    return np.clip(raster + rng.uniform(-jitter, jitter, raster.shape), lo, hi)


def random_positions(object_shape: tuple[int, int], N: int, count: int, seed: int = 0) -> np.ndarray:
    """``count`` uniformly random patch centres ``(P, 2)``, every patch inside the object."""
    height, width = object_shape
    lo = (N - 1) / 2
    if width - 1 - lo < lo or height - 1 - lo < lo:
        raise ValueError(f"random_positions: object {object_shape} is smaller than a patch (N={N})")
    rng = np.random.default_rng(seed)
    return np.stack([rng.uniform(lo, width - 1 - lo, count), rng.uniform(lo, height - 1 - lo, count)], axis=1)


def extract_patches(obj: np.ndarray, positions: np.ndarray, N: int) -> np.ndarray:
    """``(P, N, N)`` patches of obj centred at ``positions`` ``(P, 2)`` ``[x, y]``, bilinear, 0 outside."""
    obj = np.asarray(obj)
    positions = np.asarray(positions, dtype=np.float64).reshape(-1, 2)
    if not np.all(np.isfinite(positions)):
        raise ValueError("extract_patches: positions contain NaN or inf")
    height, width = obj.shape
    grid = np.arange(N) - (N - 1) / 2
    sx = positions[:, 0, None, None] + grid[None, None, :]
    sy = positions[:, 1, None, None] + grid[None, :, None]
    x0, y0 = np.floor(sx).astype(int), np.floor(sy).astype(int)
    fx, fy = sx - x0, sy - y0
    out = np.zeros((len(positions), N, N), dtype=np.result_type(obj.dtype, np.float32))
    for dy, wy in ((0, 1 - fy), (1, fy)):
        for dx, wx in ((0, 1 - fx), (1, fx)):
            yy, xx = y0 + dy, x0 + dx
            inside = (yy >= 0) & (yy < height) & (xx >= 0) & (xx < width)
            values = obj[np.clip(yy, 0, height - 1), np.clip(xx, 0, width - 1)]
            out += np.where(inside, values, 0) * (wy * wx)
    return out


def diffraction_amplitude(exit_waves: np.ndarray) -> np.ndarray:
    """``A = sqrt(fftshift(|FFT2(psi)|^2) / (N*N))`` per pattern (so sum A^2 = sum |psi|^2)."""
    n = exit_waves.shape[-1]
    spectrum = np.fft.fftshift(np.abs(np.fft.fft2(exit_waves)) ** 2, axes=(-2, -1))
    return np.sqrt(spectrum / (n * n))


def simulate_diffraction(
    obj: np.ndarray,
    probe: np.ndarray,
    positions: np.ndarray,
    nphotons: float,
    seed: int = 0,
    chunk: int = 1024,
) -> np.ndarray:
    """Poisson-noisy diffraction amplitudes ``sqrt(counts)`` ``(P, N, N)``, mean total counts ``nphotons``."""
    n = probe.shape[0]
    if probe.ndim != 2 or probe.shape != (n, n):
        raise ValueError(f"simulate_diffraction: probe must be square; received: probe.shape={probe.shape}")
    if not 0 < nphotons < np.inf:
        raise ValueError(
            f"simulate_diffraction: nphotons must be > 0 and finite; received: nphotons={nphotons!r}"
        )
    obj = np.asarray(obj)
    if obj.ndim != 2 or min(obj.shape) < n:
        raise ValueError(
            f"simulate_diffraction: the object must be a 2-D image at least N x N = {n} x {n} (the "
            f"probe's footprint); received: object shape {obj.shape}"
        )
    positions = np.asarray(positions, dtype=np.float64).reshape(-1, 2)

    def intensity(part: slice) -> np.ndarray:
        return diffraction_amplitude(extract_patches(obj, positions[part], n) * probe[None]) ** 2

    # Two passes over chunks (the mean photon count needs every pattern first): memory grows with
    # a chunk, not with the scan. The Poisson draws come from one generator in order, as one call.
    parts = [slice(i, i + chunk) for i in range(0, len(positions), chunk)]
    with progress("simulating", 2 * len(parts)) as advance:
        totals = []
        for part in parts:
            totals.append(intensity(part).sum(axis=(1, 2)))
            advance(1)
        scale = nphotons / np.concatenate(totals).mean()
        rng = np.random.default_rng(seed)
        out = np.empty((len(positions), n, n), np.float32)
        for part in parts:
            out[part] = np.sqrt(rng.poisson(intensity(part) * scale))
            advance(1)
    return out
