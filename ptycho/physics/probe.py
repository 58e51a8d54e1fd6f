"""The default illumination: a smooth, disk-like (Airy-like) probe of N x N pixels."""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def get_default_probe(
    N: int,
    radius: float | None = None,
    softness: float = 1.5,
    object_rms: float = 0.5,
    curvature: float = 0.0,
) -> np.ndarray:
    """A disk of ``radius`` (default N/4) blurred by a Gaussian of ``softness`` px, complex64.

    Normalised to ``sum |P|^2 = (N/2)^2 / object_rms^2``. The loader scales the data to a mean
    pattern energy of ``(N/2)^2``, so the object the network must produce under this probe has an
    rms amplitude of about ``object_rms``: 0.5 keeps it mid-range of the sigmoid amplitude head
    (at rms 1 an object's bright parts need amplitudes above 1, the sigmoid saturates and training
    stalls on a flat object). Centred at pixel ((N-1)/2, (N-1)/2), the patch centre of
    shared/CONVENTIONS.md.

    ``curvature`` adds a defocus-like phase ``pi * curvature * (r / radius)^2``. The default, 0,
    is a real probe: with a real (amplitude-only) object the exit wave is real, its pattern is
    centrosymmetric, and an object patch rotated by 180 degrees gives the same pattern (the twin
    ambiguity), so a network that maps one pattern to one patch cannot tell the two apart. With
    a curvature the exit wave is complex: the rotated patch gives the point-reflected pattern,
    which differs, as with a defocused probe in an experiment.
    """
    if not isinstance(N, int) or N < 8:
        raise ValueError(f"get_default_probe: N must be an int >= 8; received: N={N!r}")
    radius = N / 4 if radius is None else radius
    if not 0 < radius <= N / 2:
        raise ValueError(f"get_default_probe: radius must be in (0, N/2]; received: radius={radius!r}, N={N}")
    if not 0 < object_rms < np.inf:
        raise ValueError(
            f"get_default_probe: object_rms must be > 0 and finite; received: object_rms={object_rms!r}"
        )
    if not np.isfinite(curvature):
        raise ValueError(f"get_default_probe: curvature must be finite; received: curvature={curvature!r}")
    centre = (N - 1) / 2
    y, x = np.mgrid[:N, :N]
    r2 = (x - centre) ** 2 + (y - centre) ** 2
    smooth = ndimage.gaussian_filter((r2 <= radius**2).astype(np.float64), softness)
    amplitude = smooth * (N / 2) / object_rms / np.sqrt(np.sum(smooth**2))
    return (amplitude * np.exp(1j * np.pi * curvature * r2 / radius**2)).astype(np.complex64)


def disk_mask(N: int, radius: float | None = None) -> np.ndarray:
    """1 inside a disk of ``radius`` (default N/4) around the patch centre, else 0 (float32)."""
    radius = N / 4 if radius is None else radius
    centre = (N - 1) / 2
    y, x = np.mgrid[:N, :N]
    return ((x - centre) ** 2 + (y - centre) ** 2 <= radius**2).astype(np.float32)


def validate_probe(probe: np.ndarray, N: int) -> np.ndarray:
    """The probe as complex64, refused unless it is a finite N x N array."""
    probe = np.asarray(probe)
    if probe.shape != (N, N):
        raise ValueError(f"probe must be N x N = {N} x {N}; received: probe.shape={probe.shape}")
    if not np.all(np.isfinite(probe)):
        raise ValueError("probe has non-finite values")
    return probe.astype(np.complex64)


def footprint(probe: np.ndarray, fraction: float = 0.9) -> int:
    """The side of the smallest central box (same parity as N) holding ``fraction`` of ``sum |P|^2``.

    What one diffraction pattern constrains of the object: the box a reconstruction stitches.
    """
    intensity = np.abs(np.asarray(probe)) ** 2
    n = intensity.shape[0]
    total = float(intensity.sum())
    if intensity.shape != (n, n) or not total > 0:
        raise ValueError(f"footprint: probe must be square and not zero; received shape {intensity.shape}")
    for side in range(2 - n % 2, n + 1, 2):
        start = (n - side) // 2
        if intensity[start : start + side, start : start + side].sum() >= fraction * total:
            return side
    return n
