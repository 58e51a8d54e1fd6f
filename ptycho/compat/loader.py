"""PtychoPINN's ``ptycho.loader``: ``PtychoDataContainer`` with its constructor, and ``load``.

A container holds what the model is fed, so its relative offsets (``coords_nominal``,
``coords_true``, ``local_offsets``) are the model's: ``position - centroid``. ``load`` converts the
grouped dict's (PtychoPINN's ``centroid - position``). The container carries the dose it was made
for (``nphotons``, read once from the legacy dict when not given) and so its own intensity scale;
PtychoPINN read one shared ``params.cfg['intensity_scale']`` at every use. Every per-group array must
have the same number of groups (PtychoPINN's ``load(create_split=True)`` split X, Y and the
coordinates but not the offsets and indices).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from .. import params as _params
from ..data import container as _core
from ..files import save_npz
from . import diffsim
from .tf_helper import center_channels


class PtychoDataContainer:
    """Grouped data as NumPy, with tensors made on first use: ``X`` ``(B, N, N, C)`` normalised
    amplitudes, ``Y_I``/``Y_phi`` the ground-truth amplitude and phase (ones and zeros when
    unknown), ``coords_nominal``/``coords_true`` ``(B, 1, 2, C)``, ``global_offsets``
    ``(B, 1, 2, 1)``, ``nn_indices`` ``(B, C)``, ``probe`` ``(N, N)``."""

    def __init__(
        self,
        X: Any,
        Y_I: Any,
        Y_phi: Any,
        norm_Y_I: Any,
        YY_full: Any,
        coords_nominal: Any,
        coords_true: Any,
        nn_indices: Any,
        global_offsets: Any,
        local_offsets: Any,
        probeGuess: Any,
        *,
        nphotons: float | None = None,
        has_truth: bool = True,
    ) -> None:
        self._X = _numpy(X, np.float32)
        self._Y_I = _numpy(Y_I, np.float32)
        self._Y_phi = _numpy(Y_phi, np.float32)
        self._coords_nominal = _numpy(coords_nominal, np.float32)
        self._coords_true = _numpy(coords_true, np.float32)
        self.norm_Y_I = norm_Y_I
        self.YY_full = YY_full
        self.nn_indices = None if nn_indices is None else np.asarray(nn_indices)
        self.global_offsets = None if global_offsets is None else np.asarray(global_offsets, np.float64)
        self.local_offsets = None if local_offsets is None else _numpy(local_offsets, np.float32)
        probe = np.asarray(probeGuess.numpy() if isinstance(probeGuess, tf.Tensor) else probeGuess)
        self._probe = (probe[..., 0] if probe.ndim == 3 and probe.shape[-1] == 1 else probe).astype(
            np.complex64
        )
        self.nphotons = float(_params.get("nphotons")) if nphotons is None else float(nphotons)
        self.has_truth = has_truth
        self._tensors: dict[str, tf.Tensor] = {}
        self._check()

    def _check(self) -> None:
        b, n = self._X.shape[0], self._X.shape[1]
        if self._X.ndim != 4 or self._X.shape[2] != n:
            raise ValueError(f"PtychoDataContainer: X must be (B, N, N, C); received shape {self._X.shape}")
        c = self._X.shape[3]
        for name, array, shape in (
            ("Y_I", self._Y_I, (b, n, n, c)),
            ("Y_phi", self._Y_phi, (b, n, n, c)),
            ("coords_nominal", self._coords_nominal, (b, 1, 2, c)),
            ("coords_true", self._coords_true, (b, 1, 2, c)),
            ("local_offsets", self.local_offsets, (b, 1, 2, c)),
            ("global_offsets", self.global_offsets, (b, 1, 2, 1)),
            ("nn_indices", self.nn_indices, (b, c)),
        ):
            if array is not None and array.shape != shape:
                raise ValueError(
                    f"PtychoDataContainer: {name} must be {shape} to match X {self._X.shape}; "
                    f"received shape {array.shape}"
                )
        if self._probe.shape != (n, n):
            raise ValueError(
                f"PtychoDataContainer: probeGuess must be (N, N) = ({n}, {n}); received {self._probe.shape}"
            )
        if not 0 < self.nphotons < np.inf:
            raise ValueError(
                f"PtychoDataContainer: nphotons must be > 0 and finite; received {self.nphotons!r}"
            )

    @staticmethod
    def from_raw_data_without_pc(
        xcoords: Any,
        ycoords: Any,
        diff3d: Any,
        probeGuess: Any,
        scan_index: Any,
        objectGuess: Any = None,
        N: int | None = None,
        K: int = 7,
        nsamples: int = 1,
    ) -> PtychoDataContainer:
        """Group a scan without position correction (start positions = positions) and load it:
        N and gridsize from the legacy dict when not given."""
        from .raw_data import RawData

        raw = RawData.from_coords_without_pc(xcoords, ycoords, diff3d, probeGuess, scan_index, objectGuess)
        n = int(_params.get("N")) if N is None else int(N)
        dset = raw.generate_grouped_data(n, K=K, nsamples=nsamples)
        return load(lambda: dset, raw.probeGuess, None, False)

    def _tensor(self, name: str, make: Callable[[], Any]) -> tf.Tensor:
        if name not in self._tensors:
            self._tensors[name] = tf.convert_to_tensor(make())
        return self._tensors[name]

    X = property(lambda self: self._tensor("X", lambda: self._X))
    Y_I = property(lambda self: self._tensor("Y_I", lambda: self._Y_I))
    Y_phi = property(lambda self: self._tensor("Y_phi", lambda: self._Y_phi))
    coords_nominal = property(lambda self: self._tensor("coords_nominal", lambda: self._coords_nominal))
    coords_true = property(lambda self: self._tensor("coords_true", lambda: self._coords_true))
    coords = coords_nominal
    probe = property(lambda self: self._tensor("probe", lambda: self._probe))

    @property
    def Y(self) -> tf.Tensor:
        return self._tensor("Y", lambda: (self._Y_I * np.exp(1j * self._Y_phi)).astype(np.complex64))

    @property
    def N(self) -> int:
        return int(self._X.shape[1])

    @property
    def intensity_scale(self) -> float:
        """``sqrt(nphotons) / (N / 2)``: the model's input is ``intensity_scale * X``."""
        return _core.intensity_scale(self.nphotons, self.N)

    def __len__(self) -> int:
        return int(self._X.shape[0])

    def __repr__(self) -> str:
        return (
            f"<PtychoDataContainer X={self._X.shape} coords={self._coords_nominal.shape} "
            f"probe={self._probe.shape} nphotons={self.nphotons:g}>"
        )

    def to_stack(self) -> _core.PtychoDataContainer:
        """The stack's container (the same arrays; ``Y`` only when the ground truth is known)."""
        return _core.PtychoDataContainer(
            X=self._X,
            coords=self._coords_nominal,
            global_offsets=(
                np.zeros((len(self), 1, 2, 1), np.float32)
                if self.global_offsets is None
                else self.global_offsets.astype(np.float32)
            ),
            probe=self._probe,
            nphotons=self.nphotons,
            Y=np.asarray(self.Y) if self.has_truth else None,
            nn_indices=self.nn_indices,
        )

    def as_tf_dataset(
        self, batch_size: int, shuffle: bool = True, seed: int | None = None
    ) -> tf.data.Dataset:
        """``((s X, coords), (centred Y_I[..., :1], s X, (s X)^2))`` in batches, ``s`` this
        container's intensity scale; shuffled by a seeded ``tf.data`` shuffle (not the global RNG)."""
        s = self.intensity_scale
        scaled = (self._X * s).astype(np.float32)
        # center_channels takes PtychoPINN's offset sign: the container's are the model's
        centred = center_channels(self._Y_I, -self._coords_nominal).numpy()[..., :1]
        data = tf.data.Dataset.from_tensor_slices(
            ((scaled, self._coords_nominal), (centred, scaled, scaled**2))
        )
        if shuffle:
            data = data.shuffle(len(self), seed=seed, reshuffle_each_iteration=True)
        return data.batch(batch_size)

    def to_npz(self, file_path: str | Path) -> None:
        arrays = {
            "X": self._X,
            "Y_I": self._Y_I,
            "Y_phi": self._Y_phi,
            "coords_nominal": self._coords_nominal,
            "coords_true": self._coords_true,
            "probe": self._probe,
            "nphotons": np.asarray(self.nphotons),
        }
        for name in ("nn_indices", "global_offsets", "local_offsets"):
            value = getattr(self, name)
            if value is not None:
                arrays[name] = value
        save_npz(file_path, **arrays)


class PtychoDataset:
    """A training and a test container."""

    def __init__(self, train_data: PtychoDataContainer, test_data: PtychoDataContainer | None) -> None:
        self.train_data = train_data
        self.test_data = test_data


def _numpy(value: Any, dtype: type) -> np.ndarray:
    array = value.numpy() if isinstance(value, tf.Tensor) else np.asarray(value)
    if array.dtype.kind == "c":
        raise ValueError(f"PtychoDataContainer: expected real values; received {array.dtype}")
    return array.astype(dtype, copy=False)


def split_data(
    X_full: np.ndarray, coords_nominal: np.ndarray, coords_true: np.ndarray, train_frac: float, which: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The first ``int(n * train_frac)`` rows (``which="train"``) or the rest (``"test"``)."""
    cut = _cut(len(X_full), train_frac)
    part = _part(which, cut)
    return X_full[part], coords_nominal[part], coords_true[part]


def _cut(n: int, train_frac: float) -> int:
    if not 0 < train_frac < 1:
        raise ValueError(f"split: train_frac must be in (0, 1); received {train_frac!r}")
    return int(n * train_frac)


def _part(which: str, cut: int) -> slice:
    if which == "train":
        return slice(None, cut)
    if which == "test":
        return slice(cut, None)
    raise ValueError(f"split: which must be 'train' or 'test'; received {which!r}")


def load(
    cb: Callable[[], Any], probeGuess: Any, which: str | None, create_split: bool
) -> PtychoDataContainer:
    """A container from the grouped dict ``cb()`` returns (``(dict, train_frac)`` with
    ``create_split``, then ``which`` is ``"train"`` or ``"test"``): ``X_full`` as ``X``, the start
    coordinates' relative offsets as the model's ``coords_nominal`` and ``coords_true``, and the
    ground truth ``Y`` as amplitude and phase (ones and zeros when the dict has none)."""
    if create_split:
        dset, train_frac = cb()
        part = _part(which or "", _cut(len(dset["X_full"]), train_frac))
    else:
        dset, part = cb(), slice(None)
    X = np.asarray(dset["X_full"], np.float32)[part]
    coords = -np.asarray(dset["coords_start_relative"], np.float32)[part]  # to position - centroid
    Y = dset.get("Y")
    if Y is None:
        Y_I, Y_phi, has_truth = np.ones_like(X), np.zeros_like(X), False
    else:
        Y = np.asarray(Y)[part]
        if Y.shape != X.shape:
            raise ValueError(f"load: Y has shape {Y.shape}; X_full has {X.shape} (they must agree)")
        Y_I, Y_phi, has_truth = np.abs(Y).astype(np.float32), np.angle(Y).astype(np.float32), True
    nn = np.asarray(dset["nn_indices"])[part]
    global_offsets = np.asarray(dset["coords_offsets"])[part]
    local = -np.asarray(dset["coords_relative"], np.float32)[part]
    return PtychoDataContainer(
        X,
        Y_I,
        Y_phi,
        diffsim.scale_nphotons(X),
        None,
        coords,
        coords,
        nn,
        global_offsets,
        local,
        probeGuess,
        has_truth=has_truth,
    )
