"""The workflow's figures: the loss curve, a reconstruction (amplitude and phase), an FRC curve."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..files import save_figure


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def loss_figure(path: Path, history: dict[str, list[float]], title: str) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.5), constrained_layout=True)
    for key, values in history.items():
        if "loss" in key:
            ax.plot(np.arange(1, len(values) + 1), values, marker="o", label=key)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(title)
    if history:
        ax.legend()
    save_figure(path, fig, dpi=100)


def reconstruction_figure(
    path: Path, obj: np.ndarray, truth: np.ndarray | None, title: str, border: int = 0
) -> None:
    """Amplitude and phase of ``obj`` (and of ``truth`` below when given), inside ``border``."""
    from ..evaluation import trim

    plt = _pyplot()
    rows = [("reconstruction", trim(obj, border))]
    rows += [("ground truth", trim(truth, border))] if truth is not None else []
    fig, axes = plt.subplots(len(rows), 2, figsize=(8, 4 * len(rows)), constrained_layout=True, squeeze=False)
    for (label, image), (ax_amp, ax_phase) in zip(rows, axes):
        shown = ax_amp.imshow(np.abs(image), cmap="gray")
        fig.colorbar(shown, ax=ax_amp, shrink=0.8)
        ax_amp.set_title(f"{label}: amplitude")
        shown = ax_phase.imshow(np.angle(image), cmap="twilight")
        fig.colorbar(shown, ax=ax_phase, shrink=0.8)
        ax_phase.set_title(f"{label}: phase (rad)")
        for ax in (ax_amp, ax_phase):
            ax.set_xticks([])
            ax.set_yticks([])
    fig.suptitle(f"{title}\n(the covered region: {border} px border trimmed)" if border else title)
    save_figure(path, fig, dpi=100)


def frc_figure(path: Path, freq: np.ndarray, frc: np.ndarray, resolution: float, title: str) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.5), constrained_layout=True)
    ax.plot(freq, frc, label="FRC")
    ax.axhline(1 / 7, color="gray", linestyle="--", label="1/7")
    ax.axvline(resolution, color="red", linestyle=":", label=f"resolution {resolution:.3f} cycles/px")
    ax.set_xlabel("spatial frequency (cycles/pixel)")
    ax.set_ylabel("FRC")
    ax.set_ylim(-0.2, 1.05)
    ax.set_title(title)
    ax.legend()
    save_figure(path, fig, dpi=100)
