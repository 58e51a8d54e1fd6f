"""Scan data as recorded (``RawData``: P positions, their diffraction amplitudes, the probe) and its NPZ form.

``RawData.generate_grouped_data`` forms groups of C = gridsize^2 positions (``grouping``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .grouping import GroupedData, choose_groups, group_by_indices

NPZ_KEYS = ("xcoords", "ycoords", "diff3d", "probeGuess", "objectGuess", "scan_index")


class RawData:
    """Positions ``xcoords``, ``ycoords`` (P,), amplitudes ``diff3d`` (P, N, N), probe (N, N), object."""

    def __init__(
        self,
        xcoords: np.ndarray,
        ycoords: np.ndarray,
        diff3d: np.ndarray,
        probeGuess: np.ndarray,
        scan_index: np.ndarray | None = None,
        objectGuess: np.ndarray | None = None,
    ) -> None:
        self.xcoords = np.asarray(xcoords, dtype=np.float64).reshape(-1)
        self.ycoords = np.asarray(ycoords, dtype=np.float64).reshape(-1)
        self.diff3d = np.asarray(diff3d, dtype=np.float32)
        self.probeGuess = np.asarray(probeGuess).astype(np.complex64)
        count = len(self.xcoords)
        self.scan_index = np.zeros(count, int) if scan_index is None else np.asarray(scan_index).reshape(-1)
        self.objectGuess = None if objectGuess is None else np.asarray(objectGuess).astype(np.complex64)
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

    @property
    def N(self) -> int:
        return int(self.diff3d.shape[1])

    @property
    def positions(self) -> np.ndarray:
        return np.stack([self.xcoords, self.ycoords], axis=1)

    def to_file(self, path: str | Path) -> None:
        arrays: dict[str, np.ndarray] = {
            "xcoords": self.xcoords,
            "ycoords": self.ycoords,
            "diff3d": self.diff3d,
            "probeGuess": self.probeGuess,
            "scan_index": self.scan_index,
        }
        if self.objectGuess is not None:
            arrays["objectGuess"] = self.objectGuess
        np.savez_compressed(path, **arrays)  # type: ignore[arg-type]  # numpy stubs read **kwds as allow_pickle

    @classmethod
    def from_file(cls, path: str | Path) -> RawData:
        with np.load(path) as data:
            missing = [k for k in ("xcoords", "ycoords", "diff3d", "probeGuess") if k not in data]
            if missing:
                raise KeyError(
                    f"RawData.from_file({str(path)!r}): missing keys {missing}; found {sorted(data.files)}"
                )
            return cls(
                data["xcoords"],
                data["ycoords"],
                data["diff3d"],
                data["probeGuess"],
                data.get("scan_index"),
                data.get("objectGuess"),
            )

    def generate_grouped_data(
        self,
        N: int,
        K: int = 7,
        nsamples: int = 1,
        gridsize: int = 1,
        seed: int = 0,
        oversample: bool = False,
    ) -> GroupedData:
        """``nsamples`` groups of C = gridsize^2 positions from each seed's K nearest neighbours."""
        if N != self.N:
            raise ValueError(f"generate_grouped_data: N={N} differs from the data's N={self.N}")
        indices = choose_groups(self.positions, K, nsamples, gridsize, seed=seed, oversample=oversample)
        return group_by_indices(self, indices)
