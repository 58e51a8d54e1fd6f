"""Injectable historical defects, for ``trace --fault NAME``. They live here, never in ``ptycho/``.

Each fault is a context manager that patches the stack for the duration of one trace, re-creating a
defect of the PtychoPINN stack the seed ran on.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from unittest import mock

import tensorflow as tf

from ptycho.model import layers
from ptycho.tensors import reassembly, translation


@dataclass(frozen=True)
class Fault:
    name: str
    description: str
    shows_at: str  # the boundary where the trace should first see it
    patch: Callable[[], contextlib.AbstractContextManager]
    contracts_off: str = ""  # what TensorFlow does with PTYCHO_CONTRACTS=off (measured, TF 2.21)


@contextlib.contextmanager
def _batch_merge() -> Iterator[None]:
    original = layers.reassemble_patches_position_real

    def merged(patches, offsets, padded_size, backend="auto", support=None):
        canvas = original(patches, offsets, padded_size, backend=backend, support=support)
        rows = patches.shape[0]
        channels = patches.shape[3]
        if rows is None or rows * channels >= 64:  # PtychoPINN: one canvas for the batch once B*C >= 64
            return tf.reduce_sum(canvas, axis=0, keepdims=True)
        return canvas

    with mock.patch.object(layers, "reassemble_patches_position_real", merged):
        yield


@contextlib.contextmanager
def _flat_offsets() -> Iterator[None]:
    original = layers.ReassemblePatchesLayer.call

    def call(self, patches, offsets):
        return original(self, patches, offsets[:, 0, :, 0])  # one [x, y] per group: (B, 2)

    if hasattr(original, "__contract__"):  # absent when PTYCHO_CONTRACTS=off
        call.__contract__ = original.__contract__  # type: ignore[attr-defined]

    with mock.patch.object(layers.ReassemblePatchesLayer, "call", call):
        yield


@contextlib.contextmanager
def _modulo_broadcast() -> Iterator[None]:
    # per-group translations (B, 2) handed to B*C flat images; the XLA path used to tile them by modulo
    with mock.patch.object(reassembly, "flatten_offsets", lambda offsets: offsets[:, 0, :, 0]):
        yield


@contextlib.contextmanager
def _sign_flip() -> Iterator[None]:
    original = translation.translate_v3

    def flipped(images, translations):
        return original(images, -translations)

    with mock.patch.object(translation, "translate_v3", flipped):
        yield


@contextlib.contextmanager
def _output_shape_passthrough() -> Iterator[None]:
    def passthrough(self, canvas_shape, offsets_shape):
        return (canvas_shape[0], self.N, self.N, offsets_shape[3])

    with mock.patch.object(layers.ExtractPatchesPositionLayer, "compute_output_shape", passthrough):
        yield


FAULTS: dict[str, Fault] = {
    f.name: f
    for f in (
        Fault("batch-merge", "reassembly merges the whole batch into one canvas once B*C >= 64",
              "ReassemblePatchesLayer.call (return value)", _batch_merge,
              "XLA backend: 'Incompatible shapes: [2,1] vs. [30,46]' inside the row-window kernel at the "
              "extraction (4 images from the merged canvas, 32 translations: numbers of the kernel's own, "
              "2 and 30 interior images; the seed's kernel dropped rows silently); V3 backend: 'Input "
              "transform should be num_images x 8 or 1 x 8' at the extraction"),
        Fault("flat-offsets", "offsets reach the reassembly layer as (B, 2) instead of (B, 1, 2, C)",
              "ReassemblePatchesLayer.call (offsets)", _flat_offsets,
              "ValueError at trace time: 'Dimension must be 2 but is 4 for ... Transpose ... input shapes: [?,2], [4]'"),
        Fault("modulo-broadcast", "per-group translations (B, 2) are handed to B*C flat images (the XLA path "
              "used to tile them by modulo indexing)", "translate (translations)", _modulo_broadcast,
              "XLA backend: 'Incompatible shapes: [30,1] vs. [6,46]' inside the row-window kernel (32 "
              "images, 8 translations; 30 and 6 interior images; the seed's kernel dropped rows silently); "
              "V3 backend: 'Input transform should be num_images x 8 or 1 x 8'"),
        Fault("sign-flip", "the non-XLA path moves content by -t (shapes hold; values differ between backends)",
              "trace --mode all: the values check of reassembly (xla vs v3); doctor: backend agreement", _sign_flip, "no error: shapes hold, values are mirrored"),
        Fault("output-shape-passthrough", "ExtractPatchesPositionLayer.compute_output_shape passes C through "
              "instead of (B*C, N, N, 1)", "ExtractPatchesPositionLayer (compute_output_shape, at construction)",
              _output_shape_passthrough, "no error: Keras trusts the declared shape; downstream static "
              "shapes are wrong"),
    )
}
