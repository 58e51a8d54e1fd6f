"""Image-quality metrics for a reconstruction against its ground truth (PHYSICS.md conventions).

A border is trimmed before scoring; the amplitude is rescaled by the ratio of means (the PINN's
amplitude scale is not identifiable); the phase has its global offset (and its mean, or a fitted plane)
removed, so a reconstruction at a phase near pi does not wrap; PSNR and
SSIM use the ground truth's data range, never a fixed peak of 255; FRC resolution is reported at
the 1/7 and 0.5 thresholds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from skimage.metrics import structural_similarity


def _check_pair(reconstruction: np.ndarray, truth: np.ndarray) -> None:
    if reconstruction.shape != truth.shape or reconstruction.ndim != 2:
        raise ValueError(
            f"reconstruction {reconstruction.shape} and ground truth {truth.shape} must be the same 2-D shape"
        )
    if not np.all(np.isfinite(reconstruction)):
        raise ValueError("the reconstruction has NaN or inf values")


def trim(image: np.ndarray, border: int) -> np.ndarray:
    if border < 0 or 2 * border >= min(image.shape):
        raise ValueError(f"trim: border {border} does not fit an image of shape {image.shape}")
    return image[border : image.shape[0] - border, border : image.shape[1] - border] if border else image


def rescale_amplitude(amplitude: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """``amplitude * mean(truth) / mean(amplitude)``."""
    mean = float(np.mean(amplitude))
    return amplitude * (float(np.mean(truth)) / mean) if mean else amplitude


def remove_plane(phase: np.ndarray) -> np.ndarray:
    """The phase minus its least-squares plane ``a + b x + c y``."""
    y, x = np.mgrid[: phase.shape[0], : phase.shape[1]]
    design = np.stack([np.ones(phase.size), x.ravel(), y.ravel()], axis=1)
    coef, *_ = np.linalg.lstsq(design, phase.ravel(), rcond=None)
    return phase - (design @ coef).reshape(phase.shape)


def psnr(image: np.ndarray, truth: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB with the ground truth's data range as the peak."""
    mse = float(np.mean((image - truth) ** 2))
    data_range = float(np.ptp(truth))
    if mse == 0:
        return float("inf")
    return 10 * np.log10(data_range**2 / mse)


def frc_curve(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fourier ring correlation of two square images, Hann-apodised: (frequency in cycles/pixel, FRC)."""
    if a.shape != b.shape or a.shape[0] != a.shape[1]:
        raise ValueError(f"frc_curve: images must be the same square shape; received {a.shape} and {b.shape}")
    n = a.shape[0]
    # Mean removed and a Hann window applied: the FFT treats the images as periodic, and the jump at
    # their edges (the same in both) would otherwise correlate at every frequency.
    window = np.outer(np.hanning(n), np.hanning(n))
    fa, fb = (np.fft.fftshift(np.fft.fft2((im - im.mean()) * window)) for im in (a, b))
    y, x = np.indices(a.shape) - n // 2
    rings = np.round(np.hypot(x, y)).astype(int)
    count = n // 2
    num = np.bincount(rings.ravel(), (fa * np.conj(fb)).real.ravel(), minlength=count)[:count]
    pa = np.bincount(rings.ravel(), (np.abs(fa) ** 2).ravel(), minlength=count)[:count]
    pb = np.bincount(rings.ravel(), (np.abs(fb) ** 2).ravel(), minlength=count)[:count]
    with np.errstate(invalid="ignore", divide="ignore"):
        frc = np.where(pa * pb > 0, num / np.sqrt(pa * pb), 0.0)
    return np.arange(count) / n, frc


def frc_resolution(a: np.ndarray, b: np.ndarray, threshold: float = 1 / 7) -> float:
    """The spatial frequency (cycles/pixel) where the FRC first falls below ``threshold``; 0.5 if never.

    The crossing is interpolated linearly between the last ring above the threshold and the first
    below it, so the result moves continuously with the images instead of in steps of one ring
    (``1/n`` cycles/pixel). Nyquist is 0.5 cycles/pixel; the half-period resolution in pixels is
    ``1 / (2 f)`` (see ``resolution_in_pixels``).
    """
    return frc_crossing(*frc_curve(a, b), threshold)


def frc_crossing(freq: np.ndarray, frc: np.ndarray, threshold: float) -> float:
    """Where an FRC curve (``frc_curve``'s pair) first falls below ``threshold``, interpolated
    between rings; 0.5 if never."""
    below = np.nonzero(frc[1:] < threshold)[0]
    if not below.size:
        return 0.5
    k = 1 + int(below[0])
    above, under = float(frc[k - 1]), float(frc[k])
    if above < threshold:  # below from the first ring on (ring 0, the mean, is removed): no crossing
        return float(freq[k])
    step = float(freq[k] - freq[k - 1])
    return float(freq[k - 1]) + step * (above - threshold) / (above - under)


def nyquist_fraction(frequency: float) -> float:
    """A spatial frequency in cycles/pixel as a fraction of Nyquist (0.5 cycles/pixel)."""
    return frequency / 0.5


def resolution_in_pixels(frequency: float) -> float:
    """The half-period resolution (pixels) of a cut-off frequency in cycles/pixel: 1 px at Nyquist."""
    return 1 / (2 * frequency) if frequency > 0 else float("inf")


@dataclass(frozen=True)
class Metrics:
    amplitude_mae: float
    phase_mae: float
    amplitude_psnr: float
    amplitude_ssim: float
    phase_ssim: float
    frc_resolution: float  # cycles/pixel at FRC = 1/7 (higher is better)
    frc_resolution_half: float  # cycles/pixel at FRC = 0.5 (the stricter threshold)

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def evaluate(reconstruction: np.ndarray, truth: np.ndarray, border: int = 0, plane: bool = False) -> Metrics:
    """Score a complex reconstruction against a complex ground truth of the same shape."""
    _check_pair(np.asarray(reconstruction), np.asarray(truth))
    rec, ref = trim(np.asarray(reconstruction), border), trim(np.asarray(truth), border)
    amp_ref = np.abs(ref).astype(np.float64)
    amp = rescale_amplitude(np.abs(rec).astype(np.float64), amp_ref)
    # A global phase is not measured by any diffraction pattern. Taking it out (the offset that best
    # aligns the two, then the truth's mean phase) before the angles keeps an object reconstructed
    # at a phase near pi from wrapping to +-pi noise; the mean removal below then changes nothing.
    rec = rec * np.exp(-1j * np.angle(np.vdot(ref, rec)))
    turn = np.exp(-1j * np.angle(np.sum(ref)))
    phase, phase_ref = np.angle(rec * turn), np.angle(ref * turn)
    if plane:
        phase, phase_ref = remove_plane(phase), remove_plane(phase_ref)
    else:
        phase, phase_ref = phase - phase.mean(), phase_ref - phase_ref.mean()
    amp_range = float(np.ptp(amp_ref)) or 1.0
    phase_range = float(np.ptp(phase_ref)) or 1.0
    square = min(amp.shape)
    curve = frc_curve(amp[:square, :square], amp_ref[:square, :square])
    return Metrics(
        amplitude_mae=float(np.mean(np.abs(amp - amp_ref))),
        phase_mae=float(np.mean(np.abs(phase - phase_ref))),
        amplitude_psnr=psnr(amp, amp_ref),
        amplitude_ssim=float(structural_similarity(amp, amp_ref, data_range=amp_range)),
        phase_ssim=float(structural_similarity(phase, phase_ref, data_range=phase_range)),
        frc_resolution=frc_crossing(*curve, 1 / 7),
        frc_resolution_half=frc_crossing(*curve, 0.5),
    )
