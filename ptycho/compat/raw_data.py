"""PtychoPINN's ``ptycho.raw_data``: ``RawData`` with its constructor, NPZ keys and grouped-data dict.

``generate_grouped_data`` returns PtychoPINN's dict (``diffraction``, ``X_full``, ``coords_nn``,
``coords_offsets``, ``coords_relative``, the ``coords_start_*`` keys, ``nn_indices``, ``Y``,
``objectGuess``) with its relative-offset sign (``centroid - position``). What differs on purpose
(docs/migrating.md): ground-truth patches are cut at each position itself (PtychoPINN cut them at
the point reflection through the group centre), lengths are checked, ``nsamples`` beyond the data
is refused rather than capped, start coordinates that differ from the coordinates are refused (PtychoPINN
trained on one and reconstructed on the other), and no global random state is touched.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from .. import params as _params
from ..data import raw as _raw
from ..data.container import normalise_amplitudes
from ..files import DataFileError, read_npz, save_npz
from ..physics.simulation import extract_patches

local_offset_sign = -1  # PtychoPINN's relative offsets are centroid - position
key_coords_offsets = "coords_start_offsets"
key_coords_relative = "coords_start_relative"

REQUIRED_KEYS = ("xcoords", "ycoords", "diff3d", "probeGuess")
OPTIONAL_KEYS = ("xcoords_start", "ycoords_start", "scan_index", "objectGuess", "Y", "nphotons", "_metadata")


class RawData(_raw.RawData):
    """Scan data with PtychoPINN's constructor: positions, start positions (the nominal scan),
    amplitudes ``diff3d`` ``(n, N, N)``, probe ``(N, N)``, scan index, and optionally the object,
    ground-truth patches ``Y`` ``(n, N, N)``, ``norm_Y_I`` and a metadata dict."""

    def __init__(
        self,
        xcoords: Any,
        ycoords: Any,
        xcoords_start: Any,
        ycoords_start: Any,
        diff3d: Any,
        probeGuess: Any,
        scan_index: Any,
        objectGuess: Any = None,
        Y: Any = None,
        norm_Y_I: Any = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        coords = [np.asarray(a) for a in (xcoords, ycoords, xcoords_start, ycoords_start)]
        if len({a.shape for a in coords}) != 1 or coords[0].ndim != 1:
            raise ValueError(
                "RawData: xcoords, ycoords, xcoords_start and ycoords_start must be 1-D and of one shape; "
                f"received shapes {[a.shape for a in coords]}"
            )
        if diff3d is None or probeGuess is None:
            raise ValueError("RawData: diff3d and probeGuess are required here (PtychoPINN allowed None)")
        nphotons = None if metadata is None else metadata.get("nphotons")
        super().__init__(xcoords, ycoords, diff3d, probeGuess, scan_index, objectGuess, nphotons)
        self.xcoords_start = coords[2].astype(np.float64)
        self.ycoords_start = coords[3].astype(np.float64)
        _raw.refuse_bad_values("xcoords_start", self.xcoords_start, "finite positions")
        _raw.refuse_bad_values("ycoords_start", self.ycoords_start, "finite positions")
        self.Y = None if Y is None else _patches_y(Y, len(self.xcoords), self.N)
        self.norm_Y_I = norm_Y_I
        self.metadata = dict(metadata or {})
        self.sample_indices: np.ndarray | None = None
        self.subsample_seed: int | None = None

    @staticmethod
    def from_coords_without_pc(
        xcoords: Any, ycoords: Any, diff3d: Any, probeGuess: Any, scan_index: Any, objectGuess: Any = None
    ) -> RawData:
        """Start positions equal to the positions (no position correction)."""
        return RawData(xcoords, ycoords, xcoords, ycoords, diff3d, probeGuess, scan_index, objectGuess)

    @staticmethod
    def from_file(
        train_data_file_path: str | Path, validate_config: bool = False, current_config: Any = None
    ) -> RawData:
        """Read PtychoPINN's NPZ keys (``xcoords``, ``ycoords``, ``diff3d``, ``probeGuess``; optional
        start coordinates, ``scan_index``, ``objectGuess``, ``Y``, ``_metadata`` JSON)."""
        name = str(train_data_file_path)
        arrays = read_npz(
            train_data_file_path, required=REQUIRED_KEYS, optional=OPTIONAL_KEYS, text=("_metadata",)
        )
        metadata: dict[str, Any] = {}
        if "_metadata" in arrays:
            try:
                metadata = dict(json.loads(str(arrays["_metadata"].reshape(()))))
            except (ValueError, TypeError) as exc:
                raise DataFileError(f"{name}: key '_metadata' is not a JSON object ({exc})") from None
        if "nphotons" in arrays:
            metadata.setdefault("nphotons", float(arrays["nphotons"].reshape(())))
        x, y = arrays["xcoords"], arrays["ycoords"]
        try:
            return RawData(
                x,
                y,
                arrays.get("xcoords_start", x),
                arrays.get("ycoords_start", y),
                arrays["diff3d"],
                arrays["probeGuess"],
                arrays.get("scan_index", np.zeros(len(x), np.int64)),
                arrays.get("objectGuess"),
                arrays.get("Y"),
                metadata=metadata or None,
            )
        except ValueError as exc:
            raise DataFileError(f"{name}: {str(exc).removeprefix('RawData: ')}") from None

    @staticmethod
    def from_files(
        train_data_file_path: str | Path, test_data_file_path: str | Path
    ) -> tuple[RawData, RawData]:
        return RawData.from_file(train_data_file_path), RawData.from_file(test_data_file_path)

    def to_file(self, file_path: str | Path) -> None:
        """PtychoPINN's keys, written atomically; ``objectGuess`` and ``Y`` only when present (no pickles)."""
        arrays: dict[str, np.ndarray] = {
            "xcoords": self.xcoords,
            "ycoords": self.ycoords,
            "xcoords_start": self.xcoords_start,
            "ycoords_start": self.ycoords_start,
            "diff3d": self.diff3d,
            "probeGuess": self.probeGuess,
            "scan_index": self.scan_index,
        }
        if self.objectGuess is not None:
            arrays["objectGuess"] = self.objectGuess
        if self.Y is not None:
            arrays["Y"] = self.Y
        if self.metadata:
            arrays["_metadata"] = np.asarray(json.dumps(self.metadata))
        save_npz(file_path, **arrays)

    def generate_grouped_data(  # type: ignore[override]
        self,
        N: int,
        K: int = 4,
        nsamples: int = 1,
        dataset_path: str | None = None,
        seed: int | None = None,
        sequential_sampling: bool = False,
        gridsize: int | None = None,
        enable_oversampling: bool = False,
        neighbor_pool_size: int | None = None,
        *,
        rng: np.random.Generator | None = None,
    ) -> dict[str, Any]:
        """``nsamples`` groups of C = gridsize^2 positions (gridsize: the argument, else
        ``params.cfg['gridsize']``), each C of a seed's K nearest neighbours, as PtychoPINN's dict.

        ``sequential_sampling``: the seeds are the first ``nsamples`` positions, in order. Groups
        beyond one per position need ``enable_oversampling`` (then seeds repeat and the C members
        are drawn from ``neighbor_pool_size`` neighbours, default K). ``dataset_path`` is unused,
        as in PtychoPINN.
        """
        g = int(_params.get("gridsize")) if gridsize is None else gridsize
        if g not in (1, 2, 3) or isinstance(g, bool):
            raise ValueError(f"generate_grouped_data: gridsize must be 1, 2 or 3; received: gridsize={g!r}")
        if N != self.N:
            raise ValueError(
                f"generate_grouped_data: N={N} differs from the data's patterns, {self.N} x {self.N}"
            )
        if not np.array_equal(self.xcoords, self.xcoords_start) or not np.array_equal(
            self.ycoords, self.ycoords_start
        ):
            raise ValueError(
                "generate_grouped_data: xcoords/ycoords differ from xcoords_start/ycoords_start; PtychoPINN "
                "trained on the start coordinates and reconstructed at the others. Pass the positions "
                "to use as both"
            )
        generator = rng if rng is not None else np.random.default_rng(seed)
        indices = _choose(
            self.positions,
            K,
            nsamples,
            g * g,
            generator,
            sequential_sampling,
            enable_oversampling,
            neighbor_pool_size,
        )
        return self._dataset(indices, N, g)

    def _dataset(self, indices: np.ndarray, N: int, gridsize: int) -> dict[str, Any]:
        diffraction = np.transpose(self.diff3d[indices], (0, 2, 3, 1))  # (n, N, N, C)
        coords_nn = np.transpose(self.positions[indices], (0, 2, 1))[:, None].astype(np.float64)
        offsets, relative = get_relative_coords(coords_nn)
        start = np.stack([self.xcoords_start, self.ycoords_start], axis=1)
        start_nn = np.transpose(start[indices], (0, 2, 1))[:, None].astype(np.float64)
        start_offsets, start_relative = get_relative_coords(start_nn)
        if self.Y is not None:
            Y: np.ndarray | None = np.transpose(self.Y[indices], (0, 2, 3, 1))
        elif self.objectGuess is not None:
            Y = get_image_patches(self.objectGuess, offsets, relative, N, gridsize)
        else:
            Y = None
        dset: dict[str, Any] = {
            "diffraction": diffraction,
            "coords_nn": coords_nn,
            "coords_offsets": offsets,
            "coords_relative": relative,
            "coords_start_nn": start_nn,
            "coords_start_offsets": start_offsets,
            "coords_start_relative": start_relative,
            "nn_indices": indices.astype(np.int32),
            "Y": Y,
            "objectGuess": self.objectGuess,
        }
        dset["X_full"] = normalize_data(dset, N)
        if self.sample_indices is not None:
            dset["sample_indices"] = self.sample_indices
        return dset


def _patches_y(Y: Any, count: int, N: int) -> np.ndarray:
    Y = np.asarray(Y)
    if Y.ndim == 4 and Y.shape[-1] == 1:
        Y = Y[..., 0]
    if Y.shape != (count, N, N):
        raise ValueError(f"RawData: Y must be (n, N, N) = ({count}, {N}, {N}); received shape {Y.shape}")
    return Y.astype(np.complex64)


def _choose(
    positions: np.ndarray,
    K: int,
    nsamples: int,
    C: int,
    rng: np.random.Generator,
    sequential: bool,
    oversample: bool,
    pool_size: int | None,
) -> np.ndarray:
    """``(nsamples, C)`` indices: for each seed, C of its K nearest neighbours other than itself
    (PtychoPINN's rule; the seed itself only when it has fewer than C neighbours)."""
    n = len(positions)
    if not (isinstance(nsamples, (int, np.integer)) and nsamples >= 1):
        raise ValueError(f"generate_grouped_data: nsamples must be an int >= 1; received: {nsamples!r}")
    if n < C:
        raise ValueError(f"generate_grouped_data: {n} positions cannot fill a group of C={C}")
    pool = K if pool_size is None else pool_size
    if K < C or pool < C:
        raise ValueError(f"generate_grouped_data: K={pool} must be >= C={C}")
    if nsamples > n and not oversample:
        raise ValueError(
            f"generate_grouped_data: {nsamples} groups requested from {n} positions; pass "
            "enable_oversampling=True to draw several groups per position (PtychoPINN capped "
            "the count to the positions at gridsize 1, silently)"
        )
    if sequential:
        seeds = np.arange(min(nsamples, n))
        if nsamples > n:
            seeds = np.concatenate([seeds, rng.choice(n, nsamples - n, replace=True)])
    elif nsamples > n:
        seeds = np.concatenate([rng.permutation(n), rng.choice(n, nsamples - n, replace=True)])
    else:
        seeds = rng.choice(n, nsamples, replace=False)
    if C == 1:
        return seeds[:, None].astype(np.int64)
    k = min((pool if nsamples > n else K) + 1, n)
    _, neighbours = cKDTree(positions).query(positions[seeds], k=k)
    neighbours = np.asarray(neighbours).reshape(len(seeds), k)
    groups = np.empty((len(seeds), C), np.int64)
    for i, row in enumerate(neighbours):
        others = row[row != seeds[i]][: k - 1]
        candidates = others if len(others) >= C else row
        groups[i] = rng.choice(candidates, C, replace=False)
    return groups


def get_neighbor_indices(xcoords: Any, ycoords: Any, K: int = 3) -> np.ndarray:
    """``(n, K + 1)`` indices of each position's K + 1 nearest positions, itself first."""
    points = np.stack([np.asarray(xcoords, np.float64), np.asarray(ycoords, np.float64)], axis=1)
    _, indices = cKDTree(points).query(points, k=K + 1)
    return np.asarray(indices).reshape(len(points), K + 1)


def get_relative_coords(coords_nn: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(centroid (B, 1, 2, 1), centroid - coords_nn (B, 1, 2, C))`` of ``coords_nn (B, 1, 2, C)``."""
    coords_nn = np.asarray(coords_nn)
    if coords_nn.ndim != 4 or coords_nn.shape[1:3] != (1, 2):
        raise ValueError(
            f"get_relative_coords: coords_nn must be (B, 1, 2, C); received shape {coords_nn.shape}"
        )
    centroid = coords_nn.mean(axis=3, keepdims=True)
    return centroid, local_offset_sign * (coords_nn - centroid)


def get_image_patches(
    gt_image: Any, global_offsets: Any, local_offsets: Any, N: int | None = None, gridsize: int | None = None
) -> np.ndarray:
    """The ``(B, N, N, C)`` complex64 patches of ``gt_image`` at each position,
    ``global_offsets - local_offsets`` (PtychoPINN's sign); a position ``(x, y)`` puts object pixel
    ``(y, x)`` at patch pixel ``(N/2, N/2)``, so an integer position cuts
    ``gt_image[y - N/2 : y + N/2, x - N/2 : x + N/2]``. (PtychoPINN cut at ``global + local``, the
    point reflection of each position through its group centre.)"""
    n = int(_params.get("N")) if N is None else int(N)
    g = int(_params.get("gridsize")) if gridsize is None else int(gridsize)
    image = np.asarray(gt_image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim != 2:
        raise ValueError(f"get_image_patches: gt_image must be 2-D; received shape {image.shape}")
    global_offsets, local_offsets = np.asarray(global_offsets), np.asarray(local_offsets)
    if local_offsets.ndim != 4 or local_offsets.shape[1:3] != (1, 2) or local_offsets.shape[3] != g * g:
        raise ValueError(
            f"get_image_patches: local_offsets must be (B, 1, 2, C={g * g}); "
            f"received shape {local_offsets.shape}"
        )
    if global_offsets.shape != (local_offsets.shape[0], 1, 2, 1):
        raise ValueError(
            f"get_image_patches: global_offsets must be (B, 1, 2, 1) with B={local_offsets.shape[0]}; "
            f"received shape {global_offsets.shape}"
        )
    positions = global_offsets + local_offset_sign * local_offsets  # centroid - (centroid - position)
    flat = np.transpose(positions[:, 0], (0, 2, 1)).reshape(-1, 2)  # (B*C, 2), sample-major
    # the stack's patch centre is pixel (N-1)/2; PtychoPINN's is N/2, half a pixel further
    patches = extract_patches(image, flat - 0.5, n)
    return np.transpose(patches.reshape(len(positions), g * g, n, n), (0, 2, 3, 1)).astype(np.complex64)


def normalize_data(dset: dict[str, Any], N: int) -> np.ndarray:
    """``dset['diffraction']`` scaled to a mean per-pattern energy ``sum X^2`` of ``(N/2)^2``."""
    diffraction = np.asarray(dset["diffraction"])
    if diffraction.shape[1] != N:
        raise ValueError(f"normalize_data: N={N} but the patterns are {diffraction.shape[1]} wide")
    return normalise_amplitudes(diffraction)
