"""PtychoPINN's ``ptycho.probe``: its default probe (a thresholded Gaussian disk) and the probe slot
of the legacy dict.

The stack takes the probe as an argument everywhere; ``set_probe`` and ``set_default_probe`` only
write ``params.cfg['probe']`` for code that reads it back, as PtychoPINN's did.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf
from scipy import ndimage
from scipy.signal import windows

from .. import params as _params


def get_default_probe(N: int, fmt: str = "tf") -> Any:
    """A disk where the outer product of two Gaussian windows (std ``N / (scale pi^2)``, scale
    ``params.cfg['default_probe_scale']``, 0.7 by default) exceeds 0.5, blurred by a Gaussian of
    1 px, plus 1e-9: ``fmt="np"`` float64 ``(N, N)``, ``fmt="tf"`` complex64 tensor ``(N, N, 1)``."""
    if fmt not in ("np", "tf"):
        raise ValueError(f"get_default_probe: fmt must be 'np' or 'tf'; received: fmt={fmt!r}")
    if not (isinstance(N, (int, np.integer)) and N >= 2):
        raise ValueError(f"get_default_probe: N must be an int >= 2; received: N={N!r}")
    scale = float(_params.get("default_probe_scale"))
    window = windows.gaussian(N, std=N / (scale * np.pi**2), sym=True)
    window = window / window.max()
    disk = (np.outer(window, window) > 0.5).astype(np.float64)
    probe = ndimage.gaussian_filter(disk, sigma=1.0) + 1e-9
    if fmt == "np":
        return probe
    return tf.constant(probe[..., None].astype(np.complex64))


def get_probe_mask(N: int) -> tf.Tensor:
    """1 inside a disk of radius ``N // 4`` around the centre, as complex64 ``(N, N, 1)``."""
    centre = (N - 1) / 2
    y, x = np.mgrid[:N, :N]
    mask = ((x - centre) ** 2 + (y - centre) ** 2 <= (N // 4) ** 2).astype(np.complex64)
    return tf.constant(mask[..., None])


def set_probe(probe: Any) -> None:
    """Store ``probe`` ``(N, N, 1)`` in ``params.cfg['probe']``, divided by ``probe_scale`` times
    its mean amplitude inside the ``N // 4`` disk (PtychoPINN's normalisation)."""
    probe = tf.convert_to_tensor(probe)
    if probe.shape.rank == 2:
        probe = probe[..., None]
    if probe.shape.rank != 3 or probe.shape[-1] != 1 or probe.shape[0] != probe.shape[1]:
        raise ValueError(f"set_probe: probe must be (N, N) or (N, N, 1); received shape {probe.shape}")
    n = int(probe.shape[0])
    mask = tf.math.real(get_probe_mask(n))
    mean = float(tf.reduce_mean(tf.abs(tf.cast(probe, tf.complex64)) * mask))
    if not mean > 0:
        raise ValueError("set_probe: the probe is zero inside its central disk; nothing to normalise by")
    scaled = tf.cast(probe, tf.complex64) / complex(float(_params.get("probe_scale")) * mean)
    _params.set("probe", scaled)


def set_default_probe() -> None:
    set_probe(get_default_probe(int(_params.get("N")), fmt="tf"))


def set_probe_guess(X_train: Any = None, probe_guess: Any = None) -> tf.Tensor:
    """Store ``probe_guess`` (2-D or 3-D) as the legacy dict's probe and return it ``(N, N, 1)``.
    Estimating a probe from the data (PtychoPINN's fallback without a guess) is not implemented."""
    if probe_guess is None:
        raise ValueError(
            "set_probe_guess: pass probe_guess; estimating a probe from X_train is not implemented "
            "(docs/migrating.md)"
        )
    probe = tf.convert_to_tensor(np.asarray(probe_guess).astype(np.complex64))
    if probe.shape.rank == 2:
        probe = probe[..., None]
    set_probe(probe)
    return probe
