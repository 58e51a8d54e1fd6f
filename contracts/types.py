"""Type aliases for the stack's tensors, written in the dims vocabulary (see ``_dims.py``).

``Inexact`` admits real and complex dtypes: reassembly and translation treat complex images as
their real and imaginary parts.
"""

from __future__ import annotations

import tensorflow as tf
from jaxtyping import Complex, Float, Inexact

ChannelImages = Float[tf.Tensor, "B N N C"]
FlatImages = Float[tf.Tensor, "B*C N N 1"]
ComplexChannelImages = Complex[tf.Tensor, "B N N C"]
ComplexFlatImages = Complex[tf.Tensor, "B*C N N 1"]
AnyChannelImages = Inexact[tf.Tensor, "B N N C"]
AnyFlatImages = Inexact[tf.Tensor, "B*C N N 1"]

ChannelOffsets = Float[tf.Tensor, "B 1 2 C"]
FlatOffsets = Float[tf.Tensor, "B*C 2"]
GroupOffsets = Float[tf.Tensor, "B 1 2 1"]

Canvas = Float[tf.Tensor, "B M M 1"]
ComplexCanvas = Complex[tf.Tensor, "B M M 1"]
AnyCanvas = Inexact[tf.Tensor, "B M M 1"]

__all__ = [
    "AnyCanvas",
    "AnyChannelImages",
    "AnyFlatImages",
    "Canvas",
    "ChannelImages",
    "ChannelOffsets",
    "ComplexCanvas",
    "ComplexChannelImages",
    "ComplexFlatImages",
    "FlatImages",
    "FlatOffsets",
    "GroupOffsets",
]
