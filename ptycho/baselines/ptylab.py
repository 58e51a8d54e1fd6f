"""ePIE / mPIE from PtyLab (``pip install .[baseline]``) on our data, in our conventions.

PtyLab works in physical units; the ones chosen here make its object pixel one pixel of our frame
(``dxo = wavelength * zo / (N * dxd)``), and only that product matters for far-field propagation.
Its positions are ``[row, col]`` of each patch centre relative to the object's centre, in metres:
ours are ``[x, y]`` in object pixels, so it gets ``[y - cy, x - cx] * dxo`` (``[x, y]`` as given
reconstructs a transposed object: SSIM 0.22 where the right mapping gives 0.97). Its data are
intensities with the zero frequency at ``N // 2``, our ``diff3d ** 2``, and its Fraunhofer
propagator is unitary (``|FFT|^2 / (N*N)``), as our simulation's. PtyLab rounds positions to whole
pixels. Its mPIE default ``alphaProbe = 0.1`` diverges on this data; 0.9 is used.
"""

from __future__ import annotations

import contextlib
import io
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ..data.raw import RawData
from ..physics.probe import footprint

ENGINES = ("ePIE", "mPIE")
_WAVELENGTH, _DXD, _DXO = 500e-9, 50e-6, 1e-6  # 1 um object pixels: zo = dxo * N * dxd / wavelength


@contextlib.contextmanager
def _silenced() -> Iterator[None]:
    """PtyLab's prints and progress bars into a buffer, its INFO records dropped, for one run."""
    previous = logging.root.manager.disable
    logging.disable(logging.INFO)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        logging.disable(previous)


@dataclass(frozen=True)
class IterativeResult:
    object: np.ndarray  # complex (H, W) in the data's object frame
    probe: np.ndarray  # complex (N, N)
    seconds: float
    iterations: int
    engine: str
    errors: np.ndarray  # PtyLab's error per iteration


def reconstruct(
    raw: RawData,
    object_shape: tuple[int, int],
    engine: str = "ePIE",
    iterations: int = 100,
    probe_guess: np.ndarray | None = None,
    seed: int = 0,
    quiet: bool = True,
) -> IterativeResult:
    """Reconstruct ``raw`` (amplitudes ``sqrt(counts)``) with PtyLab's ``engine`` on the CPU.

    ``object_shape``: the object frame of ``raw``'s positions (even sides). ``probe_guess``:
    the initial probe (default the data's ``probeGuess``), scaled to the data's counts. ``quiet``:
    PtyLab's own printing and INFO logging are kept out of the caller's output (warnings pass).
    """
    if engine not in ENGINES:
        raise ValueError(
            f"ptylab.reconstruct: engine must be one of {', '.join(ENGINES)}; received: {engine!r}"
        )
    if not (isinstance(iterations, int) and iterations >= 1):
        raise ValueError(f"ptylab.reconstruct: iterations must be an int >= 1; received: {iterations!r}")
    height, width = object_shape
    if height % 2 or width % 2:
        raise ValueError(f"ptylab.reconstruct: object_shape sides must be even; received: {object_shape}")
    try:
        from PtyLab import Engines, ExperimentalData, Params, Reconstruction
        from PtyLab.Monitor.Monitor import DummyMonitor
    except ImportError as exc:
        raise ImportError(
            f"PtyLab is not installed ({exc}); install the baseline extra: pip install '.[baseline]'"
        ) from None

    n = raw.N
    intensities = np.ascontiguousarray(raw.diff3d.astype(np.float64) ** 2, dtype=np.float32)
    experiment = ExperimentalData(operationMode="CPM")
    experiment.ptychogram = intensities
    experiment.wavelength, experiment.dxd = _WAVELENGTH, _DXD
    experiment.zo = _DXO * n * _DXD / _WAVELENGTH
    centre_x, centre_y = (width - 1) / 2, (height - 1) / 2
    experiment.encoder = np.stack([raw.ycoords - centre_y, raw.xcoords - centre_x], axis=1) * _DXO
    probe = raw.probeGuess if probe_guess is None else np.asarray(probe_guess)
    experiment.entrancePupilDiameter = footprint(probe) * _DXO
    experiment.spectralDensity = experiment.theta = experiment.emptyBeam = None
    experiment._setData()  # no public constructor from arrays: this derives sizes and powers

    params = Params()
    params.gpuSwitch = False
    params.propagatorType = "Fraunhofer"
    params.fftshiftSwitch = False
    params.positionOrder = "random"
    params.probePowerCorrectionSwitch = False
    params.comStabilizationSwitch = False

    state = np.random.get_state()  # PtyLab draws its position order from the global generator
    np.random.seed(seed)
    # PtyLab prints a banner and a progress bar per run and logs at INFO through the root logger.
    silence = _silenced() if quiet else contextlib.nullcontext()
    try:
        with silence:
            result = Reconstruction(experiment, params)
            result.initialObject, result.initialProbe = "ones", "circ"
            result.initializeObjectProbe()
            # The probe in counts units: its power equals the mean counts per pattern (|O| ~ 1).
            power = float(np.mean(np.sum(intensities, axis=(1, 2))))
            scaled = probe * np.sqrt(power / float(np.sum(np.abs(probe) ** 2)))
            result.probe = scaled.astype(np.complex64).reshape(1, 1, 1, 1, n, n)  # before the engine reads it
            solver = getattr(Engines, engine)(result, experiment, params, DummyMonitor())
            solver.numIterations = iterations
            if engine == "mPIE":
                solver.alphaProbe = 0.9
            start = time.perf_counter()
            solver.reconstruct()
            seconds = time.perf_counter() - start
    finally:
        np.random.set_state(state)
    whole = np.asarray(result.object)[0, 0, 0, 0]
    row, col = whole.shape[0] // 2 - height // 2, whole.shape[1] // 2 - width // 2
    return IterativeResult(
        whole[row : row + height, col : col + width].astype(np.complex64),
        np.asarray(result.probe)[0, 0, 0, 0].astype(np.complex64),
        seconds,
        iterations,
        engine,
        np.asarray(result.error, dtype=np.float64),
    )
