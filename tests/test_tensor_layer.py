"""ptycho tensor layer: layouts, both translation backends, reassembly, extraction and stitching.

Values are compared with an independent NumPy reference (bilinear, integer pixel centres, zero
outside per corner, content moved by +t), not with the code under test.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts import ShapeContractError
from contracts.testing.strategies import arrays_for
from ptycho.tensors.layouts import _channel_to_flat, _flat_to_channel, flatten_offsets, unflatten_offsets
from ptycho.tensors.reassembly import canvas_size, extract_patches_position, reassemble_patches_position_real
from ptycho.tensors.stitching import reassemble_position
from ptycho.tensors.translation import translate
from ptycho.tensors.translation.warp import projective_warp_xla
from ptycho.tensors.translation.xla import _translate_rows, _translate_windows, translate_xla
from ptycho.tensors.vocabulary import ChannelImages, ChannelOffsets
from tests.strategies import stack_dims

pytestmark = pytest.mark.contracts


def np_translate(images: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Reference: out[b, y, x] = bilinear in[b, y - t_y, x - t_x], each corner outside reads 0."""
    b, height, width, _ = images.shape
    out = np.zeros_like(images, dtype=np.float64)
    ys, xs = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    for i in range(b):
        sx, sy = xs - float(t[i, 0]), ys - float(t[i, 1])
        x0, y0 = np.floor(sx).astype(int), np.floor(sy).astype(int)
        fx, fy = sx - x0, sy - y0
        for dy, wy in ((0, 1 - fy), (1, fy)):
            for dx, wx in ((0, 1 - fx), (1, fx)):
                yy, xx = y0 + dy, x0 + dx
                ok = (yy >= 0) & (yy < height) & (xx >= 0) & (xx < width)
                vals = np.where(
                    ok[..., None], images[i, np.clip(yy, 0, height - 1), np.clip(xx, 0, width - 1)], 0
                )
                out[i] += vals * (wy * wx)[..., None]
    return out


def np_channel_to_flat(images: np.ndarray) -> np.ndarray:
    b, n, m, c = images.shape
    out = np.empty((b * c, n, m, 1), images.dtype)
    for i in range(b):
        for j in range(c):
            out[i * c + j, ..., 0] = images[i, ..., j]
    return out


@given(dims=stack_dims(), data=st.data())
def test_channel_flat_round_trip_and_order(dims, data):
    images = data.draw(arrays_for(ChannelImages, dims))
    offsets = data.draw(arrays_for(ChannelOffsets, dims))
    flat = _channel_to_flat(tf.constant(images))
    np.testing.assert_array_equal(flat.numpy(), np_channel_to_flat(images))
    np.testing.assert_array_equal(_flat_to_channel(flat, dims["C"]).numpy(), images)
    flat_offsets = flatten_offsets(tf.constant(offsets)).numpy()
    np.testing.assert_array_equal(flat_offsets, np_channel_to_flat(offsets.transpose(0, 2, 1, 3))[:, :, 0, 0])
    np.testing.assert_array_equal(unflatten_offsets(tf.constant(flat_offsets), dims["C"]).numpy(), offsets)


@given(
    b=st.integers(0, 6),
    height=st.integers(2, 20),
    width=st.integers(2, 20),
    seed=st.integers(0, 2**31),
    spread=st.sampled_from([0.9, 5.0, 30.0]),  # subpixel, in frame, out of frame
)
def test_backends_agree_with_numpy_reference(b, height, width, seed, spread):
    rng = np.random.default_rng(seed)
    images = rng.standard_normal((b, height, width, 2)).astype("float32")
    t = rng.uniform(-spread, spread, (b, 2)).astype("float32")
    expected = np_translate(images, t)
    for backend in ("xla", "v3"):
        got = translate(tf.constant(images), tf.constant(t), backend=backend).numpy()
        np.testing.assert_allclose(got, expected, atol=1e-5, err_msg=backend)
    transforms = np.zeros((b, 8), "float32")
    transforms[:, [0, 4]] = 1
    transforms[:, 2], transforms[:, 5] = -t[:, 0], -t[:, 1]
    np.testing.assert_allclose(
        projective_warp_xla(tf.constant(images), tf.constant(transforms)).numpy(), expected, atol=1e-5
    )


def test_complex_images_translate_real_and_imaginary_alike():
    rng = np.random.default_rng(3)
    re, im = rng.standard_normal((2, 4, 9, 9, 1)).astype("float32")
    t = rng.uniform(-3, 3, (4, 2)).astype("float32")
    for backend in ("xla", "v3"):
        got = translate(tf.complex(re, im), tf.constant(t), backend=backend).numpy()
        np.testing.assert_allclose(got.real, np_translate(re, t), atol=1e-5)
        np.testing.assert_allclose(got.imag, np_translate(im, t), atol=1e-5)


def _numeric_gradient(f, t, eps=1e-6):
    """Central differences of the scalar ``f`` with respect to each entry of the float64 tensor ``t``."""
    numeric = np.zeros(t.shape)
    for index in np.ndindex(*t.shape):
        d = np.zeros(t.shape)
        d[index] = eps
        numeric[index] = (f(t + d) - f(t - d)).numpy() / (2 * eps)
    return numeric


def test_gradients():
    rng = np.random.default_rng(5)
    images = tf.constant(rng.standard_normal((3, 12, 12, 1)).astype("float32"))
    t = tf.constant(rng.uniform(-2.5, 2.5, (3, 2)).astype("float32"))
    weights = tf.constant(rng.standard_normal((3, 12, 12, 1)).astype("float32"))
    grads = {}
    for backend in ("xla", "v3"):
        with tf.GradientTape() as tape:
            tape.watch(images)
            loss = tf.reduce_sum(translate(images, t, backend=backend) * weights)
        grads[backend] = tape.gradient(loss, images).numpy()
    np.testing.assert_allclose(grads["xla"], grads["v3"], atol=1e-5)

    images64 = tf.cast(images, tf.float64)
    t64 = tf.cast(t, tf.float64)
    with tf.GradientTape() as tape:
        tape.watch(t64)
        loss = tf.reduce_sum(translate_xla(images64, t64) * tf.cast(weights, tf.float64))
    analytic = tape.gradient(loss, t64).numpy()
    numeric = _numeric_gradient(
        lambda s: tf.reduce_sum(translate_xla(images64, s) * tf.cast(weights, tf.float64)), t64
    )
    np.testing.assert_allclose(analytic, numeric, rtol=1e-4, atol=1e-6)


_XLA_JIT = tf.function(translate_xla, jit_compile=True)  # a trace per shape


def _unknown_batch(jit_compile):
    """The kernel traced with the batch unknown (as in a Keras model); under XLA compiled with it known."""

    def run(x, t):
        signature = [tf.TensorSpec([None, *x.shape[1:]], x.dtype), tf.TensorSpec([None, 2], t.dtype)]
        return tf.function(_translate_windows, input_signature=signature, jit_compile=jit_compile)(x, t)

    return run


@settings(max_examples=12)  # nearly every example is a new shape: three XLA compilations each
@given(
    b=st.integers(0, 7),
    height=st.integers(1, 20),
    width=st.integers(1, 20),
    seed=st.integers(0, 2**31),
    spread=st.sampled_from([0.9, 5.0, 30.0, 1e6]),
    whole=st.booleans(),
    dtype=st.sampled_from([tf.float32, tf.float64]),
)
def test_both_xla_kernels_agree_with_numpy_reference(b, height, width, seed, spread, whole, dtype):
    """The row-window kernel (eager, under XLA, traced with the batch unknown in a graph and under
    XLA) and the row kernel equal the reference for any translation and batch (0 and 1 included):
    subpixel, whole-pixel, far out of frame, windows that run on into the neighbouring image,
    one-row and one-column images."""
    rng = np.random.default_rng(seed)
    images = rng.standard_normal((b, height, width, 2))
    t = rng.uniform(-spread, spread, (b, 2))
    t = np.round(t) if whole else t
    expected = np_translate(images, t)
    kernels = [_translate_rows, _translate_windows, _XLA_JIT, _unknown_batch(False), _unknown_batch(True)]
    x, s = tf.constant(images, dtype), tf.constant(t, dtype)
    for kernel in kernels:
        np.testing.assert_allclose(kernel(x, s).numpy(), expected, atol=1e-5, err_msg=f"{kernel} {dtype}")


def test_window_kernel_takes_int64_positions_for_stacks_beyond_int32(monkeypatch):
    """A stack of more than 2**31 pixels needs int64 flat positions; lowering the limit runs that
    path on a small stack."""
    import ptycho.tensors.translation.xla as warp

    rng = np.random.default_rng(4)
    images = rng.standard_normal((3, 7, 5, 2))
    t = rng.uniform(-6, 6, (3, 2))
    monkeypatch.setattr(warp, "_INT32_PIXELS", 10)
    got = _translate_windows(tf.constant(images), tf.constant(t)).numpy()
    np.testing.assert_allclose(got, np_translate(images, t), atol=1e-10)


@pytest.mark.parametrize("batch", [1, 2, 5])  # all images ends, or ends and interior
def test_window_kernel_gradients_match_the_row_kernel_and_finite_differences(batch):
    rng = np.random.default_rng(8)
    images = tf.constant(rng.standard_normal((batch, 11, 13, 2)))  # float64 for the finite differences
    offsets = [[0, 0], [-20, 2], [0, 30], [0.5, -0.5], [9, -3]]  # some out of frame
    t = tf.constant(rng.uniform(-3.5, 3.5, (batch, 2)) + offsets[:batch])
    weights = tf.constant(rng.standard_normal((batch, 11, 13, 2)))

    def loss(kernel, x, s):
        return tf.reduce_sum(kernel(x, s) * weights)

    grads = {}
    for kernel in (_translate_windows, _translate_rows):
        with tf.GradientTape() as tape:
            tape.watch([images, t])
            value = loss(kernel, images, t)
        grads[kernel] = [g.numpy() for g in tape.gradient(value, [images, t])]
    np.testing.assert_allclose(grads[_translate_windows][0], grads[_translate_rows][0], atol=1e-10)
    np.testing.assert_allclose(grads[_translate_windows][1], grads[_translate_rows][1], rtol=1e-8, atol=1e-10)
    numeric = _numeric_gradient(lambda s: loss(_translate_windows, images, s), t)
    np.testing.assert_allclose(grads[_translate_windows][1], numeric, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("batch", [None, 3])
def test_translate_xla_keeps_the_static_shape_while_tracing(batch):
    """A gather cannot always infer its output shape; the translation must not lose what the input
    says, or every contract downstream is deferred to run time instead of proved at trace time."""
    traced = tf.function(translate_xla).get_concrete_function(
        tf.TensorSpec([batch, 9, 11, 2]), tf.TensorSpec([batch, 2])
    )
    assert traced.structured_outputs.shape.as_list() == [batch, 9, 11, 2]


@settings(max_examples=12)  # a tf.function and an XLA compilation per example
@given(dims=stack_dims(), seed=st.integers(0, 2**31))
def test_flat_translation_matches_per_patch_reference_in_graph_modes(dims, seed):
    rng = np.random.default_rng(seed)
    b, n, c = dims["B"], dims["N"], dims["C"]
    images = rng.standard_normal((b, n, n, c)).astype("float32")
    offsets = rng.uniform(-3, 3, (b, 1, 2, c)).astype("float32")

    def flat_translate(x, o):
        return translate_xla(_channel_to_flat(x), flatten_offsets(o))

    expected = np.zeros((b * c, n, n, 1))
    for i in range(b):
        for j in range(c):
            expected[i * c + j] = np_translate(images[i : i + 1, :, :, j : j + 1], offsets[i, 0, :, j][None])[
                0
            ]
    sig = [tf.TensorSpec([None, n, n, c]), tf.TensorSpec([None, 1, 2, c])]
    for fn in (
        flat_translate,
        tf.function(flat_translate, input_signature=sig),
        tf.function(flat_translate, input_signature=sig, jit_compile=True),
    ):
        np.testing.assert_allclose(fn(tf.constant(images), tf.constant(offsets)).numpy(), expected, atol=1e-5)


@settings(max_examples=12)  # every example is a new shape: XLA compiles reassembly and extraction
@given(dims=stack_dims(max_offset_range=(1.0, 8.0)), seed=st.integers(0, 2**31))
def test_reassembly_of_a_common_object_and_extraction_round_trip(dims, seed):
    """Patches cut from one object at integer offsets: the canvas is the object, extraction returns them."""
    rng = np.random.default_rng(seed)
    b, n, c, m = dims["B"], dims["N"], dims["C"], dims["M"]
    limit = (m - n) // 2
    objects = rng.standard_normal((b, m, m)).astype("float32")
    offsets = rng.integers(-limit, limit + 1, (b, 1, 2, c)).astype("float32")
    patches = np.zeros((b, n, n, c), "float32")
    centre = (m - n) // 2
    for i in range(b):
        for j in range(c):
            x, y = int(offsets[i, 0, 0, j]), int(offsets[i, 0, 1, j])
            patches[i, :, :, j] = objects[i, centre + y : centre + y + n, centre + x : centre + x + n]
    for backend in ("xla", "v3"):
        canvas = reassemble_patches_position_real(
            tf.constant(patches), tf.constant(offsets), m, backend=backend
        ).numpy()
        assert canvas.shape == (b, m, m, 1)
        covered = canvas[..., 0] != 0
        np.testing.assert_allclose(canvas[..., 0][covered], objects[covered], atol=1e-5)
        back = extract_patches_position(tf.constant(canvas), tf.constant(offsets), n, backend=backend).numpy()
        np.testing.assert_allclose(back, np_channel_to_flat(patches), atol=1e-5)


@settings(max_examples=12)  # every example is a new shape: XLA compiles reassembly and extraction
@given(dims=stack_dims(max_offset_range=(1.0, 8.0)), seed=st.integers(0, 2**31))
def test_reassembly_with_a_support_averages_only_over_the_support(dims, seed):
    """Patches that are a common object on their central box and zero outside, reassembled with
    ``support`` = that box: the canvas is the object wherever a box covers it (no zeros averaged in)."""
    rng = np.random.default_rng(seed)
    b, n, c, m = dims["B"], dims["N"], dims["C"], dims["M"]
    support = n - 2 * (n // 4)
    lo = (n - support) // 2
    limit = (m - n) // 2
    objects = rng.uniform(1.0, 2.0, (b, m, m)).astype("float32")
    offsets = rng.integers(-limit, limit + 1, (b, 1, 2, c)).astype("float32")
    patches = np.zeros((b, n, n, c), "float32")
    box = np.zeros((b, m, m), bool)
    centre = (m - n) // 2
    for i in range(b):
        for j in range(c):
            x, y = centre + int(offsets[i, 0, 0, j]), centre + int(offsets[i, 0, 1, j])
            cut = objects[i, y : y + n, x : x + n]
            patches[i, lo : lo + support, lo : lo + support, j] = cut[lo : lo + support, lo : lo + support]
            box[i, y + lo : y + lo + support, x + lo : x + lo + support] = True
    for backend in ("xla", "v3"):
        canvas = reassemble_patches_position_real(
            tf.constant(patches), tf.constant(offsets), m, backend=backend, support=support
        ).numpy()[..., 0]
        np.testing.assert_allclose(canvas[box], objects[box], atol=1e-5)
        assert not canvas[~box].any()


def test_reassembly_refuses_a_support_larger_than_the_patch():
    with pytest.raises(ValueError, match="support must be in"):
        reassemble_patches_position_real(tf.zeros((1, 8, 8, 1)), tf.zeros((1, 1, 2, 1)), 10, support=10)


def test_batch_invariance_of_reassembly_and_extraction():
    rng = np.random.default_rng(11)
    patches = rng.standard_normal((7, 16, 16, 4)).astype("float32")
    offsets = rng.uniform(-4, 4, (7, 1, 2, 4)).astype("float32")
    whole = reassemble_patches_position_real(tf.constant(patches), tf.constant(offsets), 24).numpy()
    order = rng.permutation(7)
    shuffled = reassemble_patches_position_real(
        tf.constant(patches[order]), tf.constant(offsets[order]), 24
    ).numpy()
    np.testing.assert_allclose(shuffled, whole[order], atol=1e-6)
    for i in range(7):
        alone = reassemble_patches_position_real(
            tf.constant(patches[i : i + 1]), tf.constant(offsets[i : i + 1]), 24
        )
        np.testing.assert_allclose(alone.numpy()[0], whole[i], atol=1e-6)
    cut = (
        extract_patches_position(tf.constant(whole), tf.constant(offsets), 16)
        .numpy()
        .reshape(7, 4, 16, 16, 1)
    )
    cut_shuffled = extract_patches_position(
        tf.constant(whole[order]), tf.constant(offsets[order]), 16
    ).numpy()
    np.testing.assert_allclose(cut_shuffled.reshape(7, 4, 16, 16, 1), cut[order], atol=1e-6)
    alone = extract_patches_position(tf.constant(whole[3:4]), tf.constant(offsets[3:4]), 16).numpy()
    np.testing.assert_allclose(alone, cut[3], atol=1e-6)


def test_stitching_identical_overlapping_patches_reproduces_their_value():
    rng = np.random.default_rng(2)
    positions = rng.uniform(12, 52, (40, 1, 2, 1)).astype("float32")
    patches = np.full((40, 16, 16, 1), 1.7, "float32")
    for backend in ("xla", "v3"):
        obj = reassemble_position(patches, positions, (64, 64), backend=backend, chunk=16).numpy()
        assert obj.shape == (64, 64)
        np.testing.assert_allclose(obj[obj != 0], 1.7, rtol=1e-5)
        assert (obj != 0).mean() > 0.5


class TestSeedCase:
    """N=64, gridsize 2, batch 32, max offset 7."""

    def test_shapes(self):
        m = canvas_size(64, 7)
        assert m == 78
        rng = np.random.default_rng(0)
        patches = tf.constant(rng.standard_normal((32, 64, 64, 4)).astype("float32"))
        offsets = tf.constant(rng.uniform(-7, 7, (32, 1, 2, 4)).astype("float32"))
        assert _channel_to_flat(patches).shape == (128, 64, 64, 1)
        assert flatten_offsets(offsets).shape == (128, 2)
        assert reassemble_patches_position_real(patches, offsets, padded_size=m).shape == (32, 78, 78, 1)

    @pytest.mark.parametrize("traced", [False, True])
    def test_group_offsets_are_refused_naming_the_layout(self, traced):
        fn = tf.function(flatten_offsets) if traced else flatten_offsets
        with pytest.raises(ShapeContractError) as info:
            fn(tf.zeros([32, 2]))
        message = str(info.value)
        assert "expected:     Float[Tensor, 'B 1 2 C']  (channel offsets)" in message
        assert "rank is 2, the spec 'B 1 2 C' has 4 axes" in message

    def test_translation_batches_must_match(self):
        with pytest.raises(ShapeContractError, match="dim B is 32 at translations axis 0, but B = 128"):
            translate(tf.zeros([128, 8, 8, 1]), tf.zeros([32, 2]))

    def test_offsets_beyond_the_canvas_are_refused(self):
        with pytest.raises(
            ValueError,
            match=r"relative offset \[x, y\] = \[9, 9\] px of patch 0 in group 0 exceeds the canvas margin",
        ):
            reassemble_patches_position_real(tf.zeros([1, 64, 64, 4]), tf.fill([1, 1, 2, 4], 9.0), 78)


def np_stitch(
    patches: np.ndarray, positions: np.ndarray, shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Reference: every patch pixel (r, c) splatted bilinearly at object (x - (N-1)/2 + c,
    y - (N-1)/2 + r), the sum divided by the splatted ones; returns the object and the weights."""
    p, n = patches.shape[:2]
    height, width = shape
    grid = np.arange(n) - (n - 1) / 2
    ox = np.broadcast_to(positions[:, 0, None, None] + grid[None, None, :], (p, n, n))
    oy = np.broadcast_to(positions[:, 1, None, None] + grid[None, :, None], (p, n, n))
    x0, y0 = np.floor(ox).astype(int), np.floor(oy).astype(int)
    total = np.zeros(shape, np.complex128)
    weight = np.zeros(shape)
    for dy, wy in ((0, 1 - (oy - y0)), (1, oy - y0)):
        for dx, wx in ((0, 1 - (ox - x0)), (1, ox - x0)):
            yy, xx = y0 + dy, x0 + dx
            inside = (yy >= 0) & (yy < height) & (xx >= 0) & (xx < width)
            np.add.at(total, (yy[inside], xx[inside]), (patches[..., 0] * wy * wx)[inside])
            np.add.at(weight, (yy[inside], xx[inside]), (wy * wx)[inside])
    return np.where(weight > 1e-6, total / np.where(weight > 1e-6, weight, 1), 0), weight


@settings(max_examples=10)  # a new patch size compiles the placement kernel
@given(
    count=st.integers(1, 30),
    n=st.sampled_from([4, 8, 16]),
    height=st.integers(16, 40),
    width=st.integers(16, 40),
    chunk=st.sampled_from([None, 1, 7]),
    seed=st.integers(0, 2**31),
)
def test_stitching_agrees_with_a_numpy_reference_for_any_positions(count, n, height, width, chunk, seed):
    """Sub-pixel positions inside, across the edge of and far outside the object; any chunking."""
    rng = np.random.default_rng(seed)
    patches = (rng.standard_normal((count, n, n, 1)) + 1j * rng.standard_normal((count, n, n, 1))).astype(
        np.complex64
    )
    positions = rng.uniform(-2 * n, max(height, width) + 2 * n, (count, 2)).astype(np.float32)
    expected, weight = np_stitch(patches, positions, (height, width))
    got = reassemble_position(patches, positions.reshape(-1, 1, 2, 1), (height, width), chunk=chunk)
    got = got.numpy()
    solid = weight > 0.05  # where the reference's division is well conditioned
    np.testing.assert_allclose(got[solid], expected[solid], atol=2e-4, rtol=1e-4)
    np.testing.assert_array_equal(got[weight == 0], 0)
