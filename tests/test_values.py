"""Value-level properties of the fast tier (issue 20): defects that keep every shape right.

Each test states a property against an independent NumPy reference or an invariant, and kills
one re-introduced defect of ``tests/mutants/`` (``python tests/mutants/run.py`` runs the fast tier
against each; ``test_designated_tests_kill_their_mutant`` checks the pairing below):

* ground-truth patches are cut at each patch's own position (not ``2*centroid - position``);
* a patch's centre is the half-integer ``(N-1)/2`` (not ``(N-1)//2``);
* ``pad_patches`` refuses a size it cannot pad to exactly;
* the Poisson NLL and its gradient are finite at a zero prediction;
* every model owns its intensity scale;
* a contracted function traced with a ``None`` batch defers the batch's relations to run time.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from jaxtyping import Float

import contracts
from contracts import contract
from ptycho.data.grouping import group_by_indices
from ptycho.data.raw import RawData
from ptycho.physics.losses import poisson_nll
from ptycho.physics.simulation import extract_patches
from ptycho.tensors.reassembly import (
    extract_patches_position,
    pad_patches,
    reassemble_patches_position_real,
)
from ptycho.tensors.stitching import reassemble_position

pytestmark = pytest.mark.contracts

# No shrinking: the draws are small and mostly seeds, which shrink to nothing more readable, and a
# failing example is reported within a second (tests/mutants/run.py runs these against each defect).
FAST = settings(phases=(Phase.explicit, Phase.reuse, Phase.generate))


def _crop(obj: np.ndarray, x: float, y: float, n: int) -> np.ndarray:
    """The N x N pixels centred on ``(x, y)``, for a centre on the half-integer grid of an even N:
    pixel (r, c) is ``obj[y - (N-1)/2 + r, x - (N-1)/2 + c]`` (CONVENTIONS.md), no interpolation."""
    x0, y0 = x - (n - 1) / 2, y - (n - 1) / 2
    assert x0 == int(x0) and y0 == int(y0), (x, y, n)
    return obj[int(y0) : int(y0) + n, int(x0) : int(x0) + n]


def _point_symmetric(rng: np.random.Generator, shape: tuple[int, int], dtype: str = "complex") -> np.ndarray:
    """A random image equal to itself rotated by 180 degrees about its centre ``((W-1)/2, (H-1)/2)``."""
    a = rng.standard_normal(shape)
    if dtype == "complex":
        a = a + 1j * rng.standard_normal(shape)
    return a + a[::-1, ::-1]


# -- (a), (d): ground-truth patches, cut where each patch is -------------------------------------


@settings(FAST, max_examples=15)
@given(
    n=st.sampled_from([8, 10, 12]),
    extra=st.tuples(st.integers(2, 10), st.integers(2, 10)),
    gridsize=st.sampled_from([2, 3]),
    groups=st.integers(1, 4),
    seed=st.integers(0, 2**31),
)
def test_ground_truth_patches_are_numpy_crops_at_each_patch_position(n, extra, gridsize, groups, seed):
    """Y[b, :, :, c] of ``group_by_indices`` is the object cropped around position ``indices[b, c]``,
    for positions on the half-integer grid (where the crop needs no interpolation), any object
    (complex, no symmetry) and groups of distinct positions."""
    rng = np.random.default_rng(seed)
    height, width = n + extra[0], n + extra[1]
    obj = (rng.standard_normal((height, width)) + 1j * rng.standard_normal((height, width))).astype(
        "complex64"
    )
    # every patch inside the object: x - (N-1)/2 in [0, W - N]
    half = (n - 1) / 2
    candidates = [(x0 + half, y0 + half) for y0 in range(extra[0] + 1) for x0 in range(extra[1] + 1)]
    c = gridsize * gridsize
    count = min(len(candidates), c + 4)
    positions = np.array([candidates[i] for i in rng.choice(len(candidates), count, replace=False)])
    indices = np.stack([rng.choice(count, c, replace=False) for _ in range(groups)])
    raw = RawData(
        positions[:, 0],
        positions[:, 1],
        np.zeros((count, n, n), "float32"),
        np.ones((n, n), "complex64"),
        objectGuess=obj,
    )
    grouped = group_by_indices(raw, indices)
    assert grouped.Y is not None and grouped.Y.shape == (groups, n, n, c)
    for b in range(groups):
        for k in range(c):
            x, y = positions[indices[b, k]]
            np.testing.assert_allclose(
                grouped.Y[b, :, :, k], _crop(obj, x, y, n), atol=1e-6, err_msg=f"group {b} patch {k}"
            )


# -- (d): the patch centre is (N-1)/2 -------------------------------------------------------------


@settings(FAST, max_examples=10)
@given(
    n=st.sampled_from([8, 10, 16]),
    side=st.integers(0, 9),
    seed=st.integers(0, 2**31),
)
def test_a_patch_cut_at_an_objects_centre_of_symmetry_is_point_symmetric(n, side, seed):
    """An object equal to its 180-degree rotation about ``(cx, cy)`` (a half-integer or an integer
    centre, by the parity of its side) gives a point-symmetric patch when cut at ``(cx, cy)``: the
    patch's own centre is ``(N-1)/2``. A centre at ``(N-1)//2`` samples half a pixel off."""
    rng = np.random.default_rng(seed)
    s = n + side
    obj = _point_symmetric(rng, (s, s))
    centre = (s - 1) / 2
    patch = extract_patches(obj, np.array([[centre, centre]]), n)[0]
    np.testing.assert_allclose(patch, patch[::-1, ::-1], atol=1e-9)


@pytest.mark.parametrize("backend", ["xla", "v3"])
def test_reassembly_and_stitching_put_a_patch_centre_on_the_canvas_centre(backend):
    """A point-symmetric patch placed with zero offset on an M x M canvas, or stitched at the centre
    ``((S-1)/2, (S-1)/2)`` of an S x S object, stays point-symmetric; extraction at zero offset
    returns it."""
    rng = np.random.default_rng(1)
    n, m = 12, 20
    patch = _point_symmetric(rng, (n, n), dtype="real").astype("float32")
    canvas = reassemble_patches_position_real(
        tf.constant(patch[None, :, :, None]), tf.zeros([1, 1, 2, 1]), m, backend=backend
    ).numpy()[0, :, :, 0]
    np.testing.assert_allclose(canvas, canvas[::-1, ::-1], atol=1e-5)
    back = extract_patches_position(
        tf.constant(canvas[None, :, :, None]), tf.zeros([1, 1, 2, 1]), n, backend=backend
    ).numpy()
    np.testing.assert_allclose(back[0, :, :, 0], patch, atol=1e-5)
    for s in (20, 21):
        centre = (s - 1) / 2
        stitched = reassemble_position(
            patch[None, :, :, None], np.full((1, 1, 2, 1), centre, "float32"), (s, s), backend=backend
        ).numpy()
        np.testing.assert_allclose(stitched, stitched[::-1, ::-1], atol=1e-5, err_msg=f"S={s}")


# -- (e): pad_patches pads to exactly the size requested, or refuses --------------------------------


@settings(FAST, max_examples=15)
@given(
    n=st.sampled_from([4, 8, 16]),
    extra=st.integers(0, 9),
    b=st.integers(0, 3),
    c=st.integers(1, 4),
    seed=st.integers(0, 2**31),
)
def test_pad_patches_pads_to_the_size_requested_or_refuses_it(n, extra, b, c, seed):
    """M - N even: the result is M x M with each patch at rows and columns ``(M-N)/2 ..`` and zeros
    elsewhere (``np.pad``). M - N odd: no centred M x M exists, and a ``ValueError`` names M."""
    m = n + extra
    patches = np.random.default_rng(seed).standard_normal((b, n, n, c)).astype("float32")
    if extra % 2:
        with pytest.raises(ValueError, match=rf"padded_size={m}(\D|$)") as info:
            pad_patches(tf.constant(patches), m)
        assert "even" in str(info.value) and f"N={n}" in str(info.value)
        return
    p = extra // 2
    expected = np.pad(patches, [(0, 0), (p, p), (p, p), (0, 0)])
    np.testing.assert_array_equal(pad_patches(tf.constant(patches), m).numpy(), expected)


def test_pad_patches_refuses_an_odd_canvas_while_tracing():
    """The size is refused when the graph is built, not padded to M - 1 and found later."""
    traced = tf.function(lambda x: pad_patches(x, 23), input_signature=[tf.TensorSpec([None, 16, 16, 1])])
    with pytest.raises(ValueError, match="received: N=16, padded_size=23"):
        traced.get_concrete_function()


# -- (b): the Poisson NLL is finite at a zero prediction ---------------------------------------------


@settings(FAST, max_examples=15)
@given(
    shape=st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(1, 4), st.integers(1, 4)),
    zeros=st.floats(0.1, 1.0),
    seed=st.integers(0, 2**31),
)
def test_poisson_nll_and_its_gradient_are_finite_at_zero_prediction(shape, zeros, seed):
    """For integer counts k >= 0 (zero counts included) and predictions lambda >= 0 with zeros: the
    loss and d loss / d lambda are finite; where lambda is away from 0 the loss is the NumPy
    ``mean(lambda - k log lambda)`` up to the epsilon's effect."""
    rng = np.random.default_rng(seed)
    k = rng.poisson(3.0, shape).astype("float32")
    k.flat[0] = 0.0  # 0 * log(0) is NaN without an epsilon
    k.flat[-1] = max(k.flat[-1], 1.0)  # k log(0) is -inf without an epsilon
    lam = rng.uniform(0.5, 10.0, shape).astype("float32")
    hit = rng.uniform(size=shape) < zeros
    hit.flat[0] = hit.flat[-1] = True
    lam_zero = np.where(hit, 0.0, lam).astype("float32")
    prediction = tf.constant(lam_zero)
    with tf.GradientTape() as tape:
        tape.watch(prediction)
        value = poisson_nll(tf.constant(k), prediction)
    gradient = tape.gradient(value, prediction).numpy()
    assert np.isfinite(value.numpy()), value.numpy()
    assert np.isfinite(gradient).all(), gradient
    away = poisson_nll(tf.constant(k), tf.constant(lam)).numpy()
    reference = np.mean(lam.astype(np.float64) - k * np.log(lam.astype(np.float64)))
    assert away == pytest.approx(reference, rel=1e-4, abs=1e-4)


# -- (c): every model owns its intensity scale ---------------------------------------------------


def test_models_built_one_after_the_other_own_their_intensity_scales():
    """Two models of the same N: each scale starts at ``log(sqrt(nphotons) / (N/2))`` of its own
    nphotons (PHYSICS.md), the variables are distinct, and a training step of one moves its scale and
    leaves the other's where it was."""
    from ptycho.model import create_model_with_gridsize, training_model

    n, nphotons = 16, (1e6, 1e4)
    a, _ = create_model_with_gridsize(1, n, "v3", n_filters_scale=1, max_offset=2, nphotons=nphotons[0])
    b, _ = create_model_with_gridsize(1, n, "v3", n_filters_scale=1, max_offset=2, nphotons=nphotons[1])
    scale_a = a.get_layer("intensity_scale").log_scale
    scale_b = b.get_layer("intensity_scale").log_scale
    assert scale_a is not scale_b
    for scale, photons in zip((scale_a, scale_b), nphotons):
        assert float(scale.numpy()) == pytest.approx(math.log(math.sqrt(photons) / (n / 2)), rel=1e-6)
    before_a, before_b = float(scale_a.numpy()), float(scale_b.numpy())
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 5, (4, n, n, 1)).astype("float32")
    trainer = training_model(a, "nll", learning_rate=0.05)
    trainer.train_on_batch([x, np.zeros((4, 1, 2, 1), "float32")], x**2)
    assert float(scale_a.numpy()) != before_a  # the step moved a's scale: the test can see a shared one
    assert float(scale_b.numpy()) == before_b


# -- (f): a None batch while tracing defers the batch's relations to run time -----------------------


@contract
def _pair_to_flat(
    images: Float[tf.Tensor, "B N N C"], offsets: Float[tf.Tensor, "B 1 2 C"]
) -> Float[tf.Tensor, "B*C N N 1"]:
    n = tf.shape(images)[1]
    return tf.reshape(tf.transpose(images, [0, 3, 1, 2]), [-1, n, n, 1])


@pytest.mark.parametrize("batch", [None, 3])
def test_a_none_batch_traced_contract_defers_its_batch_relations(batch):
    """Traced with the batch unknown, every relation B takes part in after it is bound (offsets
    axis 0, the return's B*C) is recorded as deferred, naming B, and checked when the graph runs:
    a mismatched batch is refused then. With the batch known, everything is proved at trace time."""
    n, c = 4, 4
    signature = [tf.TensorSpec([batch, n, n, c]), tf.TensorSpec([batch, 1, 2, c])]
    with contracts.recording() as events:
        traced = tf.function(_pair_to_flat, input_signature=signature).get_concrete_function()
    graph = {e.argument: e for e in events if e.exec_mode == "graph" and e.function.endswith("_pair_to_flat")}
    assert set(graph) == {"images", "offsets", "return value"}, events
    assert graph["images"].bindings["B"] == batch
    if batch is not None:
        assert all(e.outcome == "proved" and not e.deferred for e in graph.values())
        return
    assert graph["images"].outcome == "proved"  # binds B; nothing to relate yet
    assert graph["offsets"].outcome == "deferred"
    assert graph["offsets"].deferred == ("B: offsets axis 0 == images axis 0",)
    assert graph["return value"].outcome == "deferred"
    assert any(d.startswith("B*C: return value axis 0") for d in graph["return value"].deferred)
    ok = traced(tf.zeros([3, n, n, c]), tf.zeros([3, 1, 2, c]))
    assert ok.shape == (3 * c, n, n, 1)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"dim B of offsets \(axis 0"):
        traced(tf.zeros([3, n, n, c]), tf.zeros([2, 1, 2, c]))
