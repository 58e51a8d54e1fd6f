"""The study's figure: resolution and SSIM against dose for both losses and the baseline (mean and
spread over seeds), the truth, and each method's reconstructed amplitude at every dose (seed 0)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ...files import save_figure as save_atomically
from .presets import dose_name

if TYPE_CHECKING:
    from .run import ArmResult, BaselineResult, Setup

_COLOURS = {"nll": "tab:blue", "mae": "tab:orange"}


def _curve(ax, rows: dict, key: str, label: str, colour: str, style: str = "-") -> None:
    points = [(row["nphotons"], row[key]["mean"], row[key]["std"]) for row in rows.values() if key in row]
    if not points:
        return
    dose, mean, std = (np.array(v) for v in zip(*sorted(points)))
    ax.errorbar(dose, mean, yerr=std, label=label, color=colour, linestyle=style, marker="o", capsize=3)


def save_figure(
    results: list[ArmResult], baselines: list[BaselineResult], setup: Setup, summary: dict, path: Path
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ptycho.evaluation import rescale_amplitude, trim

    truth = np.abs(trim(setup.truth, setup.border))
    limits = {"vmin": float(truth.min()), "vmax": float(truth.max()), "cmap": "gray"}
    images: dict[str, dict[float, tuple[np.ndarray, float]]] = {}
    for r in results:
        if r.seed == 0:
            images.setdefault(r.arm.loss, {})[r.arm.nphotons] = (
                r.reconstruction,
                r.metrics.get("amplitude_ssim", float("nan")),
            )
    for b in baselines:
        if b.seed == 0:
            images.setdefault(b.engine, {})[b.nphotons] = (
                b.reconstruction,
                b.metrics.get("amplitude_ssim", float("nan")),
            )
    doses = sorted({d for per in images.values() for d in per})
    methods = list(images)
    columns = max(3, len(doses))
    fig = plt.figure(figsize=(2.6 * columns, 3.2 * (1 + len(methods))), constrained_layout=True)
    top, bottom = fig.subfigures(2, 1, height_ratios=[1.25, len(methods)])  # type: ignore[misc]
    ax_truth, ax_res, ax_ssim = top.subplots(1, 3, width_ratios=[1, 1.6, 1.6])
    ax_truth.imshow(truth, **limits)
    ax_truth.set_title("truth (amplitude)")
    ax_truth.set_xticks([])
    ax_truth.set_yticks([])
    by_method = summary["by_method"]
    for method, rows in by_method.items():
        colour = _COLOURS.get(method, "tab:green")
        name = method.upper() if method in _COLOURS else method
        _curve(ax_res, rows, "nyquist_fraction_1_7", f"{name}, FRC 1/7", colour)
        _curve(ax_res, rows, "nyquist_fraction_0_5", f"{name}, FRC 0.5", colour, "--")
        _curve(ax_ssim, rows, "amplitude_ssim", name, colour)
    for ax, label in ((ax_res, "resolution (fraction of Nyquist)"), (ax_ssim, "amplitude SSIM")):
        ax.set_xscale("log")
        ax.set_xlabel("photons per pattern")
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    claim = summary.get("claim", {})
    ax_res.set_title(f"claim (10x dose for MAE): {claim.get('verdict', 'not tested')}", fontsize=9)
    ax_ssim.set_title(f"mean and spread over {setup.preset.seeds} seed(s)", fontsize=9)
    axes = bottom.subplots(len(methods), columns, squeeze=False)
    for row, method in zip(axes, methods):
        for ax in row:
            ax.set_xticks([])
            ax.set_yticks([])
            ax.axis("off")
        for ax, dose in zip(row, doses):
            if dose not in images[method]:
                continue
            reconstruction, ssim = images[method][dose]
            amplitude = np.abs(trim(reconstruction, setup.border))
            if np.isfinite(amplitude).all():
                ax.imshow(rescale_amplitude(amplitude, truth), **limits)
            ax.set_title(f"{dose_name(dose)} {method}: SSIM {ssim:.3f}", fontsize=9)
    p = setup.preset
    backend = results[0].backend if results else "?"
    fig.suptitle(
        f"dose response: N={p.N}, gridsize {p.gridsize}, {p.n_groups} groups, {backend} translation, "
        f"preset {p.name}"
    )
    save_atomically(path, fig, dpi=80)
