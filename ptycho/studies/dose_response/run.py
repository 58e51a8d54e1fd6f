"""Dose-response study: 1e9 and 1e4 photons x Poisson NLL and amplitude MAE, one model per arm.

The seed's Phase 4, end to end, in the configuration that crashed (gridsize 2, XLA translation):

- one ground truth (the "lines" object) and one scan trajectory (a raster with seeded sub-pixel
  jitter) and one grouping, shared by all arms;
- each arm simulates Poisson counts at its dose (the same noise seed for every arm, so the two
  losses at one dose see identical data), builds a fresh model (Keras session cleared, seeds set),
  records the untrained model's reconstruction, trains, reconstructs by stitching the central
  ``N/2`` box of every group's object patch, and is scored against the truth on the region every
  stitched patch set covers (``ptycho.evaluation``);
- writes ``metrics.json``, ``dose_response.png`` (6 panels), ``histories/<arm>.json``,
  ``run.log`` and ``config.json`` to ``--output-dir``;
- a sanity gate exits with status 3, naming the arm, when a reconstruction has NaN or inf, is
  constant, or is no better than the untrained model (amplitude MAE against the truth not at least
  2% below the untrained model's).

Run ``python -m ptycho.studies.dose_response --preset quick --output-dir out``.
``USE_XLA_TRANSLATE=0`` selects the ImageProjectiveTransformV3 backend instead of XLA.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger("ptycho.studies.dose_response")

DOSES = (1e9, 1e4)
LOSSES = ("nll", "mae")
GATE_FAILED = 3
IMPROVEMENT = 0.02  # "better than untrained": amplitude MAE at least 2% lower (a flat output gains ~0.1%)


@dataclass(frozen=True)
class Preset:
    """Sizes and optimisation settings of one study run."""

    name: str
    N: int
    gridsize: int
    object_size: int
    scan_step: float
    n_groups: int
    nepochs: int
    batch_size: int
    learning_rate: dict[str, float]  # per loss; the README lists the rates tried and why these
    n_lines: int = 50  # segments in the lines object; fewer when they are drawn wider
    line_width: float = 1.0  # lines_object(width=): 2 matches the quick network's ~3 px blur
    probe_curvature: float = 1.0  # get_default_probe(curvature=): a real probe leaves the twin ambiguity
    n_filters_scale: int = 2
    neighbor_count: int = 4
    jitter: float = 0.5  # uniform sub-pixel jitter of the raster (px)
    seed: int = 0
    expected: str = ""  # measured wall time on the 2-core CPU, for the README and --help

    @property
    def probe_radius(self) -> float:
        """3N/16: the probe (with its blur) inside the network's object support, the central N/2 box."""
        return 3 * self.N / 16

    @property
    def stitch_crop(self) -> int:
        """Stitch each object patch's central probe-diameter box: what its own pattern constrains."""
        return 2 * math.ceil(self.probe_radius)


PRESETS = {
    "smoke": Preset("smoke", N=16, gridsize=2, object_size=40, scan_step=2.0, n_groups=96, nepochs=4,
                    batch_size=16, learning_rate={"nll": 1e-3, "mae": 1e-3}, n_lines=10, n_filters_scale=1,
                    expected="about 45 s"),
    "quick": Preset("quick", N=32, gridsize=2, object_size=96, scan_step=3.0, n_groups=384, nepochs=40,
                    batch_size=8, learning_rate={"nll": 5e-4, "mae": 5e-4}, n_lines=30, line_width=2.0,
                    n_filters_scale=1, expected="4.1-5.0 min measured"),
    "full": Preset("full", N=64, gridsize=2, object_size=128, scan_step=4.0, n_groups=1024, nepochs=50,
                   batch_size=16, learning_rate={"nll": 5e-4, "mae": 5e-4}, n_lines=90, n_filters_scale=2,
                   neighbor_count=7, expected="2.5-4.5 h (40-77 s per epoch measured; early stopping may end arms sooner)"),
}


@dataclass(frozen=True)
class Arm:
    nphotons: float
    loss: str

    @property
    def name(self) -> str:
        return f"1e{round(math.log10(self.nphotons))}_{self.loss}"


ARMS = tuple(Arm(dose, loss) for dose in DOSES for loss in LOSSES)


@dataclass
class ArmResult:
    arm: Arm
    reconstruction: np.ndarray  # stitched, complex (H, W)
    metrics: dict[str, float]
    untrained: dict[str, float]
    history: dict[str, list[float]]
    seconds: float
    backend: str
    problems: list[str] = field(default_factory=list)


@dataclass
class Setup:
    """What every arm shares: the truth, the probe, the scan and the grouping."""

    preset: Preset
    truth: np.ndarray
    probe: np.ndarray
    positions: np.ndarray  # (P, 2) [x, y]
    groups: np.ndarray  # (n_groups, C) indices into positions
    max_offset: float
    border: int  # scored region: truth[border:-border, border:-border]


def make_setup(preset: Preset, phase: bool = False) -> Setup:
    from ptycho.objects import lines_object
    from ptycho.probe import get_default_probe
    from ptycho.raw_data import RawData
    from ptycho.simulation import grid_positions

    n, size = preset.N, preset.object_size
    truth = lines_object(size, n_lines=preset.n_lines, seed=preset.seed, phase=phase, width=preset.line_width)
    probe = get_default_probe(n, radius=preset.probe_radius, curvature=preset.probe_curvature)
    rng = np.random.default_rng(preset.seed)
    lo, hi = (n - 1) / 2, size - 1 - (n - 1) / 2
    raster = grid_positions((size, size), n, preset.scan_step)
    positions = np.clip(raster + rng.uniform(-preset.jitter, preset.jitter, raster.shape), lo, hi)
    # Grouping needs only positions; the diffraction here is a placeholder of the right shape.
    placeholder = RawData(positions[:, 0], positions[:, 1], np.zeros((len(positions), n, n), np.float32), probe)
    grouped = placeholder.generate_grouped_data(n, K=preset.neighbor_count, nsamples=preset.n_groups,
                                                gridsize=preset.gridsize, seed=preset.seed,
                                                oversample=preset.n_groups > len(positions))
    max_offset = float(np.ceil(np.max(np.abs(grouped.coords_relative))))
    border = covered_border(grouped.coords_offsets, preset.stitch_crop, (size, size))
    return Setup(preset, truth, probe, positions, grouped.nn_indices, max_offset, border)


def covered_border(global_offsets: np.ndarray, crop: int, shape: tuple[int, int]) -> int:
    """The smallest border outside which every pixel is covered by a stitched ``crop``-box."""
    from ptycho.reassembly import reassemble_position

    ones = np.ones((len(global_offsets), crop, crop, 1), np.float32)
    covered = reassemble_position(ones, global_offsets.astype(np.float32), shape).numpy() > 0.5
    for border in range(min(shape) // 2):
        if covered[border : shape[0] - border, border : shape[1] - border].all():
            return border
    raise ValueError(f"no stitched patch covers the object's centre (shape {shape}, crop {crop})")


def run_arm(setup: Setup, arm: Arm, nepochs: int) -> ArmResult:
    """Simulate, build a fresh model, train, stitch and score one arm."""
    import keras

    from ptycho.config.config import ModelConfig, TrainingConfig
    from ptycho.evaluation import evaluate
    from ptycho.loader import PtychoDataContainer
    from ptycho.model import create_compiled_model
    from ptycho.raw_data import RawData, group_by_indices
    from ptycho.simulation import simulate_diffraction
    from ptycho.train_pinn import fit, reconstruct

    preset, start = setup.preset, time.perf_counter()
    keras.backend.clear_session()
    keras.utils.set_random_seed(preset.seed)
    diffraction = simulate_diffraction(setup.truth, setup.probe, setup.positions, arm.nphotons, seed=preset.seed + 1)
    raw = RawData(setup.positions[:, 0], setup.positions[:, 1], diffraction, setup.probe)
    model_config = ModelConfig(N=preset.N, gridsize=preset.gridsize, n_filters_scale=preset.n_filters_scale,
                               max_offset=setup.max_offset)
    config = TrainingConfig(model=model_config, nphotons=arm.nphotons, loss=arm.loss,  # type: ignore[arg-type]
                            nepochs=nepochs, batch_size=preset.batch_size,
                            learning_rate=preset.learning_rate[arm.loss], n_groups=preset.n_groups,
                            neighbor_count=preset.neighbor_count, seed=preset.seed)
    data = PtychoDataContainer.from_grouped(group_by_indices(raw, setup.groups), setup.probe, arm.nphotons, model_config)
    compiled = create_compiled_model(config, probe=data.probe)
    shape = setup.truth.shape

    def stitched() -> np.ndarray:
        return reconstruct(compiled.diffraction_to_obj, data, shape, batch_size=64, crop=preset.stitch_crop)

    untrained = evaluate(stitched(), setup.truth, border=setup.border).to_dict()
    log.info("%s: %d groups, mean counts %.3g per pattern, backend %s; untrained amplitude MAE %.4f",
             arm.name, len(data), float(np.mean(np.sum(diffraction**2, axis=(1, 2)))),
             compiled.autoencoder.translate_backend, untrained["amplitude_mae"])
    history = fit(compiled, data, config)
    reconstruction = stitched()
    scored = _score(reconstruction, setup)
    result = ArmResult(arm, reconstruction, scored, untrained, history, time.perf_counter() - start,
                       compiled.autoencoder.translate_backend)
    result.problems = sanity_problems(reconstruction, setup, scored, untrained)
    log.info("%s: %.1f s, amplitude SSIM %.3f (untrained %.3f), MAE %.4f (untrained %.4f)%s", arm.name,
             result.seconds, scored.get("amplitude_ssim", float("nan")), untrained["amplitude_ssim"],
             scored.get("amplitude_mae", float("nan")), untrained["amplitude_mae"],
             "" if not result.problems else "; FAILS: " + "; ".join(result.problems))
    return result


def _score(reconstruction: np.ndarray, setup: Setup) -> dict[str, float]:
    from ptycho.evaluation import evaluate

    if not np.isfinite(reconstruction).all():
        return {}
    return evaluate(reconstruction, setup.truth, border=setup.border).to_dict()


def sanity_problems(
    reconstruction: np.ndarray, setup: Setup, metrics: dict[str, float], untrained: dict[str, float]
) -> list[str]:
    """Why a reconstruction is invalid (empty when it is valid)."""
    from ptycho.evaluation import trim

    region = trim(reconstruction, setup.border)
    bad = int(np.size(region) - np.isfinite(region).sum())
    if bad:
        return [f"{bad} of {region.size} reconstructed pixels are NaN or inf"]
    amplitude = np.abs(region)
    spread = float(np.ptp(amplitude))
    if spread <= 1e-6 * max(float(amplitude.mean()), 1e-12):
        return [f"the reconstructed amplitude is constant ({float(amplitude.mean()):.4g}, range {spread:.3g})"]
    if not metrics["amplitude_mae"] < (1 - IMPROVEMENT) * untrained["amplitude_mae"]:
        return [f"no better than the untrained model: amplitude MAE {metrics['amplitude_mae']:.4f}, "
                f"untrained {untrained['amplitude_mae']:.4f} (at least {IMPROVEMENT:.0%} lower required)"]
    return []


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
    for ax in panels[1 + len(results):]:  # a run of fewer arms (--arms) leaves panels empty
        ax.axis("off")
    ax = axes[1, 2]
    names = [r.arm.name for r in results]
    x = np.arange(len(results))
    ax.bar(x - 0.2, [r.metrics.get("amplitude_ssim", 0.0) for r in results], 0.4, label="trained")
    ax.bar(x + 0.2, [r.untrained["amplitude_ssim"] for r in results], 0.4, label="untrained")
    for i, r in enumerate(results):
        ax.annotate(f"{r.metrics.get('amplitude_psnr', float('nan')):.1f} dB", (i - 0.2, 0.02), ha="center",
                    rotation=90, color="white", fontsize=8)
    ax.set_xticks(x, names)
    ax.set_ylim(0, 1)
    ax.set_ylabel("amplitude SSIM (PSNR in the bars)")
    ax.legend(loc="upper right")
    ax.set_title("metrics")
    p = setup.preset
    fig.suptitle(f"dose response: N={p.N}, gridsize {p.gridsize}, {p.n_groups} groups, "
                 f"{results[0].backend if results else '?'} translation, preset {p.name}")
    fig.savefig(path, dpi=90)
    plt.close(fig)


def write_outputs(results: list[ArmResult], setup: Setup, out: Path, seconds: float, nepochs: int) -> None:
    histories = out / "histories"
    histories.mkdir(parents=True, exist_ok=True)
    for r in results:
        (histories / f"{r.arm.name}.json").write_text(json.dumps(r.history, indent=2))
    metrics = {
        r.arm.name: {
            "nphotons": r.arm.nphotons, "loss": r.arm.loss, **r.metrics, "untrained": r.untrained,
            "epochs_run": len(r.history.get("loss", [])), "final_loss": r.history["loss"][-1] if r.history.get("loss") else None,
            "seconds": round(r.seconds, 2), "translate_backend": r.backend, "valid": not r.problems,
            "problems": r.problems,
        }
        for r in results
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    p = setup.preset
    run = {"preset": asdict(replace(p, nepochs=nepochs)), "object_shape": list(setup.truth.shape),
           "positions": len(setup.positions), "max_offset": setup.max_offset, "scored_border": setup.border,
           "total_seconds": round(seconds, 1)}
    (out / "config.json").write_text(json.dumps(run, indent=2))
    save_figure(results, setup, out / "dose_response.png")


def run_study(preset: Preset, out: Path, arms: tuple[Arm, ...] = ARMS, nepochs: int | None = None,
              phase: bool = False) -> list[ArmResult]:
    start = time.perf_counter()
    nepochs = preset.nepochs if nepochs is None else nepochs
    setup = make_setup(preset, phase=phase)
    log.info("preset %s: object %dx%d, %d positions, %d groups of %d, max_offset %g, scored border %d px",
             preset.name, preset.object_size, preset.object_size, len(setup.positions), preset.n_groups,
             preset.gridsize**2, setup.max_offset, setup.border)
    results = [run_arm(setup, arm, nepochs) for arm in arms]
    write_outputs(results, setup, out, time.perf_counter() - start, nepochs)
    return results


def _parse_arms(text: str | None) -> tuple[Arm, ...]:
    if not text:
        return ARMS
    by_name = {a.name: a for a in ARMS}
    chosen = []
    for name in text.split(","):
        if name not in by_name:
            raise argparse.ArgumentTypeError(f"unknown arm {name!r}; the arms are {', '.join(by_name)}")
        chosen.append(by_name[name])
    return tuple(chosen)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ptycho.studies.dose_response",
        description="Dose-response study (1e9/1e4 photons x NLL/MAE), gridsize 2 with XLA translation by "
                    "default (USE_XLA_TRANSLATE=0 selects V3). Exit 0: all arms valid; 3: an arm failed "
                    "the sanity gate; 2: usage.",
        epilog="presets: " + "; ".join(f"{p.name} (N={p.N}, {p.n_groups} groups, {p.nepochs} epochs, {p.expected})"
                                      for p in PRESETS.values()),
    )
    parser.add_argument("--preset", choices=sorted(PRESETS), default="quick")
    parser.add_argument("--output-dir", type=Path, default=Path("dose_response_out"))
    parser.add_argument("--nepochs", type=int, default=None, help="override the preset's epochs (0: untrained)")
    parser.add_argument("--arms", type=_parse_arms, default=ARMS, help="comma-separated subset, e.g. 1e9_mae,1e4_mae")
    parser.add_argument("--phase", action="store_true", help="give the lines object a phase (default amplitude-only)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.nepochs is not None and args.nepochs < 0:
        build_parser().error(f"--nepochs must be >= 0; received: {args.nepochs}")
    out: Path = args.output_dir
    out.mkdir(parents=True, exist_ok=True)
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr), logging.FileHandler(out / "run.log", mode="w")]
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", handlers=handlers, force=True)
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    # Every arm builds a fresh model, so Keras makes a fresh predict function per arm; TensorFlow
    # counts their traces together (same code object) and warns of "retracing" that is not.
    logging.getLogger("tensorflow").addFilter(lambda record: "triggered tf.function retracing" not in record.getMessage())
    results = run_study(PRESETS[args.preset], out, args.arms, args.nepochs, args.phase)
    failed = [r for r in results if r.problems]
    for r in failed:
        log.error("sanity gate: arm %s is invalid: %s", r.arm.name, "; ".join(r.problems))
    log.info("wrote %s (metrics.json, dose_response.png, histories/, run.log, config.json)", out)
    return GATE_FAILED if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
