"""Groups of C = gridsize^2 scan positions, in the channel layout (shared/CONVENTIONS.md).

A group is a seed position and C - 1 others drawn from the seed's K nearest neighbours (KD-tree).
Relative offsets are ``position - centroid``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from jaxtyping import Complex, Float, Int
from scipy.spatial import cKDTree

from contracts import contract

from ..config.config import is_int
from ..physics.simulation import extract_patches
from ..progress import progress
from ..tensors import vocabulary as _vocabulary  # noqa: F401  (registers the dims its contract uses)

if TYPE_CHECKING:
    from .raw import RawData


_PROGRESS_STEP = 4096  # groups drawn between two updates of the progress bar


@dataclass(frozen=True)
class GroupedData:
    """B groups of C positions, channel layout throughout."""

    diffraction: np.ndarray  # (B, N, N, C) float32
    coords_nn: np.ndarray  # (B, 1, 2, C) absolute [x, y]
    coords_relative: np.ndarray  # (B, 1, 2, C) position - centroid
    coords_offsets: np.ndarray  # (B, 1, 2, 1) centroid
    nn_indices: np.ndarray  # (B, C) int
    Y: np.ndarray | None  # (B, N, N, C) complex64 ground-truth patches, if an object is known

    @property
    def gridsize(self) -> int:
        return round(np.sqrt(self.diffraction.shape[-1]))


def choose_groups(
    positions: np.ndarray,
    K: int,
    nsamples: int,
    gridsize: int,
    seed: int = 0,
    oversample: bool = False,
    sequential: bool = False,
) -> np.ndarray:
    """Indices ``(nsamples, C)`` into ``positions`` ``(P, 2)``: each group a seed and C - 1 of the
    seed's K nearest neighbours. The seeds are drawn at random, or with ``sequential`` taken in scan
    order (position ``i % P`` seeds group ``i``)."""
    if not (is_int(gridsize) and gridsize in (1, 2, 3)):
        raise ValueError(
            f"generate_grouped_data: gridsize must be 1, 2 or 3 (an int); received: gridsize={gridsize!r}"
        )
    if not (is_int(nsamples) and nsamples >= 1):
        raise ValueError(
            f"generate_grouped_data: nsamples must be an int >= 1; received: nsamples={nsamples!r}"
        )
    if not (is_int(K) and K >= 1):
        raise ValueError(f"generate_grouped_data: K must be an int >= 1; received: K={K!r}")
    c = gridsize * gridsize
    p = len(positions)
    if c > K:
        raise ValueError(
            f"generate_grouped_data: K={K} nearest neighbours cannot fill a group of C = gridsize^2 = {c}"
        )
    if p < K:
        raise ValueError(f"generate_grouped_data: K={K} exceeds the {p} positions in the data")
    if nsamples > p and not oversample:
        raise ValueError(
            f"generate_grouped_data: {nsamples} groups requested from {p} positions; "
            "pass oversample=True to draw several groups per seed"
        )
    rng = np.random.default_rng(seed)
    seeds = np.arange(nsamples) % p if sequential else rng.choice(p, size=nsamples, replace=nsamples > p)
    _, neighbours = cKDTree(positions).query(positions[seeds], k=K)
    neighbours = np.asarray(neighbours).reshape(nsamples, K)
    if c == 1:
        return seeds[:, None]
    # the seed (its own nearest neighbour) plus C - 1 of the other K - 1; one seeded draw per group
    # (a vectorised draw would change every group every recorded result was made with)
    pool = np.arange(1, K)
    others = np.empty((nsamples, c - 1), np.int64)
    with progress("grouping", nsamples) as advance:
        for start in range(0, nsamples, _PROGRESS_STEP):
            stop = min(start + _PROGRESS_STEP, nsamples)
            for i in range(start, stop):
                others[i] = rng.choice(pool, size=c - 1, replace=False)
            advance(stop - start)
    return np.concatenate([neighbours[:, :1], np.take_along_axis(neighbours, others, axis=1)], axis=1)


def largest_group_offset(positions: np.ndarray, K: int, gridsize: int) -> float:
    """An upper bound of |offset from the centroid| (per axis, px) of any group ``choose_groups``
    can draw from ``positions``: a group's C members lie in a seed's K-neighbourhood, so a member
    is at most ``(C - 1) / C`` of the neighbourhood's extent along an axis from their centroid."""
    c = gridsize * gridsize
    if c == 1:
        return 0.0
    k = min(K, len(positions))
    _, neighbours = cKDTree(positions).query(positions, k=k)
    hood = positions[np.asarray(neighbours).reshape(len(positions), k)]  # (P, K, 2)
    extent = hood.max(axis=1) - hood.min(axis=1)
    return float(extent.max()) * (c - 1) / c


def group_by_indices(raw: RawData, indices: np.ndarray) -> GroupedData:
    """Gather groups ``indices`` (B, C) of ``raw`` into the channel layout."""
    positions = raw.positions[indices]  # (B, C, 2)
    coords_nn = np.transpose(positions, (0, 2, 1))[:, None].astype(np.float32)  # (B, 1, 2, C)
    centroid = coords_nn.mean(axis=3, keepdims=True)
    diffraction = np.transpose(raw.diff3d[indices], (0, 2, 3, 1))
    Y = None
    if raw.objectGuess is not None:
        flat = extract_patches(raw.objectGuess, positions.reshape(-1, 2), raw.N)
        Y = np.transpose(flat.reshape(*indices.shape, raw.N, raw.N), (0, 2, 3, 1)).astype(np.complex64)
    return _checked_groups(
        diffraction, coords_nn, coords_nn - centroid, centroid, indices.astype(np.int64), Y
    )


@contract
def _checked_groups(
    diffraction: Float[np.ndarray, "B N N C"],
    coords_nn: Float[np.ndarray, "B 1 2 C"],
    coords_relative: Float[np.ndarray, "B 1 2 C"],
    coords_offsets: Float[np.ndarray, "B 1 2 1"],
    nn_indices: Int[np.ndarray, "B C"],
    Y: Complex[np.ndarray, "B N N C"] | None,
) -> GroupedData:
    return GroupedData(diffraction, coords_nn, coords_relative, coords_offsets, nn_indices, Y)
