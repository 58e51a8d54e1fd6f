"""Translation of image stacks, with an explicit backend choice.

Backends (same sign, fill and interpolation; shared/CONVENTIONS.md):

* ``"xla"``: ``projective_warp_xla.translate_xla``, pure TensorFlow ops, compiled with XLA;
* ``"v3"``: ``ImageProjectiveTransformV3`` (no XLA kernel), with the transform
  ``[1, 0, -t_x, 0, 1, -t_y, 0, 0]`` so that content moves by ``+t``.

``backend="auto"`` asks ``should_use_xla()``, which reads, in order, ``USE_XLA_TRANSLATE`` (the seed's
environment switch; 0/false/no disables, 1/true/yes enables), ``params.cfg['use_xla_translate']``, and
defaults to XLA. Each decision is recorded with the source that decided it and the function being
traced, so diagnostics can show which backend a graph was built with.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

import tensorflow as tf
from jaxtyping import Float, Inexact

from contracts import contract

from .projective_warp_xla import translate_xla

Backend = Literal["auto", "xla", "v3"]
ENV_VAR = "USE_XLA_TRANSLATE"
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


@dataclass(frozen=True)
class BackendDecision:
    """Which translation backend was chosen, by which source, while tracing what."""

    use_xla: bool
    source: str  # "argument", "environment USE_XLA_TRANSLATE='0'", "params.cfg", "default"
    graph: str  # name of the graph being built, "eager" outside tf.function


DECISIONS: list[BackendDecision] = []


def _graph_name() -> str:
    if tf.executing_eagerly():
        return "eager"
    return getattr(tf.compat.v1.get_default_graph(), "name", "graph")


def should_use_xla() -> BackendDecision:
    """Decide the backend for ``backend="auto"``: environment > params.cfg > XLA."""
    raw = os.environ.get(ENV_VAR)
    if raw is not None and raw.strip() != "":
        value = raw.strip().lower()
        if value not in _TRUE + _FALSE:
            raise ValueError(
                f"{ENV_VAR} must be one of {', '.join(_TRUE + _FALSE)}; received: {ENV_VAR}={raw!r}"
            )
        decision = BackendDecision(value in _TRUE, f"environment {ENV_VAR}={raw!r}", _graph_name())
    else:
        from . import params  # the legacy view is read here only: the documented XLA switch

        configured = params.cfg.get("use_xla_translate")
        if configured is None:
            decision = BackendDecision(True, "default", _graph_name())
        else:
            decision = BackendDecision(bool(configured), "params.cfg['use_xla_translate']", _graph_name())
    DECISIONS.append(decision)
    return decision


def resolve_backend(backend: Backend) -> Literal["xla", "v3"]:
    if backend == "auto":
        return "xla" if should_use_xla().use_xla else "v3"
    if backend not in ("xla", "v3"):
        raise ValueError(f"translate: backend must be 'auto', 'xla' or 'v3'; received: backend={backend!r}")
    DECISIONS.append(BackendDecision(backend == "xla", "argument", _graph_name()))
    return backend


@contract
def translate_v3(
    images: Inexact[tf.Tensor, "B H W C"], translations: Float[tf.Tensor, "B 2"]
) -> Inexact[tf.Tensor, "B H W C"]:
    """Move content by ``+t`` with ImageProjectiveTransformV3 (bilinear, zero fill); not XLA-compilable."""
    if images.dtype.is_complex:
        real = translate_v3(tf.math.real(images), translations)
        imag = translate_v3(tf.math.imag(images), translations)
        return tf.complex(real, imag)
    t = tf.cast(translations, tf.float32)
    b = tf.shape(t)[0]
    ones, zeros = tf.ones([b, 1]), tf.zeros([b, 1])
    transforms = tf.concat([ones, zeros, -t[:, :1], zeros, ones, -t[:, 1:], zeros, zeros], axis=1)
    out = tf.raw_ops.ImageProjectiveTransformV3(
        images=tf.cast(images, tf.float32) if images.dtype != tf.float32 else images,
        transforms=transforms,
        output_shape=tf.shape(images)[1:3],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )
    return tf.cast(out, images.dtype)


@contract
def translate_core(
    images: Inexact[tf.Tensor, "B H W C"], translations: Float[tf.Tensor, "B 2"], use_xla: bool
) -> Inexact[tf.Tensor, "B H W C"]:
    """The backend call itself, with the choice already made."""
    return translate_xla(images, translations) if use_xla else translate_v3(images, translations)


@contract
def translate(
    images: Inexact[tf.Tensor, "B H W C"],
    translations: Float[tf.Tensor, "B 2"],
    backend: Backend = "auto",
) -> Inexact[tf.Tensor, "B H W C"]:
    """Move each image's content by ``+[t_x, t_y]`` pixels; the batches must be equal (no broadcasting)."""
    return translate_core(images, translations, resolve_backend(backend) == "xla")
