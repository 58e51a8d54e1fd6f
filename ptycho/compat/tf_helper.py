"""PtychoPINN's ``ptycho.tf_helper``: translation, layouts, per-group reassembly and stitching.

Relative offsets here have PtychoPINN's sign (``centroid - position``, layout ``(B, 1, 2, C)`` with
``[x, y]`` on axis 2): extraction translates the canvas by ``+offset`` and reassembly the patches by
``-offset``, as PtychoPINN's XLA path did. Every translation moves content by ``+t`` whichever
kernel runs (PtychoPINN's non-XLA path moved it by ``-t``), and nothing is broadcast: one
translation per image, one canvas per group at every batch size (PtychoPINN merged the batch into
one canvas once ``B*C >= 64``: the 778752 incident). Sizes left as None are read from the legacy
dict ``ptycho.params.cfg`` where PtychoPINN read them there.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from .. import params as _params
from ..tensors import layouts as _layouts
from ..tensors import margin as _margin
from ..tensors import reassembly as _reassembly
from ..tensors.stitching import reassemble_position as _stitch
from ..tensors.translation import Backend
from ..tensors.translation import should_use_xla as _decide
from ..tensors.translation import translate_core as _translate_core
from .projective_warp_xla import _check_batches, translate_xla

_TRANSLATE_KWARGS = ("interpolation", "use_xla_workaround")


# --- translation -----------------------------------------------------------------------------------


def should_use_xla() -> bool:
    """``USE_XLA_TRANSLATE``, then ``params.cfg['use_xla_translate']``, then True."""
    return _decide().use_xla


def _real_translations(translations: Any) -> tf.Tensor:
    t = tf.convert_to_tensor(translations)
    if t.dtype.is_complex:
        t = tf.math.real(t)
    return tf.cast(t, tf.float32) if not t.dtype.is_floating else t


def translate_core(
    images: Any, translations: Any, interpolation: str = "bilinear", use_xla_workaround: bool = False
) -> tf.Tensor:
    """Move each image's content by ``+[dx, dy]``: ``images`` ``(B, H, W, C)``, ``translations``
    ``(B, 2)``. ``use_xla_workaround`` forces the XLA kernel; otherwise ``should_use_xla()`` decides
    (as in PtychoPINN). Both kernels give the same result here."""
    images = tf.convert_to_tensor(images)
    t = _real_translations(translations)
    if t.shape.rank != 2 or t.shape[-1] != 2:
        raise ValueError(f"translate_core: translations must be (B, 2) [dx, dy]; received shape {t.shape}")
    _check_batches("translate_core", images, t, "translations")
    if interpolation == "nearest":
        return translate_xla(images, t, interpolation="nearest")
    if interpolation != "bilinear":
        raise ValueError(
            f"translate_core: interpolation must be 'bilinear' or 'nearest'; received: {interpolation!r}"
        )
    backend: Backend = "xla" if use_xla_workaround or should_use_xla() else "v3"
    if images.dtype == tf.complex128 or images.dtype == tf.float64:
        return translate_xla(images, t)  # the v3 kernel has no float64; XLA's keeps the precision
    return _translate_core(images, tf.cast(t, tf.float32), backend)


def translate(imgs: Any, offsets: Any, **kwargs: Any) -> tf.Tensor:
    """``translate_core`` with keyword arguments ``interpolation`` and ``use_xla_workaround``; complex
    images keep their dtype (PtychoPINN cast complex128 to complex64)."""
    unknown = sorted(set(kwargs) - set(_TRANSLATE_KWARGS))
    if unknown:
        raise TypeError(
            f"translate: unexpected keyword arguments {unknown}; known: {', '.join(_TRANSLATE_KWARGS)}"
        )
    return translate_core(imgs, offsets, **kwargs)


@keras.saving.register_keras_serializable(package="ptycho_compat")
class Translation(keras.layers.Layer):
    """``call([imgs, offsets])`` or ``call([imgs, offsets, jitter_stddev])``: ``translate_core``
    (bilinear) of each image by its offset plus Gaussian noise of ``jitter_stddev`` pixels. A
    ``jitter_stddev`` given in the call applies to that call only (PtychoPINN's overwrote the
    layer's own for every later call)."""

    def __init__(self, jitter_stddev: float = 0.0, use_xla: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.jitter_stddev = float(jitter_stddev)
        self.use_xla = bool(use_xla)

    def call(self, inputs: Any) -> tf.Tensor:
        if not isinstance(inputs, (list, tuple)) or len(inputs) not in (2, 3):
            raise ValueError("Translation: call with [imgs, offsets] or [imgs, offsets, jitter_stddev]")
        imgs, offsets = inputs[0], _real_translations(inputs[1])
        jitter = inputs[2] if len(inputs) == 3 else self.jitter_stddev
        if not (isinstance(jitter, (int, float)) and jitter == 0):
            offsets = offsets + tf.random.normal(tf.shape(offsets), stddev=tf.cast(jitter, offsets.dtype))
        return translate_core(imgs, offsets, use_xla_workaround=self.use_xla)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "jitter_stddev": self.jitter_stddev, "use_xla": self.use_xla}


# --- complex helpers and simple layers --------------------------------------------------------------


def is_complex_tensor(tensor: Any) -> bool:
    return bool(tf.convert_to_tensor(tensor).dtype.is_complex)


def separate_real_imag(tensor: Any) -> tuple[tf.Tensor, tf.Tensor]:
    tensor = tf.convert_to_tensor(tensor)
    return tf.math.real(tensor), tf.math.imag(tensor)


def combine_real_imag(real: Any, imag: Any) -> tf.Tensor:
    """``real + i imag`` in the matching complex dtype (float64 parts give complex128)."""
    return tf.complex(tf.convert_to_tensor(real), tf.convert_to_tensor(imag))


def separate_amp_phase(tensor: Any) -> tuple[tf.Tensor, tf.Tensor]:
    tensor = tf.convert_to_tensor(tensor)
    return tf.math.abs(tensor), tf.math.angle(tensor)


def combine_complex(amp: Any, phi: Any) -> tf.Tensor:
    """``amp * exp(i phi)`` as complex64."""
    amp = tf.cast(tf.convert_to_tensor(amp), tf.float32)
    phi = tf.cast(tf.convert_to_tensor(phi), tf.float32)
    return tf.complex(amp * tf.cos(phi), amp * tf.sin(phi))


def get_mask(input: Any, support_threshold: float) -> tf.Tensor:
    """1 where ``input > support_threshold``, else 0, in the input's dtype."""
    input = tf.convert_to_tensor(input)
    return tf.cast(input > support_threshold, input.dtype)


def pad_obj(input: Any, h: int, w: int) -> tf.Tensor:
    """Zero-pad ``(B, h, w, C)`` by ``h // 4`` rows and ``w // 4`` columns on each side."""
    input = tf.convert_to_tensor(input)
    return tf.pad(input, [[0, 0], [h // 4, h // 4], [w // 4, w // 4], [0, 0]])


def pad_and_diffract(input: Any, h: int, w: int, pad: bool = True) -> tuple[tf.Tensor, tf.Tensor]:
    """``(padded, amplitude)``: the exit waves ``(B, h, w, 1)`` (optionally ``pad_obj``-padded) and
    their diffraction amplitude ``sqrt(fftshift(|FFT2|^2) / (h w))``, ``(B, h', w', 1)`` float32."""
    input = tf.convert_to_tensor(input)
    if input.shape.rank != 4 or input.shape[-1] != 1 or tuple(input.shape[1:3]) != (h, w):
        raise ValueError(f"pad_and_diffract: input must be (B, {h}, {w}, 1); received shape {input.shape}")
    padded = pad_obj(input, h, w) if pad else input
    waves = tf.cast(padded[..., 0], tf.complex64)
    intensity = tf.math.abs(tf.signal.fft2d(waves)) ** 2 / float(h * w)
    amplitude = tf.sqrt(tf.signal.fftshift(intensity, axes=(1, 2)))
    return padded, amplitude[..., None]


def mk_centermask(inputs: Any, N: int, c: int, kind: str = "center") -> tf.Tensor:
    """Ones on the central ``N/2 x N/2`` of ``(B, N, N, c)`` (``kind="border"``: one minus that)."""
    if kind not in ("center", "border"):
        raise ValueError(f"mk_centermask: kind must be 'center' or 'border'; received: {kind!r}")
    b = tf.shape(tf.convert_to_tensor(inputs))[0]
    quarter = N // 4
    inner = tf.ones([b, N // 2, N // 2, c], tf.float32)
    mask = tf.pad(inner, [[0, 0], [quarter, N - N // 2 - quarter], [quarter, N - N // 2 - quarter], [0, 0]])
    return mask if kind == "center" else 1.0 - mask


# --- layouts ---------------------------------------------------------------------------------------


def _or_param(value: int | None, key: str) -> int:
    return int(_params.get(key)) if value is None else int(value)


def _togrid(img: Any, gridsize: int | None = None, N: int | None = None) -> tf.Tensor:
    """Flat ``(B*C, N, N, 1)`` -> grid ``(B, g, g, N, N, 1)``."""
    g, n = _or_param(gridsize, "gridsize"), _or_param(N, "N")
    img = tf.convert_to_tensor(img)
    _check_rows("_togrid", img, g * g, (n, n, 1))
    return tf.reshape(img, [-1, g, g, n, n, 1])


def togrid(*imgs: Any) -> tuple[tf.Tensor, ...]:
    return tuple(_togrid(img) for img in imgs)


def _grid_to_channel(grid: Any) -> tf.Tensor:
    """Grid ``(B, g, g, N, N, 1)`` -> channel ``(B, N, N, g^2)`` (channel ``c`` = row ``c // g``,
    column ``c % g``)."""
    grid = tf.convert_to_tensor(grid)
    if grid.shape.rank != 6 or grid.shape[-1] != 1:
        raise ValueError(f"_grid_to_channel: grid must be (B, g, g, N, N, 1); received shape {grid.shape}")
    g, n = grid.shape[1], grid.shape[3]
    return tf.reshape(tf.transpose(grid[..., 0], [0, 3, 4, 1, 2]), [-1, n, n, g * g])


def grid_to_channel(*grids: Any) -> tuple[tf.Tensor, ...]:
    return tuple(_grid_to_channel(grid) for grid in grids)


def _check_rows(where: str, img: tf.Tensor, c: int, inner: tuple[int, ...]) -> None:
    if tuple(img.shape[1:]) != inner:
        raise ValueError(f"{where}: expected (B*C, {', '.join(map(str, inner))}); received shape {img.shape}")
    rows = img.shape[0]
    if rows is not None and rows % c:
        raise ValueError(
            f"{where}: {rows} patches do not form whole groups of C = {c} (the rows would be "
            "regrouped across groups)"
        )


def _flat_to_channel(img: Any, N: int | None = None, gridsize: int | None = None) -> tf.Tensor:
    """Flat ``(B*C, N, N, 1)`` -> channel ``(B, N, N, C)`` (sample-major rows ``b*C + c``)."""
    g, n = _or_param(gridsize, "gridsize"), _or_param(N, "N")
    img = tf.convert_to_tensor(img)
    _check_rows("_flat_to_channel", img, g * g, (n, n, 1))
    return _layouts._flat_to_channel(img, g * g)


def _channel_to_flat(img: Any) -> tf.Tensor:
    """Channel ``(B, H, W, C)`` -> flat ``(B*C, H, W, 1)``, sample-major."""
    return _layouts._channel_to_flat(tf.convert_to_tensor(img))


def channel_to_flat(*imgs: Any) -> tuple[tf.Tensor, ...]:
    return tuple(_channel_to_flat(img) for img in imgs)


def flat_to_channel(*imgs: Any, N: int | None = None) -> tuple[tf.Tensor, ...]:
    return tuple(_flat_to_channel(img, N=N) for img in imgs)


def flatten_offsets(offs: Any) -> tf.Tensor:
    """Channel offsets ``(B, 1, 2, C)`` -> ``(B*C, 2)``, sample-major."""
    return _layouts.flatten_offsets(tf.convert_to_tensor(offs))


def pad(imgs: Any, size: int) -> tf.Tensor:
    """Zero-pad ``size`` pixels on each side of H and W."""
    return tf.pad(tf.convert_to_tensor(imgs), [[0, 0], [size, size], [size, size], [0, 0]])


def pad_patches(imgs: Any, padded_size: int | None = None, N: int | None = None) -> tf.Tensor:
    """Zero-pad ``(B, N, N, C)`` patches to ``padded_size`` (default ``params.get_padded_size()``)."""
    imgs = tf.convert_to_tensor(imgs)
    size = _params.get_padded_size() if padded_size is None else int(padded_size)
    n = imgs.shape[1] if N is None else int(N)
    if imgs.shape[1] is not None and imgs.shape[1] != n:
        raise ValueError(f"pad_patches: N={n} but the patches are {imgs.shape[1]} x {imgs.shape[2]}")
    return _reassembly.pad_patches(imgs, size)


def trim_reconstruction(x: Any, N: int | None = None) -> tf.Tensor:
    """The central ``N x N`` (default ``params N``) of ``(B, M, M, C)``; ``M == N`` returns ``x``
    (PtychoPINN returned an empty tensor) and an odd ``M - N`` is refused (it returned N + 1)."""
    x = tf.convert_to_tensor(x)
    n = _or_param(N, "N")
    m = x.shape[1]
    if m is not None and (m < n or (m - n) % 2):
        raise ValueError(f"trim_reconstruction: M - N must be even and >= 0; received M={m}, N={n}")
    return x if m == n else _reassembly.trim_reconstruction(x, n)


def pad_reconstruction(channels: Any) -> tf.Tensor:
    """Channel patches -> flat, padded to ``params.get_padded_size()``."""
    return pad_patches(_channel_to_flat(channels))


# --- per-group reassembly and extraction (PtychoPINN's offset sign) --------------------------------


def _channel_offsets(offsets_xy: Any, c: int | None, where: str) -> tf.Tensor:
    offsets = _real_translations(offsets_xy)
    if offsets.shape.rank != 4 or offsets.shape[1] != 1 or offsets.shape[2] != 2:
        raise ValueError(f"{where}: offsets must be (B, 1, 2, C) [x; y]; received shape {offsets.shape}")
    if c is not None and offsets.shape[3] is not None and offsets.shape[3] != c:
        raise ValueError(f"{where}: offsets have C={offsets.shape[3]} channels; the patches have C={c}")
    return tf.cast(offsets, tf.float32)


def _stack_offsets(offsets: tf.Tensor) -> tf.Tensor:
    """PtychoPINN's ``centroid - position`` -> the stack's ``position - centroid``."""
    return -offsets


def _reassemble_patches_position_real(
    imgs: Any, offsets_xy: Any, agg: bool = True, padded_size: int | None = None, **kwargs: Any
) -> tf.Tensor:
    """Channel patches ``(B, N, N, C)`` placed at ``-offsets`` on a canvas of ``padded_size``
    (default ``params.get_padded_size()``): summed over the group, ``(B, P, P, 1)``, with ``agg``;
    one canvas per patch ``(B, P, P, C)`` without. Overlaps are summed, not averaged, as in
    PtychoPINN."""
    if set(kwargs) - {"average"} or kwargs.get("average"):
        raise TypeError(
            f"_reassemble_patches_position_real: unsupported keyword arguments {sorted(kwargs)} "
            "(PtychoPINN ignored them, 'average' included)"
        )
    imgs = tf.convert_to_tensor(imgs)
    size = _params.get_padded_size() if padded_size is None else int(padded_size)
    offsets = _stack_offsets(_channel_offsets(offsets_xy, imgs.shape[3], "_reassemble_patches_position_real"))
    _check_batches("_reassemble_patches_position_real", imgs, offsets, "offsets")
    if imgs.shape[1] is not None:
        _margin.check(offsets, int(imgs.shape[1]), size)  # refused, never clipped off the canvas
    flat = _reassembly.pad_patches(_layouts._channel_to_flat(imgs), size)
    moved = translate_core(flat, _layouts.flatten_offsets(offsets))
    per_patch = _layouts._flat_to_channel(moved, imgs.shape[3] or tf.shape(imgs)[3])
    return tf.reduce_sum(per_patch, axis=3, keepdims=True) if agg else per_patch


def _reassemble_position_batched(
    imgs: Any,
    offsets_xy: Any,
    padded_size: int | None = None,
    batch_size: int = 64,
    agg: bool = True,
    average: bool = False,
    N: int | None = None,
    gridsize: int | None = None,
    **kwargs: Any,
) -> tf.Tensor:
    """``_reassemble_patches_position_real`` at every batch size: ``(B, P, P, 1)``, one canvas per
    group (PtychoPINN's version summed all groups into one canvas once ``B*C >= batch_size``)."""
    if not (isinstance(batch_size, int) and batch_size >= 1):
        raise ValueError(
            f"_reassemble_position_batched: batch_size must be an int >= 1; received {batch_size!r}"
        )
    imgs = tf.convert_to_tensor(imgs)
    if N is not None and imgs.shape[1] is not None and imgs.shape[1] != N:
        raise ValueError(f"_reassemble_position_batched: N={N} but the patches are {imgs.shape[1]} wide")
    if gridsize is not None and imgs.shape[3] is not None and gridsize**2 != imgs.shape[3]:
        raise ValueError(
            f"_reassemble_position_batched: gridsize={gridsize} but the patches have C={imgs.shape[3]}"
        )
    out = _reassemble_patches_position_real(
        imgs, offsets_xy, agg=agg, padded_size=padded_size, average=average, **kwargs
    )
    tf.debugging.assert_equal(
        tf.shape(out)[0], tf.shape(tf.convert_to_tensor(imgs))[0], message="reassembly changed the batch"
    )
    return out


def mk_reassemble_position_real(input_positions: Any, **outer_kwargs: Any) -> Callable[..., tf.Tensor]:
    """``fn(imgs, **kw)``: ``_reassemble_patches_position_real(imgs, input_positions, **outer, **kw)``."""

    def reassemble(imgs: Any, **kwargs: Any) -> tf.Tensor:
        return _reassemble_patches_position_real(imgs, input_positions, **{**outer_kwargs, **kwargs})

    return reassemble


def mk_reassemble_position_batched_real(
    input_positions: Any, batch_size: int = 64, **outer_kwargs: Any
) -> Callable[..., tf.Tensor]:
    def reassemble(imgs: Any, **kwargs: Any) -> tf.Tensor:
        merged = {**outer_kwargs, **kwargs}
        size = merged.pop("padded_size", None)
        return _reassemble_position_batched(imgs, input_positions, size, batch_size=batch_size, **merged)

    return reassemble


def extract_patches_position(
    imgs: Any, offsets_xy: Any, jitter: float = 0.0, N: int | None = None, gridsize: int | None = None
) -> tf.Tensor:
    """Cut the C patches of each group from its canvas ``(B, M, M, 1)`` at ``+offsets``: flat
    ``(B*C, N, N, 1)`` (what PtychoPINN returned, whatever its docstring said). ``jitter``: the
    standard deviation of Gaussian noise added to the offsets (pixels)."""
    imgs = tf.convert_to_tensor(imgs)
    n, g = _or_param(N, "N"), _or_param(gridsize, "gridsize")
    if imgs.shape.rank != 4 or imgs.shape[-1] != 1:
        raise ValueError(f"extract_patches_position: imgs must be (B, M, M, 1); received shape {imgs.shape}")
    offsets = _channel_offsets(offsets_xy, g * g, "extract_patches_position")
    _check_batches("extract_patches_position", imgs, offsets, "offsets")
    if jitter:
        offsets = offsets + tf.random.normal(tf.shape(offsets), stddev=float(jitter))
    if imgs.shape[1] is not None:
        _margin.check(offsets, n, int(imgs.shape[1]))  # a patch reaching off the canvas is refused
    spread = _layouts.repeat_per_patch(imgs, offsets)  # (B*C, M, M, 1), sample-major
    moved = translate_core(spread, _layouts.flatten_offsets(offsets))
    return trim_reconstruction(moved, n)


def center_channels(channels: Any, offsets_xy: Any) -> tf.Tensor:
    """Translate each channel by ``-offset`` (its content back to the group centre); channel layout."""
    channels = tf.convert_to_tensor(channels)
    offsets = _channel_offsets(offsets_xy, channels.shape[3], "center_channels")
    moved = translate_core(_layouts._channel_to_flat(channels), -_layouts.flatten_offsets(offsets))
    return _layouts._flat_to_channel(moved, channels.shape[3])


# --- stitching a data set --------------------------------------------------------------------------


def _stitch_offsets(global_offsets: Any, count: int) -> np.ndarray:
    offsets = np.asarray(global_offsets)
    if offsets.ndim != 4 or offsets.shape[1:] not in ((1, 2, 1), (1, 1, 2)):
        raise ValueError(
            f"reassemble_position: global_offsets must be (n, 1, 2, 1) or (n, 1, 1, 2) [x, y]; "
            f"received shape {offsets.shape}"
        )
    if offsets.dtype.kind not in "fi":
        raise ValueError(
            f"reassemble_position: global_offsets must be real numbers; received {offsets.dtype}"
        )
    if offsets.shape[0] != count:
        raise ValueError(
            f"reassemble_position: {count} patches but {offsets.shape[0]} offsets; one offset per patch "
            "is required (PtychoPINN sliced them misaligned; with object_big=False at gridsize > 1 the "
            "model gives B*C patches for B groups)"
        )
    return offsets.reshape(count, 2).astype(np.float64)


def _stitch_patches(obj_tensor: Any, M: int) -> tf.Tensor:
    obj = tf.convert_to_tensor(obj_tensor)
    if obj.shape.rank != 4 or obj.shape[-1] != 1 or obj.shape[1] != obj.shape[2]:
        raise ValueError(f"reassemble_position: obj_tensor must be (n, N, N, 1); received shape {obj.shape}")
    if obj.dtype == tf.complex128:
        raise ValueError("reassemble_position: obj_tensor is complex128; pass complex64 (no silent downcast)")
    n = int(obj.shape[1])
    if not (isinstance(M, (int, np.integer)) and 0 < M <= n and M % 2 == 0):
        raise ValueError(
            f"reassemble_position: M must be an even int in (0, N={n}] "
            "(PtychoPINN cropped an odd M to M - 1); "
            f"received: M={M!r}"
        )
    start = n // 2 - M // 2
    return tf.cast(obj[:, start : start + M, start : start + M, :], tf.complex64)


def reassemble_position(obj_tensor: Any, global_offsets: Any, M: int = 10) -> tf.Tensor:
    """Stitch the central ``M x M`` of every patch ``(n, N, N, 1)`` at its group position
    ``global_offsets`` (``(n, 1, 2, 1)`` or ``(n, 1, 1, 2)``, ``[x, y]``) into one object
    ``(P, P, 1)`` complex64, overlaps averaged, uncovered pixels 0. The positions are centred on
    their mean and ``P = M + 2 * pad``, ``pad`` the largest centred offset rounded up to even."""
    patches = _stitch_patches(obj_tensor, M)
    offsets = _stitch_offsets(global_offsets, int(patches.shape[0]))
    centred = offsets - offsets.mean(axis=0)
    margin = math.ceil(float(np.abs(centred).max())) if len(centred) else 0
    margin += margin % 2
    side = M + 2 * margin
    at = centred + (side - 1) / 2  # each crop's centre, in canvas pixels
    stitched = _stitch(patches, at.reshape(-1, 1, 2, 1), (side, side))
    return tf.cast(stitched, tf.complex64)[..., None]
