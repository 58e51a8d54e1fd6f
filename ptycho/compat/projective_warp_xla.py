"""PtychoPINN's ``ptycho.projective_warp_xla``: homography warps and translation in pure TensorFlow.

The conventions are TensorFlow Addons' (and PtychoPINN's): output pixel ``(x, y)`` samples the
input at ``M @ [x, y, 1]`` divided by its third row, so a translation by ``[dx, dy]`` moves content
by ``+[dx, dy]``. Unlike PtychoPINN, a transform batch that differs from the image batch is refused:
PtychoPINN's ``translate_xla`` cycled the translations (modulo broadcast), which is how the
778752 incident's merged batch passed unnoticed.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from ..tensors.translation import translate_xla as _translate_bilinear
from ..tensors.translation.warp import FillMode, Interpolation
from ..tensors.translation.warp import projective_warp_xla as _warp

_INTERPOLATIONS = ("bilinear", "nearest")
_FILL_MODES = ("edge", "zeros")


def tfa_params_to_3x3(params: Any) -> tf.Tensor:
    """``[B, 8]`` TFA parameters ``[a0, a1, a2, b0, b1, b2, c0, c1]`` -> ``[B, 3, 3]`` matrices
    ``[[a0, a1, a2], [b0, b1, b2], [c0, c1, 1]]``, dtype kept."""
    params = tf.convert_to_tensor(params)
    if params.shape.rank != 2 or params.shape[-1] != 8:
        raise ValueError(f"params must have shape [B,8]; received shape {params.shape}")
    ones = tf.ones_like(params[:, :1])
    return tf.reshape(tf.concat([params, ones], axis=1), [-1, 3, 3])


def _as_eight(transforms: Any, dtype: tf.DType) -> tf.Tensor:
    """``[B, 8]`` parameters of ``[B, 8]`` or ``[B, 3, 3]`` transforms (a matrix divided by its
    ``M[2, 2]``, which must not be 0)."""
    transforms = tf.convert_to_tensor(transforms)
    shape = transforms.shape
    if shape.rank == 2 and shape[-1] == 8:
        return tf.cast(transforms, dtype)
    if shape.rank == 3 and shape[1:] == (3, 3):
        m = tf.cast(transforms, dtype)
        corner = m[:, 2, 2]
        tf.debugging.assert_none_equal(
            corner, tf.zeros_like(corner), message="projective_warp_xla: a transform has M[2,2] == 0"
        )
        m = m / corner[:, None, None]
        return tf.reshape(m, [-1, 9])[:, :8]
    raise ValueError(f"transforms must be [B,3,3] or [B,8]; received shape {shape}")


def _check_batches(where: str, images: tf.Tensor, other: tf.Tensor, what: str) -> None:
    """The same batch for images and transforms, statically when known and at run time otherwise."""
    b, t = images.shape[0], other.shape[0]
    message = (
        f"{where}: {what} has batch {t} but the images have batch {b}; one {what[:-1]} per image is "
        "required (PtychoPINN cycled or repeated them, pairing images with the wrong rows)"
    )
    if b is not None and t is not None:
        if b != t:
            raise ValueError(message)
        return
    tf.debugging.assert_equal(tf.shape(images)[0], tf.shape(other)[0], message=message)


def _compute_dtype(dtype: tf.DType) -> tf.DType:
    if dtype in (tf.float64, tf.complex128, tf.float32, tf.complex64):
        return dtype
    if dtype.is_integer or dtype in (tf.float16, tf.bfloat16):
        return tf.float32
    raise TypeError(f"projective_warp_xla: images of dtype {dtype.name} cannot be warped")


def projective_warp_xla(
    images: Any, transforms: Any, *, interpolation: str = "bilinear", fill_mode: str = "edge"
) -> tf.Tensor:
    """Warp NHWC ``images`` by ``[B, 8]`` or ``[B, 3, 3]`` transforms; the output has the images'
    shape and dtype (integer, float16 and bfloat16 images are computed in float32)."""
    images = tf.convert_to_tensor(images)
    if images.shape.rank != 4:
        raise ValueError(f"images must be rank 4 [B,H,W,C]; received shape {images.shape}")
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"interpolation must be 'bilinear' or 'nearest'; received: {interpolation!r}")
    if fill_mode not in _FILL_MODES:
        raise ValueError(f"fill_mode must be 'edge' or 'zeros'; received: {fill_mode!r}")
    compute = _compute_dtype(images.dtype)
    params = _as_eight(transforms, compute.real_dtype)
    _check_batches("projective_warp_xla", images, params, "transforms")
    interp: Interpolation = "nearest" if interpolation == "nearest" else "bilinear"
    fill: FillMode = "edge" if fill_mode == "edge" else "zeros"
    out = _warp(tf.cast(images, compute), params, interpolation=interp, fill_mode=fill)
    if out.dtype != images.dtype:
        out = tf.cast(tf.round(out) if images.dtype.is_integer else out, images.dtype)
    return out


@tf.function(jit_compile=True)
def _warp_jit(images: tf.Tensor, transforms: tf.Tensor, interpolation: str, fill_mode: str) -> tf.Tensor:
    return projective_warp_xla(images, transforms, interpolation=interpolation, fill_mode=fill_mode)


def projective_warp_xla_jit(
    images: Any, transforms: Any, interpolation: str = "bilinear", fill_mode: str = "edge"
) -> tf.Tensor:
    """``projective_warp_xla`` compiled by XLA (``interpolation`` and ``fill_mode`` are constants)."""
    return _warp_jit(tf.convert_to_tensor(images), tf.convert_to_tensor(transforms), interpolation, fill_mode)


def translate_xla(
    images: Any, translations: Any, interpolation: str = "bilinear", use_jit: bool = True
) -> tf.Tensor:
    """Move each image's content by ``+[dx, dy]`` (x along the width), zero fill; ``translations``
    ``[B, 2]``, one row per image. Complex images keep their dtype (complex128 included)."""
    images = tf.convert_to_tensor(images)
    translations = tf.convert_to_tensor(translations)
    if translations.shape.rank != 2 or translations.shape[-1] != 2:
        raise ValueError(
            f"translate_xla: translations must be [B,2] ([dx, dy]); received shape {translations.shape}"
        )
    if images.shape.rank != 4:
        raise ValueError(f"translate_xla: images must be rank 4 [B,H,W,C]; received shape {images.shape}")
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(
            f"translate_xla: interpolation must be 'bilinear' or 'nearest'; received: {interpolation!r}"
        )
    _check_batches("translate_xla", images, translations, "translations")
    real = translations.dtype.real_dtype if translations.dtype.is_complex else translations.dtype
    if translations.dtype.is_complex:
        translations = tf.math.real(translations)
    if not real.is_floating:
        translations = tf.cast(translations, tf.float32)
    if interpolation == "bilinear" and images.dtype in (tf.float32, tf.float64, tf.complex64, tf.complex128):
        return _translate_bilinear(images, tf.cast(translations, images.dtype.real_dtype))
    zero = tf.zeros_like(translations[:, :1])
    one = tf.ones_like(zero)
    dx, dy = translations[:, :1], translations[:, 1:]
    params = tf.concat([one, zero, -dx, zero, one, -dy, zero, zero], axis=1)
    warp = projective_warp_xla_jit if use_jit else projective_warp_xla
    return warp(images, params, interpolation=interpolation, fill_mode="zeros")
