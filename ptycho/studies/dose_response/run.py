"""One study run: the shared setup, each arm (simulate, build, train, stitch, score), the sanity gate
and the files written to the output directory."""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from ...files import save_json
from .figure import save_figure
from .presets import ARMS, Arm, Preset

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


def run_arm(setup: Setup, arm: Arm, nepochs: int) -> ArmResult:
    """Simulate, build a fresh model, train, stitch and score one arm."""
    import keras

    from ptycho.config.config import ModelConfig, TrainingConfig
    from ptycho.data.container import PtychoDataContainer
    from ptycho.data.grouping import group_by_indices
    from ptycho.data.raw import RawData
    from ptycho.evaluation import evaluate
    from ptycho.model.factory import create_compiled_model
    from ptycho.physics.simulation import simulate_diffraction
    from ptycho.training import fit, reconstruct

    preset, start = setup.preset, time.perf_counter()
    keras.backend.clear_session()
    keras.utils.set_random_seed(preset.seed)
    diffraction = simulate_diffraction(
        setup.truth, setup.probe, setup.positions, arm.nphotons, seed=preset.seed + 1
    )
    raw = RawData(setup.positions[:, 0], setup.positions[:, 1], diffraction, setup.probe)
    model_config = ModelConfig(
        N=preset.N,
        gridsize=preset.gridsize,
        n_filters_scale=preset.n_filters_scale,
        max_offset=setup.max_offset,
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
        seed=preset.seed,
    )
    data = PtychoDataContainer.from_grouped(
        group_by_indices(raw, setup.groups), setup.probe, arm.nphotons, model_config
    )
    compiled = create_compiled_model(config, probe=data.probe)
    shape = setup.truth.shape

    def stitched() -> np.ndarray:
        return reconstruct(compiled.diffraction_to_obj, data, shape, batch_size=64, crop=preset.stitch_crop)

    untrained = evaluate(stitched(), setup.truth, border=setup.border).to_dict()
    log.info(
        "%s: %d groups, mean counts %.3g per pattern, backend %s; untrained amplitude MAE %.4f",
        arm.name,
        len(data),
        float(np.mean(np.sum(diffraction**2, axis=(1, 2)))),
        compiled.autoencoder.translate_backend,
        untrained["amplitude_mae"],
    )
    history = fit(compiled, data, config)
    reconstruction = stitched()
    scored = _score(reconstruction, setup)
    result = ArmResult(
        arm,
        reconstruction,
        scored,
        untrained,
        history,
        time.perf_counter() - start,
        compiled.autoencoder.translate_backend,
    )
    result.problems = sanity_problems(reconstruction, setup, scored, untrained)
    log.info(
        "%s: %.1f s, amplitude SSIM %.3f (untrained %.3f), MAE %.4f (untrained %.4f)%s",
        arm.name,
        result.seconds,
        scored.get("amplitude_ssim", float("nan")),
        untrained["amplitude_ssim"],
        scored.get("amplitude_mae", float("nan")),
        untrained["amplitude_mae"],
        "" if not result.problems else "; FAILS: " + "; ".join(result.problems),
    )
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
        return [
            f"the reconstructed amplitude is constant ({float(amplitude.mean()):.4g}, range {spread:.3g})"
        ]
    if not metrics["amplitude_mae"] < (1 - IMPROVEMENT) * untrained["amplitude_mae"]:
        return [
            f"no better than the untrained model: amplitude MAE {metrics['amplitude_mae']:.4f}, "
            f"untrained {untrained['amplitude_mae']:.4f} (at least {IMPROVEMENT:.0%} lower required)"
        ]
    return []


def write_outputs(results: list[ArmResult], setup: Setup, out: Path, seconds: float, nepochs: int) -> None:
    histories = out / "histories"
    histories.mkdir(parents=True, exist_ok=True)
    for r in results:
        save_json(histories / f"{r.arm.name}.json", r.history)
    metrics = {
        r.arm.name: {
            "nphotons": r.arm.nphotons,
            "loss": r.arm.loss,
            **r.metrics,
            "untrained": r.untrained,
            "epochs_run": len(r.history.get("loss", [])),
            "final_loss": r.history["loss"][-1] if r.history.get("loss") else None,
            "seconds": round(r.seconds, 2),
            "translate_backend": r.backend,
            "valid": not r.problems,
            "problems": r.problems,
        }
        for r in results
    }
    save_json(out / "metrics.json", metrics)
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
    save_figure(results, setup, out / "dose_response.png")


def run_study(
    preset: Preset, out: Path, arms: tuple[Arm, ...] = ARMS, nepochs: int | None = None, phase: bool = False
) -> list[ArmResult]:
    start = time.perf_counter()
    nepochs = preset.nepochs if nepochs is None else nepochs
    setup = make_setup(preset, phase=phase)
    log.info(
        "preset %s: object %dx%d, %d positions, %d groups of %d, max_offset %g, scored border %d px",
        preset.name,
        preset.object_size,
        preset.object_size,
        len(setup.positions),
        preset.n_groups,
        preset.gridsize**2,
        setup.max_offset,
        setup.border,
    )
    results = [run_arm(setup, arm, nepochs) for arm in arms]
    write_outputs(results, setup, out, time.perf_counter() - start, nepochs)
    return results
