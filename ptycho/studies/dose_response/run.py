"""One study run: the shared setup, each arm and seed (simulate, build, train, stitch, score), the
iterative baseline on the same data, the sanity gate and the files written to the output directory."""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from ...files import save_json, save_npz
from .claim import claim_verdict, ratios_by_reference, summarize
from .figure import save_figure
from .presets import Arm, Preset, arms_of, dose_name

if TYPE_CHECKING:
    from collections.abc import Callable

    from ...data.raw import RawData
    from .checkpoint import Checkpoint

log = logging.getLogger(__package__)  # one logger for the study: run.log names it once

IMPROVEMENT = 0.02  # "better than untrained": amplitude MAE at least 2% lower (a flat output gains ~0.1%)


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
    seed: int = 0
    train_seconds: float = 0.0
    inference_seconds: float = 0.0  # stitching every group's prediction after training

    @property
    def key(self) -> str:
        return arm_key(self.arm, self.seed)


@dataclass
class BaselineResult:
    """The iterative reconstruction of one dose's data (one seed's noise)."""

    engine: str
    nphotons: float
    seed: int
    reconstruction: np.ndarray  # complex (H, W) in the truth's frame
    metrics: dict[str, float]
    untrained: dict[str, float]  # its initial object (ones), scored the same way
    iterations: int
    seconds: float
    problems: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return baseline_key(self.engine, self.nphotons, self.seed)


Result = TypeVar("Result", ArmResult, BaselineResult)


def arm_key(arm: Arm, seed: int) -> str:
    """An arm seed's name in metrics.json, histories/ and a checkpoint: ``1e4_nll_seed0``."""
    return f"{arm.name}_seed{seed}"


def baseline_key(engine: str, nphotons: float, seed: int) -> str:
    """A baseline run's name: ``1e4_epie_seed0``."""
    return f"{dose_name(nphotons)}_{engine.lower()}_seed{seed}"


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
    from ptycho.data.raw import RawData
    from ptycho.physics.objects import lines_object
    from ptycho.physics.probe import get_default_probe
    from ptycho.physics.simulation import jittered_raster
    from ptycho.tensors.stitching import covered_border

    n, size = preset.N, preset.object_size
    truth = lines_object(size, n_lines=preset.n_lines, seed=preset.seed, phase=phase, width=preset.line_width)
    probe = get_default_probe(n, radius=preset.probe_radius, curvature=preset.probe_curvature)
    positions = jittered_raster((size, size), n, preset.scan_step, preset.jitter, seed=preset.seed)
    # Grouping needs only positions; the diffraction here is a placeholder of the right shape.
    placeholder = RawData(
        positions[:, 0], positions[:, 1], np.zeros((len(positions), n, n), np.float32), probe
    )
    grouped = placeholder.generate_grouped_data(
        n,
        K=preset.neighbor_count,
        nsamples=preset.n_groups,
        gridsize=preset.gridsize,
        seed=preset.seed,
        oversample=preset.n_groups > len(positions),
    )
    max_offset = float(np.ceil(np.max(np.abs(grouped.coords_relative))))
    border = covered_border(grouped.coords_offsets, preset.stitch_crop, (size, size))
    return Setup(preset, truth, probe, positions, grouped.nn_indices, max_offset, border)


def simulated_data(setup: Setup, nphotons: float, seed: int) -> RawData:
    """The scan's Poisson data at ``nphotons`` for repeat ``seed``: the same for every loss and the
    baseline at a dose (noise seed ``preset.seed + 1 + 1000 seed``)."""
    from ptycho.data.raw import RawData
    from ptycho.physics.simulation import simulate_diffraction

    noise_seed = setup.preset.seed + 1 + 1000 * seed
    diffraction = simulate_diffraction(setup.truth, setup.probe, setup.positions, nphotons, seed=noise_seed)
    return RawData(setup.positions[:, 0], setup.positions[:, 1], diffraction, setup.probe)


def run_arm(setup: Setup, arm: Arm, nepochs: int, seed: int = 0, strategy: Any = None) -> ArmResult:
    """Simulate, build a fresh model, train, stitch and score one arm; ``seed`` picks the repeat
    (its own Poisson noise and initialisation; repeat 0 is the study's original seeding).
    ``strategy``: a ``tf.distribute.Strategy`` to build and train the model under, or None."""
    import keras

    from ptycho.config.config import ModelConfig, TrainingConfig
    from ptycho.data.container import PtychoDataContainer
    from ptycho.data.grouping import group_by_indices
    from ptycho.distributed.strategy import strategy_scope
    from ptycho.evaluation import evaluate
    from ptycho.model.factory import create_compiled_model
    from ptycho.training import fit, reconstruct

    preset, start = setup.preset, time.perf_counter()
    keras.backend.clear_session()
    keras.utils.set_random_seed(preset.seed + seed)
    raw = simulated_data(setup, arm.nphotons, seed)
    model_config = ModelConfig(
        N=preset.N,
        gridsize=preset.gridsize,
        n_filters_scale=preset.n_filters_scale,
        max_offset=setup.max_offset,
        conv_precision=preset.conv_precision,  # type: ignore[arg-type]
    )
    config = TrainingConfig(
        model=model_config,
        nphotons=arm.nphotons,
        loss=arm.loss,  # type: ignore[arg-type]
        nepochs=nepochs,
        batch_size=preset.batch_size,
        learning_rate=preset.learning_rate[arm.loss],
        n_groups=preset.n_groups,
        neighbor_count=preset.neighbor_count,
        seed=preset.seed + seed,
    )
    data = PtychoDataContainer.from_grouped(
        group_by_indices(raw, setup.groups), setup.probe, arm.nphotons, model_config
    )
    with strategy_scope(strategy):
        compiled = create_compiled_model(config, probe=data.probe)
    shape = setup.truth.shape

    def stitched() -> np.ndarray:
        return reconstruct(compiled.diffraction_to_obj, data, shape, batch_size=64, crop=preset.stitch_crop)

    untrained = _with_resolution(evaluate(stitched(), setup.truth, border=setup.border).to_dict())
    label = f"{arm.name} seed {seed}"
    log.info(
        "%s: %d groups, mean counts %.3g per pattern, backend %s; untrained amplitude MAE %.4f",
        label,
        len(data),
        float(np.mean(np.sum(raw.diff3d**2, axis=(1, 2)))),
        compiled.autoencoder.translate_backend,
        untrained["amplitude_mae"],
    )
    trained_at = time.perf_counter()
    history = fit(compiled, data, config)
    inferred_at = time.perf_counter()
    reconstruction = stitched()
    done = time.perf_counter()
    scored = _score(reconstruction, setup)
    result = ArmResult(
        arm,
        reconstruction,
        scored,
        untrained,
        history,
        time.perf_counter() - start,
        compiled.autoencoder.translate_backend,
        seed=seed,
        train_seconds=inferred_at - trained_at,
        inference_seconds=done - inferred_at,
    )
    result.problems = sanity_problems(reconstruction, setup, scored, untrained)
    log.info(
        "%s: %.1f s, amplitude SSIM %.3f (untrained %.3f), MAE %.4f (untrained %.4f)%s",
        label,
        result.seconds,
        scored.get("amplitude_ssim", float("nan")),
        untrained["amplitude_ssim"],
        scored.get("amplitude_mae", float("nan")),
        untrained["amplitude_mae"],
        "" if not result.problems else "; FAILS: " + "; ".join(result.problems),
    )
    return result


def run_baseline(setup: Setup, nphotons: float, seed: int = 0) -> BaselineResult:
    """The preset's PtyLab engine on the data ``run_arm`` trains on at this dose and seed, from a
    flat object and the true probe (the PINN is given the true probe too)."""
    from ptycho.baselines import ptylab

    preset = setup.preset
    assert preset.baseline is not None
    raw = simulated_data(setup, nphotons, seed)
    result = ptylab.reconstruct(
        raw, setup.truth.shape, engine=preset.baseline, iterations=preset.baseline_iterations, seed=seed
    )
    scored = _score(result.object, setup)
    untrained = _score(np.ones_like(setup.truth), setup)
    baseline = BaselineResult(
        preset.baseline,
        nphotons,
        seed,
        result.object,
        scored,
        untrained,
        result.iterations,
        result.seconds,
    )
    baseline.problems = sanity_problems(result.object, setup, scored, untrained)
    log.info(
        "%s: %s %d iterations, %.1f s, amplitude SSIM %.3f, MAE %.4f%s",
        baseline.key,
        preset.baseline,
        result.iterations,
        result.seconds,
        scored.get("amplitude_ssim", float("nan")),
        scored.get("amplitude_mae", float("nan")),
        "" if not baseline.problems else "; FAILS: " + "; ".join(baseline.problems),
    )
    return baseline


def _score(reconstruction: np.ndarray, setup: Setup) -> dict[str, float]:
    """The metrics of a reconstruction against the truth (none when it has NaN or inf)."""
    from ptycho.evaluation import evaluate

    if not np.isfinite(reconstruction).all():
        return {}
    return _with_resolution(evaluate(reconstruction, setup.truth, border=setup.border).to_dict())


def _with_resolution(metrics: dict[str, float]) -> dict[str, float]:
    """Each FRC resolution also as a fraction of Nyquist and as a half-period in pixels."""
    from ptycho.evaluation import nyquist_fraction, resolution_in_pixels

    for suffix, key in (("1_7", "frc_resolution"), ("0_5", "frc_resolution_half")):
        metrics[f"nyquist_fraction_{suffix}"] = nyquist_fraction(metrics[key])
        metrics[f"resolution_px_{suffix}"] = resolution_in_pixels(metrics[key])
    return metrics


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
        return [
            f"the reconstructed amplitude is constant ({float(amplitude.mean()):.4g}, range {spread:.3g})"
        ]
    if not metrics["amplitude_mae"] < (1 - IMPROVEMENT) * untrained["amplitude_mae"]:
        return [
            f"no better than the untrained model: amplitude MAE {metrics['amplitude_mae']:.4f}, "
            f"untrained {untrained['amplitude_mae']:.4f} (at least {IMPROVEMENT:.0%} lower required)"
        ]
    # A network can collapse to a nearly flat object that still beats a poor start (He-initialised
    # networks start far off): the flat object of the truth's mean amplitude is the other bar.
    # (The metrics rescale the amplitude by the ratio of means, so any flat object scores this.)
    truth = np.abs(trim(setup.truth, setup.border)).astype(np.float64)
    flat = float(np.mean(np.abs(truth - truth.mean())))
    if not metrics["amplitude_mae"] < (1 - IMPROVEMENT) * flat:
        return [
            f"no better than a flat object: amplitude MAE {metrics['amplitude_mae']:.4f}, a flat "
            f"object's {flat:.4f} (at least {IMPROVEMENT:.0%} lower required)"
        ]
    return []


def write_outputs(
    results: list[ArmResult],
    baselines: list[BaselineResult],
    setup: Setup,
    out: Path,
    seconds: float,
    nepochs: int,
) -> None:
    """``metrics.json`` (one entry per arm and seed, and per baseline run), ``summary.json`` (mean and
    spread over seeds, the claim), ``reconstructions.npz`` (the truth and every stitched object, by
    entry), histories, ``config.json`` and the figure."""
    histories = out / "histories"
    histories.mkdir(parents=True, exist_ok=True)
    for r in results:
        save_json(histories / f"{r.key}.json", r.history)
    metrics: dict[str, dict[str, object]] = {}
    for r in results:
        metrics[r.key] = {
            "method": "pinn",
            "arm": r.arm.name,
            "nphotons": r.arm.nphotons,
            "loss": r.arm.loss,
            "seed": r.seed,
            **r.metrics,
            "untrained": r.untrained,
            "epochs_run": len(r.history.get("loss", [])),
            "final_loss": r.history["loss"][-1] if r.history.get("loss") else None,
            "seconds": round(r.seconds, 2),
            "train_seconds": round(r.train_seconds, 2),
            "inference_seconds": round(r.inference_seconds, 2),
            "translate_backend": r.backend,
            "valid": not r.problems,
            "problems": r.problems,
        }
    for b in baselines:
        metrics[b.key] = {
            "method": b.engine,
            "nphotons": b.nphotons,
            "seed": b.seed,
            **b.metrics,
            "untrained": b.untrained,
            "iterations": b.iterations,
            "seconds": round(b.seconds, 2),
            "valid": not b.problems,
            "problems": b.problems,
        }
    save_json(out / "metrics.json", metrics)
    save_npz(
        out / "reconstructions.npz",
        truth=setup.truth,
        **{r.key: r.reconstruction for r in results},
        **{b.key: b.reconstruction for b in baselines},
    )
    summary = summarize(metrics)
    summary["claim"] = claim_verdict(metrics)
    summary["by_reference_dose"] = ratios_by_reference(metrics)
    # The same reading in amplitude SSIM: a second view, not the claim (which is about resolution).
    summary["by_reference_dose_ssim"] = ratios_by_reference(metrics, "amplitude_ssim")
    save_json(out / "summary.json", summary)
    p = setup.preset
    run = {
        "preset": asdict(replace(p, nepochs=nepochs)),
        "object_shape": list(setup.truth.shape),
        "positions": len(setup.positions),
        "max_offset": setup.max_offset,
        "scored_border": setup.border,
        "total_seconds": round(seconds, 1),
    }
    save_json(out / "config.json", run)
    save_figure(results, baselines, setup, summary, out / "dose_response.png")


def run_study(
    preset: Preset,
    out: Path,
    arms: tuple[Arm, ...] | None = None,
    nepochs: int | None = None,
    phase: bool = False,
    strategy: str | None = None,
    checkpoint: Checkpoint | None = None,
) -> tuple[list[ArmResult], list[BaselineResult]]:
    """Every arm (default: the preset's doses x both losses) for each of the preset's seeds, then the
    preset's baseline on each dose's data; writes everything into ``out``. ``strategy``: None or
    "mirrored" (every local GPU, or every logical CPU device), for the network's training.
    ``checkpoint``: entries found there are taken as they are, and each one run is saved there."""
    from ptycho.distributed.strategy import resolve_strategy

    resolved = resolve_strategy(strategy)
    start = time.perf_counter()
    nepochs = preset.nepochs if nepochs is None else nepochs
    arms = arms_of(preset.doses) if arms is None else arms
    setup = make_setup(preset, phase=phase)
    log.info(
        "preset %s: object %dx%d, %d positions, %d groups of %d, max_offset %g, scored border %d px; "
        "%d arms x %d seeds%s",
        preset.name,
        preset.object_size,
        preset.object_size,
        len(setup.positions),
        preset.n_groups,
        preset.gridsize**2,
        setup.max_offset,
        setup.border,
        len(arms),
        preset.seeds,
        f", baseline {preset.baseline}" if preset.baseline else "",
    )
    if checkpoint is not None:
        checkpoint.open()
        log.info("checkpoint %s: %d finished entries", checkpoint.path, len(checkpoint.keys()))

    def kept_or_run(kept: Result | None, run: Callable[..., Result], *args: Any) -> Result:
        """The checkpoint's entry, or ``run(*args)`` (then saved there)."""
        if kept is not None:  # the gate as it is now, not as it was when the entry was saved
            kept.problems = sanity_problems(kept.reconstruction, setup, kept.metrics, kept.untrained)
            log.info("%s: taken from the checkpoint", kept.key)
            return kept
        result = run(*args)
        if checkpoint is not None:
            checkpoint.save(result)
        return result

    results = [
        kept_or_run(
            checkpoint.arm(arm, seed) if checkpoint is not None else None,
            run_arm,
            setup,
            arm,
            nepochs,
            seed,
            resolved,
        )
        for seed in range(preset.seeds)
        for arm in arms
    ]
    doses = list(dict.fromkeys(arm.nphotons for arm in arms))
    engine = preset.baseline
    baselines = (
        [
            kept_or_run(
                checkpoint.baseline(engine, dose, seed) if checkpoint is not None else None,
                run_baseline,
                setup,
                dose,
                seed,
            )
            for seed in range(preset.seeds)
            for dose in doses
        ]
        if engine
        else []
    )
    write_outputs(results, baselines, setup, out, time.perf_counter() - start, nepochs)
    return results, baselines
