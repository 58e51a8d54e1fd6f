"""The study's presets (sizes, epochs, optimisation, doses, seeds, baseline) and its arms (dose x loss)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

DOSES = (1e9, 1e4)
LOSSES = ("nll", "mae")


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
    doses: tuple[float, ...] = DOSES  # photons per pattern; one arm per dose and loss
    seeds: int = 1  # repeats of every arm with its own Poisson noise and initialisation
    baseline: str | None = None  # a PtyLab engine ("ePIE", "mPIE") run on each dose's data, or None
    baseline_iterations: int = 100
    conv_precision: str = "float32"  # ModelConfig.conv_precision: "bfloat16" is faster on AMX CPUs
    expected: str = ""  # measured wall time on the 2-core CPU, for the README and --help

    @property
    def probe_radius(self) -> float:
        """3N/16: the probe (with its blur) inside the network's object support, the central N/2 box."""
        return 3 * self.N / 16

    @property
    def stitch_crop(self) -> int:
        """Stitch each object patch's central probe-diameter box: what its own pattern constrains."""
        return 2 * math.ceil(self.probe_radius)


PRESETS: dict[str, Preset] = {
    "smoke": Preset(
        "smoke",
        N=16,
        gridsize=2,
        object_size=40,
        scan_step=2.0,
        n_groups=96,
        nepochs=8,  # 4 epochs at 1e-3 left the He-initialised arms no better than a flat object
        batch_size=16,
        learning_rate={"nll": 3e-3, "mae": 3e-3},
        n_lines=10,
        n_filters_scale=1,
        seeds=2,
        baseline="ePIE",
        baseline_iterations=20,
        expected="about 110 s",
    ),
    "quick": Preset(
        "quick",
        N=32,
        gridsize=2,
        object_size=96,
        scan_step=3.0,
        n_groups=384,
        nepochs=40,
        batch_size=8,
        learning_rate={"nll": 5e-4, "mae": 5e-4},
        n_lines=30,
        line_width=2.0,
        n_filters_scale=1,
        expected="3-5 min measured",
    ),
    "full": Preset(
        "full",
        N=64,
        gridsize=2,
        object_size=128,
        scan_step=4.0,
        n_groups=1024,
        nepochs=50,
        batch_size=16,
        # NLL at 5e-4 collapsed to a flat object within 3 epochs; 8 epochs at 1e-4 reached the
        # lowest NLL and amplitude error of 5e-5, 1e-4, 2e-4 and 5e-4 (README, the dose sweep)
        learning_rate={"nll": 1e-4, "mae": 5e-4},
        n_lines=90,
        n_filters_scale=2,
        neighbor_count=7,
        expected="about 80 min, 35-75 min with --conv-precision bfloat16 (22.9, 9-22 s per epoch measured)",
    ),
}


def dose_name(nphotons: float) -> str:
    """``1e4`` for 10^4 photons, ``2.5e4`` for 25000: short, and unique for distinct doses."""
    mantissa, exponent = f"{nphotons:.6e}".split("e")
    return f"{float(mantissa):g}e{int(exponent)}"


@dataclass(frozen=True)
class Arm:
    nphotons: float
    loss: str

    @property
    def name(self) -> str:
        return f"{dose_name(self.nphotons)}_{self.loss}"


def arms_of(doses: tuple[float, ...]) -> tuple[Arm, ...]:
    """Every dose with every loss, in dose order as given."""
    return tuple(Arm(dose, loss) for dose in doses for loss in LOSSES)


ARMS = arms_of(DOSES)

# The quick preset's arms at five doses and three seeds, with ePIE: its seed-0 1e9 and 1e4 arms are
# the quick preset's.
PRESETS["sweep"] = replace(
    PRESETS["quick"],
    name="sweep",
    doses=(1e3, 1e4, 1e5, 1e6, 1e9),
    seeds=3,
    baseline="ePIE",
    expected="27-46 min measured (the quick preset's arms at 5 doses x 3 seeds, and ePIE)",
)
