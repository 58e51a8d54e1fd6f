"""Scan data as recorded (``RawData``), its NPZ form, and grouping into gridsize x gridsize neighbourhoods.

A group is C = gridsize^2 scan positions: a seed and C - 1 others drawn from the seed's K nearest
neighbours (KD-tree). Relative offsets are ``position - centroid`` (shared/CONVENTIONS.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from jaxtyping import Complex, Float, Int
from scipy.spatial import cKDTree

from contracts import contract

from .simulation import extract_patches

NPZ_KEYS = ("xcoords", "ycoords", "diff3d", "probeGuess", "objectGuess", "scan_index")


@dataclass(frozen=True)
class GroupedData:
    """Groups of C positions, channel layout throughout."""

    diffraction: np.ndarray  # (n, N, N, C) float32
    coords_nn: np.ndarray  # (n, 1, 2, C) absolute [x, y]
    coords_relative: np.ndarray  # (n, 1, 2, C) position - centroid
    coords_offsets: np.ndarray  # (n, 1, 2, 1) centroid
    nn_indices: np.ndarray  # (n, C) int
    Y: np.ndarray | None  # (n, N, N, C) complex64 ground-truth patches, if an object is known

    @property
    def gridsize(self) -> int:
        return int(round(np.sqrt(self.diffraction.shape[-1])))


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
            raise ValueError(f"RawData: xcoords ({p}), ycoords ({len(self.ycoords)}) and scan_index "
                             f"({len(self.scan_index)}) must have one entry per position")
        if self.diff3d.ndim != 3 or self.diff3d.shape[0] != p or self.diff3d.shape[1] != self.diff3d.shape[2]:
            raise ValueError(f"RawData: diff3d must be (P, N, N) with P = {p}; received: diff3d.shape={self.diff3d.shape}")
        n = self.diff3d.shape[1]
        if self.probeGuess.shape != (n, n):
            raise ValueError(f"RawData: probeGuess must be N x N = {n} x {n}; received: probeGuess.shape={self.probeGuess.shape}")
        bad = ~(np.isfinite(self.xcoords) & np.isfinite(self.ycoords))
        if bad.any():
            raise ValueError(f"RawData: {int(bad.sum())} positions are NaN or inf (first at index {int(np.argmax(bad))})")

    @property
    def N(self) -> int:
        return int(self.diff3d.shape[1])

    @property
    def positions(self) -> np.ndarray:
        return np.stack([self.xcoords, self.ycoords], axis=1)

    def to_file(self, path: str | Path) -> None:
        arrays: dict[str, np.ndarray] = {"xcoords": self.xcoords, "ycoords": self.ycoords, "diff3d": self.diff3d,
                  "probeGuess": self.probeGuess, "scan_index": self.scan_index}
        if self.objectGuess is not None:
            arrays["objectGuess"] = self.objectGuess
        np.savez_compressed(path, **arrays)  # type: ignore[arg-type]  # numpy stubs read **kwds as allow_pickle

    @classmethod
    def from_file(cls, path: str | Path) -> "RawData":
        with np.load(path) as data:
            missing = [k for k in ("xcoords", "ycoords", "diff3d", "probeGuess") if k not in data]
            if missing:
                raise KeyError(f"RawData.from_file({str(path)!r}): missing keys {missing}; found {sorted(data.files)}")
            return cls(data["xcoords"], data["ycoords"], data["diff3d"], data["probeGuess"],
                       data["scan_index"] if "scan_index" in data else None,
                       data["objectGuess"] if "objectGuess" in data else None)

    def generate_grouped_data(
        self, N: int, K: int = 7, nsamples: int = 1, gridsize: int = 1, seed: int = 0, oversample: bool = False
    ) -> GroupedData:
        """``nsamples`` groups of C = gridsize^2 positions from each seed's K nearest neighbours."""
        if N != self.N:
            raise ValueError(f"generate_grouped_data: N={N} differs from the data's N={self.N}")
        c = gridsize * gridsize
        p = len(self.xcoords)
        if gridsize not in (1, 2, 3):
            raise ValueError(f"generate_grouped_data: gridsize must be 1, 2 or 3; received: gridsize={gridsize!r}")
        if K < c:
            raise ValueError(f"generate_grouped_data: K={K} nearest neighbours cannot fill a group of C = gridsize^2 = {c}")
        if K > p:
            raise ValueError(f"generate_grouped_data: K={K} exceeds the {p} positions in the data")
        if nsamples > p and not oversample:
            raise ValueError(f"generate_grouped_data: {nsamples} groups requested from {p} positions; "
                             "pass oversample=True to draw several groups per seed")
        rng = np.random.default_rng(seed)
        seeds = rng.choice(p, size=nsamples, replace=nsamples > p)
        _, neighbours = cKDTree(self.positions).query(self.positions[seeds], k=K)
        neighbours = np.asarray(neighbours).reshape(nsamples, K)
        if c == 1:
            indices = seeds[:, None]
        else:  # the seed (its own nearest neighbour) plus C - 1 of the other K - 1
            others = np.stack([rng.choice(np.arange(1, K), size=c - 1, replace=False) for _ in range(nsamples)])
            indices = np.concatenate([neighbours[:, :1], np.take_along_axis(neighbours, others, axis=1)], axis=1)
        return group_by_indices(self, indices)


def group_by_indices(raw: RawData, indices: np.ndarray) -> GroupedData:
    """Gather groups ``indices`` (n, C) of ``raw`` into the channel layout."""
    positions = raw.positions[indices]  # (n, C, 2)
    coords_nn = np.transpose(positions, (0, 2, 1))[:, None].astype(np.float32)  # (n, 1, 2, C)
    centroid = coords_nn.mean(axis=3, keepdims=True)
    diffraction = np.transpose(raw.diff3d[indices], (0, 2, 3, 1))
    Y = None
    if raw.objectGuess is not None:
        flat = extract_patches(raw.objectGuess, positions.reshape(-1, 2), raw.N)
        Y = np.transpose(flat.reshape(*indices.shape, raw.N, raw.N), (0, 2, 3, 1)).astype(np.complex64)
    return _checked_groups(diffraction, coords_nn, coords_nn - centroid, centroid, indices.astype(np.int64), Y)


@contract
def _checked_groups(
    diffraction: Float[np.ndarray, "n N N C"],
    coords_nn: Float[np.ndarray, "n 1 2 C"],
    coords_relative: Float[np.ndarray, "n 1 2 C"],
    coords_offsets: Float[np.ndarray, "n 1 2 1"],
    nn_indices: Int[np.ndarray, "n C"],
    Y: Complex[np.ndarray, "n N N C"] | None,
) -> GroupedData:
    return GroupedData(diffraction, coords_nn, coords_relative, coords_offsets, nn_indices, Y)
