"""The study's figure: the truth, each arm's reconstructed amplitude and a metrics panel."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .run import ArmResult, Setup


def save_figure(results: list[ArmResult], setup: Setup, path: Path) -> None:
    """Ground truth, the four reconstructed amplitudes (scored region) and the metrics panel."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ptycho.evaluation import rescale_amplitude, trim

    truth = np.abs(trim(setup.truth, setup.border))
    limits = {"vmin": float(truth.min()), "vmax": float(truth.max()), "cmap": "gray"}
    fig, axes = plt.subplots(2, 3, figsize=(12, 8), constrained_layout=True)
    panels = [axes[0, 0], axes[0, 1], axes[0, 2], axes[1, 0], axes[1, 1]]
    panels[0].imshow(truth, **limits)
    panels[0].set_title("ground truth amplitude")
    for ax, result in zip(panels[1:], results):
        amplitude = np.abs(trim(result.reconstruction, setup.border))
        if np.isfinite(amplitude).all():
            ax.imshow(rescale_amplitude(amplitude, truth), **limits)
        ssim = result.metrics.get("amplitude_ssim", float("nan"))
        ax.set_title(f"{result.arm.name}: SSIM {ssim:.3f}")
    for ax in panels:
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in panels[1 + len(results) :]:  # a run of fewer arms (--arms) leaves panels empty
        ax.axis("off")
    ax = axes[1, 2]
    names = [r.arm.name for r in results]
    x = np.arange(len(results))
    ax.bar(x - 0.2, [r.metrics.get("amplitude_ssim", 0.0) for r in results], 0.4, label="trained")
    ax.bar(x + 0.2, [r.untrained["amplitude_ssim"] for r in results], 0.4, label="untrained")
    for i, r in enumerate(results):
        ax.annotate(
            f"{r.metrics.get('amplitude_psnr', float('nan')):.1f} dB",
            (i - 0.2, 0.02),
            ha="center",
            rotation=90,
            color="white",
            fontsize=8,
        )
    ax.set_xticks(x, names)
    ax.set_ylim(0, 1)
    ax.set_ylabel("amplitude SSIM (PSNR in the bars)")
    ax.legend(loc="upper right")
    ax.set_title("metrics")
    p = setup.preset
    fig.suptitle(
        f"dose response: N={p.N}, gridsize {p.gridsize}, {p.n_groups} groups, "
        f"{results[0].backend if results else '?'} translation, preset {p.name}"
    )
    fig.savefig(path, dpi=90)
    plt.close(fig)
