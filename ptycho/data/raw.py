"""Scan data as recorded (``RawData``: P positions, their diffraction amplitudes, the probe) and its NPZ form.

``RawData.generate_grouped_data`` forms groups of C = gridsize^2 positions (``grouping``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..files import DataFileError as DataFileError
from ..files import read_npz as read_npz
from ..files import save_npz
from .grouping import GroupedData, choose_groups, group_by_indices

REQUIRED_KEYS = ("xcoords", "ycoords", "diff3d", "probeGuess")
OPTIONAL_KEYS = ("objectGuess", "scan_index", "nphotons")
NPZ_KEYS = REQUIRED_KEYS + OPTIONAL_KEYS[:2]


class RawData:
    """Positions ``xcoords``, ``ycoords`` (P,), amplitudes ``diff3d`` (P, N, N), probe (N, N), object.

    ``diff3d`` holds diffraction amplitudes (the square root of photon counts): real, finite and
    non-negative. ``objectGuess``, when given, is the object in the scan's pixel frame (the
    ground truth of a simulation) and must hold a patch (at least N x N). ``nphotons``: the mean
    photon count per pattern the data was simulated at, when known.
    """

    def __init__(
        self,
        xcoords: np.ndarray,
        ycoords: np.ndarray,
        diff3d: np.ndarray,
        probeGuess: np.ndarray,
        scan_index: np.ndarray | None = None,
        objectGuess: np.ndarray | None = None,
        nphotons: float | None = None,
    ) -> None:
        self.xcoords = _real("xcoords", xcoords, np.float64).reshape(-1)
        self.ycoords = _real("ycoords", ycoords, np.float64).reshape(-1)
        self.diff3d = _real("diff3d", diff3d, np.float32)
        self.probeGuess = _numeric("probeGuess", probeGuess).astype(np.complex64)
        count = len(self.xcoords)
        self.scan_index = np.zeros(count, int) if scan_index is None else np.asarray(scan_index).reshape(-1)
        self.objectGuess = (
            None if objectGuess is None else _numeric("objectGuess", objectGuess).astype(np.complex64)
        )
        self.nphotons = None if nphotons is None else float(nphotons)
        self._validate()

    def _validate(self) -> None:
        p = len(self.xcoords)
        if len(self.ycoords) != p or len(self.scan_index) != p:
            raise ValueError(
                f"RawData: xcoords ({p}), ycoords ({len(self.ycoords)}) and scan_index "
                f"({len(self.scan_index)}) must have one entry per position"
            )
        if self.diff3d.ndim != 3 or self.diff3d.shape[0] != p or self.diff3d.shape[1] != self.diff3d.shape[2]:
            raise ValueError(
                f"RawData: diff3d must be (P, N, N) with P = {p}; received: diff3d.shape={self.diff3d.shape}"
            )
        n = self.diff3d.shape[1]
        if self.probeGuess.shape != (n, n):
            raise ValueError(
                f"RawData: probeGuess must be N x N = {n} x {n}; "
                f"received: probeGuess.shape={self.probeGuess.shape}"
            )
        bad = ~(np.isfinite(self.xcoords) & np.isfinite(self.ycoords))
        if bad.any():
            raise ValueError(
                f"RawData: {int(bad.sum())} positions are NaN or inf (first at index {int(np.argmax(bad))})"
            )
        refuse_bad_values("diff3d", self.diff3d, "amplitudes sqrt(counts): finite and >= 0", negative=True)
        refuse_bad_values("probeGuess", self.probeGuess, "a finite probe")
        if self.objectGuess is not None:
            if self.objectGuess.ndim != 2 or min(self.objectGuess.shape) < n:
                raise ValueError(
                    f"RawData: objectGuess must be a 2-D image at least N x N = {n} x {n} (the probe's "
                    f"footprint); received: objectGuess.shape={self.objectGuess.shape}"
                )
            refuse_bad_values("objectGuess", self.objectGuess, "a finite object")
        if self.nphotons is not None and not 0 < self.nphotons < np.inf:
            raise ValueError(
                f"RawData: nphotons must be > 0 and finite; received: nphotons={self.nphotons!r}"
            )

    @property
    def N(self) -> int:
        return int(self.diff3d.shape[1])

    @property
    def positions(self) -> np.ndarray:
        return np.stack([self.xcoords, self.ycoords], axis=1)

    def to_file(self, path: str | Path) -> None:
        """An NPZ with PtychoPINN's keys (and ``nphotons`` when known), written atomically."""
        arrays: dict[str, np.ndarray] = {
            "xcoords": self.xcoords,
            "ycoords": self.ycoords,
            "diff3d": self.diff3d,
            "probeGuess": self.probeGuess,
            "scan_index": self.scan_index,
        }
        if self.objectGuess is not None:
            arrays["objectGuess"] = self.objectGuess
        if self.nphotons is not None:
            arrays["nphotons"] = np.asarray(self.nphotons)
        save_npz(path, **arrays)

    @classmethod
    def from_file(cls, path: str | Path) -> RawData:
        """Read an NPZ with PtychoPINN's keys; every problem is a ``DataFileError`` naming file and key."""
        name = str(path)
        arrays = read_npz(path, required=REQUIRED_KEYS, optional=OPTIONAL_KEYS)
        nphotons = arrays.get("nphotons")
        if nphotons is not None and nphotons.size != 1:
            raise DataFileError(f"{name}: key 'nphotons' must be one number; received shape {nphotons.shape}")
        try:
            return cls(
                arrays["xcoords"],
                arrays["ycoords"],
                arrays["diff3d"],
                arrays["probeGuess"],
                arrays.get("scan_index"),
                arrays.get("objectGuess"),
                None if nphotons is None else float(nphotons.reshape(())),
            )
        except ValueError as exc:
            raise DataFileError(f"{name}: {str(exc).removeprefix('RawData: ')}") from None

    def generate_grouped_data(
        self,
        N: int,
        K: int = 7,
        nsamples: int = 1,
        gridsize: int = 1,
        seed: int = 0,
        oversample: bool = False,
        sequential: bool = False,
    ) -> GroupedData:
        """``nsamples`` groups of C = gridsize^2 positions from each seed's K nearest neighbours."""
        if N != self.N:
            raise ValueError(f"generate_grouped_data: N={N} differs from the data's N={self.N}")
        indices = choose_groups(
            self.positions, K, nsamples, gridsize, seed=seed, oversample=oversample, sequential=sequential
        )
        return group_by_indices(self, indices)


def _numeric(key: str, value: np.ndarray) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype.kind not in "biufc":
        raise ValueError(f"RawData: {key} must be numeric; received dtype {array.dtype}")
    return array


def _real(key: str, value: np.ndarray, dtype: type) -> np.ndarray:
    """``value`` as ``dtype``, refusing complex values (a cast would drop the imaginary part silently)."""
    array = _numeric(key, value)
    if array.dtype.kind == "c":
        raise ValueError(
            f"RawData: {key} is complex ({array.dtype}); expected real values"
            + (" (diffraction amplitudes sqrt(counts), not complex fields)" if key == "diff3d" else "")
        )
    return array.astype(dtype, copy=False)


def refuse_bad_values(
    key: str, array: np.ndarray, expected: str, negative: bool = False, where: str = "RawData"
) -> None:
    """``where: key has k NaN or inf values (first at index ...); expected ...`` (and negatives)."""
    finite = np.isfinite(array)
    if not finite.all():
        first = np.unravel_index(int(np.argmin(finite)), array.shape)
        raise ValueError(
            f"{where}: {key} has {int(array.size - finite.sum())} NaN or inf values (first at "
            f"index {tuple(int(i) for i in first)}); expected {expected}"
        )
    if negative and (array < 0).any():
        below = array < 0
        first = np.unravel_index(int(np.argmax(below)), array.shape)
        raise ValueError(
            f"{where}: {key} has {int(below.sum())} negative values (first {float(array[first]):.4g} at "
            f"index {tuple(int(i) for i in first)}); expected {expected}"
        )
