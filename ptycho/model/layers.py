"""The PINN's physics layers: each closed over its own config, contracted, serialisable.

Every layer's ``compute_output_shape`` depends only on the input shape and the layer's settings,
keeps the batch dim (``B*C`` where the flat layout begins), and is checked against ``call``'s
contract while the model is built (``contracts.keras_layer.ContractedLayer``).
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf
from jaxtyping import Complex, Float

from contracts import contract, in_xla_context
from contracts.keras_layer import ContractedLayer

from ..config.config import Backend
from ..physics.probe import disk_mask
from ..tensors import margin
from ..tensors.layouts import _flat_to_channel
from ..tensors.reassembly import (
    extract_patches_position,
    reassemble_patches_position_real,
    trim_reconstruction,
)
from ..tensors.translation import check_backend
from ..tensors.vocabulary import (
    ChannelImages,
    ChannelOffsets,
    ComplexCanvas,
    ComplexChannelImages,
    ComplexFlatImages,
)

PACKAGE = "ptycho"


def _times(a: int | None, b: int) -> int | None:
    return None if a is None else a * b


class _EmptyBatchSafe:
    """A Keras layer that gives an empty batch empty output of the shape it computes.

    TensorFlow 2.21's oneDNN kernels on CPU mishandle an empty batch (B = 0, an empty replica's
    share under ``tf.distribute``, which CONVENTIONS.md allows): the convolution returns its input
    unchanged (``(0, 16, 16, 4)`` through 64 filters stays ``(0, 16, 16, 4)``; the bias add then
    fails with ``Incompatible shapes: [0,16,16,4] vs. [1,1,1,64]``, and under a strategy an empty
    replica fails far from here), and the max-pooling gradient aborts the process
    (``Check failed: dtype() == expected_dtype`` in ``MklMaxPoolingGradOp``). XLA and
    ``TF_ENABLE_ONEDNN_OPTS=0`` are right. An empty batch takes the other branch of a ``tf.cond``,
    whose gradient is the taken branch's, so neither kernel sees it. A reshape would not do: graph
    optimisation removes a reshape to the statically inferred shape, which is already right. Both
    branches keep the batch (unlike the 778752 incident's branch on the batch).

    The branch holds the whole layer (convolution, bias and activation): measured in one run on
    the quick study's model, training costs the same as Keras' layers (step 17.9 vs 17.9 ms, best
    of 4) and the weights after 3 epochs are bit-identical, where a branch around the convolution
    alone cost 34% and changed the numbers (it splits the convolution from its bias add).
    """

    def call(self, inputs):  # type: ignore[no-untyped-def]
        shape = self.compute_output_shape(tuple(inputs.shape))[1:]  # type: ignore[attr-defined]
        # XLA's kernels are right on B = 0, and a branch on the batch inside an XLA cluster would
        # make the batch a run-time size there, which the contracts refuse to compile
        if in_xla_context() or any(d is None for d in shape):
            return super().call(inputs)  # type: ignore[misc]
        return tf.cond(
            tf.shape(inputs)[0] > 0,
            lambda: super(_EmptyBatchSafe, self).call(inputs),  # type: ignore[misc]
            lambda: tf.zeros((0, *shape), self.compute_dtype),  # type: ignore[attr-defined]
        )


@keras.saving.register_keras_serializable(package=PACKAGE)
class Conv2D(_EmptyBatchSafe, keras.layers.Conv2D):
    """``keras.layers.Conv2D`` that runs on an empty batch (``_EmptyBatchSafe``); named so that
    layer names (``conv2d_3``) stay Keras' own."""


@keras.saving.register_keras_serializable(package=PACKAGE)
class MaxPooling2D(_EmptyBatchSafe, keras.layers.MaxPooling2D):
    """``keras.layers.MaxPooling2D`` whose gradient runs on an empty batch (``_EmptyBatchSafe``)."""


@keras.saving.register_keras_serializable(package=PACKAGE)
class IntensityScale(ContractedLayer):
    """Divides (``inverse=False``) or multiplies (``inverse=True``) by ``exp(log_scale)``, trained."""

    def __init__(self, initial_scale: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        if not initial_scale > 0:
            raise ValueError(
                f"IntensityScale: initial_scale must be > 0; received: initial_scale={initial_scale!r}"
            )
        self.initial_scale = float(initial_scale)
        self.log_scale = self.add_weight(
            shape=(),
            name="log_scale",
            trainable=True,
            initializer=keras.initializers.Constant(math.log(self.initial_scale)),
        )

    @contract
    def call(self, x: ChannelImages, inverse: bool = False) -> ChannelImages:
        factor = tf.exp(self.log_scale)
        return x * factor if inverse else x / factor

    def compute_output_shape(self, x_shape):
        return tuple(x_shape)

    def get_config(self):
        return {**super().get_config(), "initial_scale": self.initial_scale}


@keras.saving.register_keras_serializable(package=PACKAGE)
class CombineComplex(ContractedLayer):
    """Amplitude and phase ``(B, N/2, N/2, C)`` -> complex patches ``(B, N, N, C)``, zero outside the
    central N/2 box."""

    output_dtype = "complex64"

    def __init__(self, N: int, **kwargs):
        super().__init__(**kwargs)
        self.N = int(N)

    @contract
    def call(
        self, amplitude: Float[tf.Tensor, "B N//2 N//2 C"], phase: Float[tf.Tensor, "B N//2 N//2 C"]
    ) -> ComplexChannelImages:
        pad = (self.N - amplitude.shape[1]) // 2
        patch = tf.complex(amplitude * tf.cos(phase), amplitude * tf.sin(phase))
        return tf.pad(patch, [[0, 0], [pad, pad], [pad, pad], [0, 0]])

    def compute_output_shape(self, amplitude_shape, phase_shape):
        return (amplitude_shape[0], self.N, self.N, amplitude_shape[3])

    def get_config(self):
        return {**super().get_config(), "N": self.N}


class _Translating(ContractedLayer):
    """A layer that translates; under ``backend="xla"`` its work runs as one XLA-compiled function."""

    def __init__(self, backend: Backend = "xla", **kwargs):
        super().__init__(**kwargs)
        self.backend: Backend = check_backend(backend)
        self._compiled = None

    def _check_margin(self, offsets, N: int, M: int) -> None:
        """Under the XLA backend the work runs compiled, where the margin check cannot raise (it makes
        the affected groups NaN): check here too, so eager and graph calls of the layer raise."""
        if self.backend == "xla":
            margin.check(offsets, N, M)

    def _run(self, fn, *args):
        if self.backend == "v3":
            return fn(*args, backend="v3")
        if self._compiled is None:
            self._compiled = tf.function(lambda *a: fn(*a, backend="xla"), jit_compile=True, autograph=False)
        return self._compiled(*args)

    def get_config(self):
        return {**super().get_config(), "backend": self.backend}


@keras.saving.register_keras_serializable(package=PACKAGE)
class ReassemblePatchesLayer(_Translating):
    """Channel patches ``(B, N, N, C)`` + channel offsets ``(B, 1, 2, C)`` -> one overlap-averaged
    canvas per group ``(B, M, M, 1)``."""

    output_dtype = "complex64"

    def __init__(self, padded_size: int, backend: Backend = "xla", support: int | None = None, **kwargs):
        super().__init__(backend=backend, **kwargs)
        self.padded_size = int(padded_size)
        self.support = None if support is None else int(support)  # overlap window: central box side

    @contract
    def call(self, patches: ComplexChannelImages, offsets: ChannelOffsets) -> ComplexCanvas:
        m = self.padded_size
        self._check_margin(offsets, patches.shape[1], m)
        return self._run(
            lambda p, o, backend: reassemble_patches_position_real(
                p, o, m, backend=backend, support=self.support
            ),
            patches,
            offsets,
        )

    def compute_output_shape(self, patches_shape, offsets_shape):
        return (patches_shape[0], self.padded_size, self.padded_size, 1)

    def get_config(self):
        return {**super().get_config(), "padded_size": self.padded_size, "support": self.support}


@keras.saving.register_keras_serializable(package=PACKAGE)
class ExtractPatchesPositionLayer(_Translating):
    """Each group's canvas ``(B, M, M, 1)`` + channel offsets ``(B, 1, 2, C)`` -> its C patches, flat
    layout ``(B*C, N, N, 1)``."""

    output_dtype = "complex64"

    def __init__(self, N: int, backend: Backend = "xla", **kwargs):
        super().__init__(backend=backend, **kwargs)
        self.N = int(N)

    @contract
    def call(self, canvas: ComplexCanvas, offsets: ChannelOffsets) -> ComplexFlatImages:
        n = self.N
        if canvas.shape[1] is not None:
            self._check_margin(offsets, n, canvas.shape[1])
        return self._run(
            lambda c, o, backend: extract_patches_position(c, o, n, backend=backend), canvas, offsets
        )

    def compute_output_shape(self, canvas_shape, offsets_shape):
        return (_times(canvas_shape[0], offsets_shape[3]), self.N, self.N, 1)

    def get_config(self):
        return {**super().get_config(), "N": self.N}


@keras.saving.register_keras_serializable(package=PACKAGE)
class TrimReconstruction(ContractedLayer):
    """The central N x N of each group's canvas ``(B, M, M, 1)``: the object output ``(B, N, N, 1)``."""

    output_dtype = "complex64"

    def __init__(self, N: int, **kwargs):
        super().__init__(**kwargs)
        self.N = int(N)

    @contract
    def call(self, canvas: ComplexCanvas) -> Complex[tf.Tensor, "B N N 1"]:
        return trim_reconstruction(canvas, self.N)

    def compute_output_shape(self, canvas_shape):
        return (canvas_shape[0], self.N, self.N, 1)

    def get_config(self):
        return {**super().get_config(), "N": self.N}


@keras.saving.register_keras_serializable(package=PACKAGE)
class ProbeIllumination(ContractedLayer):
    """Object patches ``(P, N, N, 1)`` times the probe (fixed; optionally times a disk mask of radius N/4).

    P: one patch per scan position, the ``B*C`` rows of the flat layout in the model. The probe is
    a non-trainable weight, so it is saved and restored with the layer's weights.
    """

    output_dtype = "complex64"

    def __init__(self, N: int, probe: np.ndarray | None = None, mask: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.N = int(N)
        self.mask = bool(mask)
        self.probe_real = self.add_weight(
            shape=(self.N, self.N), name="probe_real", trainable=False, initializer="zeros"
        )
        self.probe_imag = self.add_weight(
            shape=(self.N, self.N), name="probe_imag", trainable=False, initializer="zeros"
        )
        if probe is not None:
            probe = np.asarray(probe)
            if probe.shape != (self.N, self.N):
                raise ValueError(
                    f"ProbeIllumination: probe must be N x N = {self.N} x {self.N}; "
                    f"received: probe.shape={probe.shape}"
                )
            self.probe_real.assign(probe.real.astype("float32"))
            self.probe_imag.assign(probe.imag.astype("float32"))

    @contract
    def call(self, patches: Complex[tf.Tensor, "P N N 1"]) -> Complex[tf.Tensor, "P N N 1"]:
        probe = tf.complex(self.probe_real, self.probe_imag)
        if self.mask:
            probe = probe * tf.cast(disk_mask(self.N), probe.dtype)
        return patches * probe[None, :, :, None]

    def compute_output_shape(self, patches_shape):
        return tuple(patches_shape)

    def get_config(self):
        return {**super().get_config(), "N": self.N, "mask": self.mask}


@keras.saving.register_keras_serializable(package=PACKAGE)
class DiffractionAmplitude(ContractedLayer):
    """Flat exit waves ``(B*C, N, N, 1)`` -> channel amplitudes ``(B, N, N, C)``:
    ``sqrt(fftshift(|FFT2|^2) / N^2)``."""

    def __init__(self, channels: int, **kwargs):
        super().__init__(**kwargs)
        self.channels = int(channels)

    @contract
    def call(self, waves: ComplexFlatImages) -> ChannelImages:
        n = waves.shape[1]
        field = tf.signal.fft2d(waves[..., 0])
        intensity = tf.signal.fftshift(tf.square(tf.abs(field)), axes=(1, 2)) / float(n * n)
        return _flat_to_channel(tf.sqrt(intensity)[..., None], self.channels)

    def compute_output_shape(self, waves_shape):
        rows = waves_shape[0]
        return (
            None if rows is None else rows // self.channels,
            waves_shape[1],
            waves_shape[2],
            self.channels,
        )

    def get_config(self):
        return {**super().get_config(), "channels": self.channels}


@keras.saving.register_keras_serializable(package=PACKAGE)
class Square(ContractedLayer):
    """Amplitude ``(B, N, N, C)`` -> intensity ``(B, N, N, C)``."""

    @contract
    def call(self, amplitude: ChannelImages) -> ChannelImages:
        return tf.square(amplitude)

    def compute_output_shape(self, amplitude_shape):
        return tuple(amplitude_shape)
