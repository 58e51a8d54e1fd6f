"""Every call that PtychoPINN answered silently wrong, and the error it gets here.

The test makes each call, checks the error names what was wrong, and writes the table at the end of
``docs/migrating.md`` from what the calls raised (``UPDATE_DOCS=1`` rewrites it; the test fails when
a message changes). Each case also states PtychoPINN's behaviour, the reason it is refused.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from ptycho import loader, params, train_pinn
from ptycho import probe as legacy_probe
from ptycho import projective_warp_xla as pw
from ptycho import tf_helper as hh
from ptycho.config.config import ModelConfig, TrainingConfig
from ptycho.raw_data import RawData

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "migrating.md"
START, END = "<!-- errors:start -->", "<!-- errors:end -->"


def _raw(start_shift: float = 0.0, n: int = 9) -> RawData:
    side = int(np.sqrt(n))
    y, x = (np.mgrid[:side, :side] * 3.0 + 10).reshape(2, -1)
    diff = np.ones((len(x), 8, 8), np.float32)
    return RawData(x, y, x + start_shift, y, diff, np.ones((8, 8), np.complex64), np.zeros(len(x)))


def _container() -> loader.PtychoDataContainer:
    raw = _raw()
    dset = raw.generate_grouped_data(8, K=4, nsamples=4, gridsize=2, seed=0)
    return loader.load(lambda: dset, raw.probeGuess, None, False)


# (PtychoPINN's behaviour, the call, words the error must contain)
CASES: list[tuple[str, Callable[[], object], str]] = [
    (
        "cycled 16 translations over 64 images (modulo broadcast)",
        lambda: pw.translate_xla(np.zeros((64, 8, 8, 1), np.float32), np.zeros((16, 2), np.float32)),
        "one translation per image",
    ),
    (
        "repeated each translation `images // translations` times (non-XLA path)",
        lambda: hh.translate_core(np.zeros((6, 8, 8, 1), np.float32), np.zeros((4, 2), np.float32)),
        "batch 4",
    ),
    (
        "warped with transforms of another batch (gather or late reshape)",
        lambda: pw.projective_warp_xla(np.zeros((3, 8, 8, 1), np.float32), np.zeros((2, 8), np.float32)),
        "batch 2",
    ),
    (
        "placed B*C patches at B offsets, slices misaligned",
        lambda: hh.reassemble_position(np.ones((8, 16, 16, 1), np.complex64), np.zeros((2, 1, 2, 1)), M=8),
        "one offset per patch",
    ),
    (
        "cropped an odd M to M - 1",
        lambda: hh.reassemble_position(np.ones((2, 16, 16, 1), np.complex64), np.zeros((2, 1, 2, 1)), M=9),
        "odd M",
    ),
    (
        "downcast complex128 patches to complex64",
        lambda: hh.reassemble_position(np.ones((2, 16, 16, 1), np.complex128), np.zeros((2, 1, 2, 1)), M=8),
        "complex128",
    ),
    (
        "moved a patch off its canvas (content lost)",
        lambda: hh._reassemble_patches_position_real(
            np.ones((1, 8, 8, 1), np.float32), np.full((1, 1, 2, 1), 5.0, np.float32), padded_size=12
        ),
        "margin",
    ),
    (
        "returned N + 1 pixels for an odd M - N",
        lambda: hh.trim_reconstruction(np.zeros((1, 9, 9, 1), np.float32), 4),
        "even",
    ),
    (
        "ignored `average` and any other keyword",
        lambda: hh._reassemble_patches_position_real(
            np.ones((1, 8, 8, 1), np.float32),
            np.zeros((1, 1, 2, 1), np.float32),
            padded_size=12,
            average=True,
        ),
        "average",
    ),
    (
        "did not check len(diff3d) against the positions",
        lambda: RawData(*(np.arange(4.0),) * 4, np.ones((3, 8, 8)), np.ones((8, 8)), np.zeros(4)),
        "diff3d",
    ),
    (
        "capped `nsamples` to the positions at gridsize 1, with a warning",
        lambda: _raw().generate_grouped_data(8, nsamples=20, gridsize=1),
        "enable_oversampling",
    ),
    (
        "grouped with N unlike the patterns' size",
        lambda: _raw().generate_grouped_data(16, nsamples=2, gridsize=1),
        "differs from the data",
    ),
    (
        "trained on the start coordinates and reconstructed at the others",
        lambda: _raw(start_shift=0.5).generate_grouped_data(8, nsamples=2, gridsize=1),
        "xcoords_start",
    ),
    (
        "accepted groups larger than the neighbourhood (K < C)",
        lambda: _raw().generate_grouped_data(8, K=3, nsamples=2, gridsize=2),
        "K=3 must be >= C=4",
    ),
    (
        "kept containers whose arrays have different group counts",
        lambda: loader.PtychoDataContainer(
            np.ones((4, 8, 8, 1)),
            np.ones((4, 8, 8, 1)),
            np.zeros((4, 8, 8, 1)),
            None,
            None,
            np.zeros((4, 1, 2, 1)),
            np.zeros((4, 1, 2, 1)),
            np.zeros((3, 1)),
            np.zeros((4, 1, 2, 1)),
            np.zeros((4, 1, 2, 1)),
            np.ones((8, 8)),
        ),
        "nn_indices",
    ),
    (
        "set the shared intensity scale to whatever was passed",
        lambda: train_pinn.train(_container(), intensity_scale=123.0),
        "each model takes its data's scale",
    ),
    (
        "continued training `model_instance`",
        lambda: train_pinn.train(_container(), model_instance=object()),
        "model_instance",
    ),
    (
        "estimated a probe from the data when no guess was given",
        lambda: legacy_probe.set_probe_guess(np.ones((2, 8, 8, 1))),
        "probe_guess",
    ),
    ("built an FNO generator", lambda: ModelConfig(architecture="fno"), "architecture='fno'"),
    ("built a model with one patch canvas per patch", lambda: ModelConfig(object_big=False), "object_big"),
    ("trained the probe", lambda: TrainingConfig(probe_trainable=True), "probe_trainable"),
    ("mixed the two losses", lambda: TrainingConfig(mae_weight=0.5, nll_weight=0.5), "one loss at a time"),
    (
        "asserted (AssertionError) on an unknown data source",
        lambda: params.set("data_source", "typo"),
        "data_source",
    ),
]


def _run(call: Callable[[], object]) -> BaseException:
    try:
        call()
    except Exception as exc:  # every case must raise; what it raises is what the table shows
        return exc
    raise AssertionError("the call did not raise")


def _table(rows: list[tuple[str, str, str]]) -> str:
    lines = ["| PtychoPINN | error here |", "|---|---|"]
    for old, kind, message in rows:
        text = f"{kind}: {message}".replace("|", "/").replace("`", "'")
        lines.append(f"| {old} | `{text}` |")
    return "\n".join(lines)


@pytest.fixture(autouse=True)
def legacy_dict():
    saved = dict(params.cfg)
    params.cfg.update(params.DEFAULT_CFG)
    yield
    params.cfg.clear()
    params.cfg.update(saved)


def test_each_silent_ptychopinn_behaviour_is_refused_by_name_and_the_doc_lists_it():
    rows = []
    for old, call, words in CASES:
        error = _run(call)
        message = str(error).splitlines()[0]
        assert isinstance(error, (ValueError, TypeError)), f"{old}: {type(error).__name__}: {message}"
        assert words in message, f"{old}: {message!r} does not say {words!r}"
        rows.append((old, type(error).__name__, message))
    text = DOC.read_text()
    head, rest = text.split(START)
    _, tail = rest.split(END)
    wanted = f"{head}{START}\n{_table(rows)}\n{END}{tail}"
    if os.environ.get("UPDATE_DOCS"):
        DOC.write_text(wanted)
    assert DOC.read_text() == wanted, "docs/migrating.md is stale: rerun this test with UPDATE_DOCS=1"
