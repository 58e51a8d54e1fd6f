"""Dose-response study: doses x Poisson NLL and amplitude MAE, one model per arm and seed, and an
iterative baseline (PtyLab's ePIE or mPIE) on the same data.

The study that first hit the 778752 reshape error, end to end, in the configuration that crashed
(gridsize 2, XLA translation):

- one ground truth (the "lines" object) and one scan trajectory (a raster with seeded sub-pixel
  jitter) and one grouping, shared by all arms;
- each arm (and each of the preset's seeds: its own noise and initialisation) simulates
  Poisson counts at its dose (the same noise seed for every arm, so the two
  losses at one dose see identical data), builds a fresh model (Keras session cleared, seeds set),
  records the untrained model's reconstruction, trains, reconstructs by stitching the central
  ``N/2`` box of every group's object patch, and is scored against the truth on the region every
  stitched patch set covers (``ptycho.evaluation``);
- the preset's baseline engine reconstructs each dose's data (same noise) from a flat object;
- writes ``metrics.json`` (one entry per arm and seed, and per baseline run), ``summary.json``
  (mean and spread over seeds, the claim's verdict, ``claim.py``), ``dose_response.png``,
  ``histories/<arm>_seed<k>.json``, ``run.log`` and ``config.json`` to ``--output-dir``;
- a sanity gate exits with status 3, naming the arm, when a reconstruction has NaN or inf, is
  constant, or is no better than the untrained model (amplitude MAE against the truth not at least
  2% below the untrained model's, or below a flat object's);
- with ``--checkpoint-dir``, each finished entry is kept there and a rerun takes it back
  (``checkpoint.py``): a sweep longer than a sitting resumes where it stopped.

Run ``python -m ptycho.studies.dose_response --preset quick --output-dir out``.
``USE_XLA_TRANSLATE=0`` selects the ImageProjectiveTransformV3 backend instead of XLA.
"""

from ...tensors.stitching import covered_border as covered_border
from .claim import claim_verdict as claim_verdict
from .claim import matching_dose as matching_dose
from .claim import ratios_by_reference as ratios_by_reference
from .claim import summarize as summarize
from .cli import GATE_FAILED as GATE_FAILED
from .cli import build_parser as build_parser
from .cli import main as main
from .presets import ARMS as ARMS
from .presets import DOSES as DOSES
from .presets import LOSSES as LOSSES
from .presets import PRESETS as PRESETS
from .presets import Arm as Arm
from .presets import Preset as Preset
from .presets import arms_of as arms_of
from .presets import dose_name as dose_name
from .run import IMPROVEMENT as IMPROVEMENT
from .run import ArmResult as ArmResult
from .run import BaselineResult as BaselineResult
from .run import Setup as Setup
from .run import make_setup as make_setup
from .run import run_arm as run_arm
from .run import run_baseline as run_baseline
from .run import run_study as run_study
from .run import sanity_problems as sanity_problems
from .run import write_outputs as write_outputs
