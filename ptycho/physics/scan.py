"""A simulated scan from one config: object, probe, positions, Poisson counts, as ``RawData``.

``simulate_scan(SimulationConfig(...))`` is what ``ptycho-simulate`` runs; its flags are generated
from ``SimulationConfig``'s fields. Conventions (shared/CONVENTIONS.md): positions are patch
centres ``[x, y]`` in object pixels; ``diff3d`` holds amplitudes ``sqrt(counts)``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..config.config import is_int
from ..data.raw import RawData
from .objects import image_object, lines_object
from .probe import get_default_probe, validate_probe
from .simulation import jittered_raster, random_positions, simulate_diffraction


def _help(text: str) -> dict[str, str]:
    return {"help": text}


@dataclass(frozen=True)
class SimulationConfig:
    """What ``ptycho-simulate`` makes: every field is a flag."""

    N: int = field(default=64, metadata=_help("diffraction pattern (and probe) side in pixels"))
    object: str = field(
        default="lines",
        metadata=_help("'lines' (random blurred segments) or an image file (PNG, TIFF, ...; grey levels)"),
    )
    object_size: int = field(default=128, metadata=_help("side of the lines object in pixels"))
    n_lines: int = field(default=90, metadata=_help("segments in the lines object"))
    line_width: float = field(default=1.0, metadata=_help("width factor of the lines (2: twice as wide)"))
    phase: bool = field(default=False, metadata=_help("give the object a phase (its grey level, in radians)"))
    probe: str = field(
        default="default",
        metadata=_help("'default' (a disk with a curved phase) or an NPZ/NPY file holding an N x N probe"),
    )
    probe_radius: float = field(default=0.0, metadata=_help("default probe's radius in px (0: 3N/16)"))
    probe_curvature: float = field(
        default=1.0, metadata=_help("default probe's defocus-like phase (0: real)")
    )
    scan: Literal["raster", "random"] = field(default="raster", metadata=_help("scan pattern"))
    scan_step: float = field(default=0.0, metadata=_help("raster step in px (0: N/16)"))
    jitter: float = field(default=0.5, metadata=_help("uniform random displacement of raster points, px"))
    n_positions: int = field(default=1000, metadata=_help("positions of a random scan"))
    nphotons: float = field(default=1e9, metadata=_help("mean photon count per diffraction pattern"))
    seed: int = field(default=0, metadata=_help("seed of the object, the scan and the Poisson noise"))

    def __post_init__(self) -> None:
        for name, ok, expected in (
            ("N", is_int(self.N) and self.N >= 8, "an int >= 8"),
            ("object_size", is_int(self.object_size) and self.object_size >= 8, "an int >= 8"),
            ("n_lines", is_int(self.n_lines) and self.n_lines >= 1, "an int >= 1"),
            ("line_width", 0 < self.line_width < math.inf, "> 0 and finite"),
            ("probe_radius", 0 <= self.probe_radius <= self.N / 2, f"in [0, N/2 = {self.N / 2:g}]"),
            ("probe_curvature", math.isfinite(self.probe_curvature), "finite"),
            ("scan", self.scan in ("raster", "random"), "'raster' or 'random'"),
            ("scan_step", 0 <= self.scan_step < math.inf, ">= 0 and finite"),
            ("jitter", 0 <= self.jitter < math.inf, ">= 0 and finite"),
            ("n_positions", is_int(self.n_positions) and self.n_positions >= 1, "an int >= 1"),
            ("nphotons", 0 < self.nphotons < math.inf, "> 0 and finite"),
            ("seed", is_int(self.seed) and self.seed >= 0, "an int >= 0"),
        ):
            if not ok:
                raise ValueError(
                    f"SimulationConfig: {name} must be {expected}; received: {name}={getattr(self, name)!r}"
                )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def make_object(config: SimulationConfig) -> np.ndarray:
    """The complex object: the lines object, or an image file's grey levels (amplitude in [0.5, 1.5])."""
    if config.object == "lines":
        return lines_object(
            config.object_size,
            n_lines=config.n_lines,
            seed=config.seed,
            phase=config.phase,
            width=config.line_width,
        )
    path = Path(config.object)
    if not path.is_file():
        raise ValueError(f"--object {config.object!r}: no such file; expected 'lines' or an image file")
    from skimage import io
    from skimage.color import rgb2gray, rgba2rgb

    try:
        image = np.asarray(io.imread(path), dtype=np.float64)
    except Exception as exc:  # imageio/PIL raise many types for an unreadable image
        raise ValueError(
            f"--object {config.object!r}: not a readable image ({type(exc).__name__}: {exc})"
        ) from None
    if image.ndim == 3 and image.shape[-1] == 4:
        image = rgba2rgb(image)
    if image.ndim == 3 and image.shape[-1] == 3:
        image = rgb2gray(image)
    if image.ndim != 2:
        raise ValueError(
            f"--object {config.object!r}: image of shape {image.shape}; expected a 2-D grey or RGB image"
        )
    if min(image.shape) < config.N:
        raise ValueError(
            f"--object {config.object!r}: image {image.shape[1]} x {image.shape[0]} px is smaller than the "
            f"probe's footprint N x N = {config.N} x {config.N}"
        )
    value = (image - image.min()) / (np.ptp(image) or 1.0)
    return image_object(image, phase=(value - value.mean()) if config.phase else None)


def make_probe(config: SimulationConfig) -> np.ndarray:
    n = config.N
    if config.probe == "default":
        return get_default_probe(
            n, radius=config.probe_radius or 3 * n / 16, curvature=config.probe_curvature
        )
    from ..files import read_npz

    path = Path(config.probe)
    if path.suffix == ".npy" and path.is_file():
        probe = np.load(path, allow_pickle=False)
    else:
        probe = read_npz(path, required=("probeGuess",))["probeGuess"]
    try:
        return validate_probe(probe, n)
    except ValueError as exc:
        raise ValueError(f"--probe {config.probe!r}: {exc}") from None


def make_positions(config: SimulationConfig, object_shape: tuple[int, int]) -> np.ndarray:
    n = config.N
    if config.scan == "random":
        return random_positions(object_shape, n, config.n_positions, seed=config.seed)
    return jittered_raster(object_shape, n, config.scan_step or n / 16, config.jitter, seed=config.seed)


def simulate_scan(config: SimulationConfig) -> RawData:
    """Object, probe, scan and Poisson-noisy amplitudes; the object is kept as ``objectGuess``."""
    obj = make_object(config)
    if min(obj.shape) < config.N:
        raise ValueError(
            f"the object ({obj.shape[1]} x {obj.shape[0]} px) is smaller than the probe's footprint "
            f"N x N = {config.N} x {config.N}; raise --object_size or lower --N"
        )
    probe = make_probe(config)
    positions = make_positions(config, obj.shape)
    diffraction = simulate_diffraction(obj, probe, positions, config.nphotons, seed=config.seed + 1)
    return RawData(
        positions[:, 0], positions[:, 1], diffraction, probe, objectGuess=obj, nphotons=config.nphotons
    )
