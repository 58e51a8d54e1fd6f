"""Injectable defects of the older PtychoPINN stack, for ``trace --fault NAME`` and ``doctor --fault NAME``.

They live here, never in ``ptycho/``. Each fault is a context manager that patches the stack
(``mock.patch`` of ``ptycho.model.layers``, ``ptycho.tensors.reassembly`` or
``ptycho.tensors.translation``) for the duration of one trace or one doctor run. ``batch-merge``
is the defect behind the 778752 incident (``docs/incident-778752.md``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from unittest import mock

import tensorflow as tf

from ptycho.model import layers
from ptycho.tensors import reassembly, translation

# The layer looks the reassembly up in its own module, so that is where a fault replaces it.
_LAYER_REASSEMBLY = "ptycho.model.layers.reassemble_patches_position_real"
_MERGE_AT = 64  # PtychoPINN merged the batch into one canvas once B*C reached this many patches


@dataclass(frozen=True)
class Fault:
    name: str
    description: str
    shows_at: str  # the boundary where the trace should first see it
    patch: Callable[[], contextlib.AbstractContextManager[None]]
    contracts_off: str = ""  # what TensorFlow does with PTYCHO_CONTRACTS=off (measured, TF 2.21)


def _reassemble(patches: Any, offsets: Any, padded_size: int, *args: Any, **kwargs: Any) -> Any:
    return reassembly.reassemble_patches_position_real(patches, offsets, padded_size, *args, **kwargs)


@contextlib.contextmanager
def _batch_merge() -> Iterator[None]:
    """PtychoPINN's form: ``tf.cond(B*C < 64, per-group canvases, one canvas for the batch)``.

    B is ``tf.shape(patches)[0]``, so inside a ``jit_compile=True`` function the branch, and with
    it the canvas batch, is decided at run time inside the compiled function.
    """

    def merged(patches: Any, offsets: Any, padded_size: int, *args: Any, **kwargs: Any) -> Any:
        canvas = _reassemble(patches, offsets, padded_size, *args, **kwargs)
        rows = tf.shape(patches)[0] * tf.shape(patches)[3]
        return tf.cond(
            rows < _MERGE_AT,
            lambda: canvas,
            lambda: tf.reduce_sum(canvas, axis=0, keepdims=True),
        )

    with mock.patch(_LAYER_REASSEMBLY, merged):
        yield


@contextlib.contextmanager
def _batch_merge_static() -> Iterator[None]:
    """The same merge decided in Python on the static shape: always merged when the batch is unknown."""

    def merged(patches: Any, offsets: Any, padded_size: int, *args: Any, **kwargs: Any) -> Any:
        canvas = _reassemble(patches, offsets, padded_size, *args, **kwargs)
        rows, channels = patches.shape[0], patches.shape[3]
        if rows is None or rows * channels >= _MERGE_AT:
            return tf.reduce_sum(canvas, axis=0, keepdims=True)
        return canvas

    with mock.patch(_LAYER_REASSEMBLY, merged):
        yield


@contextlib.contextmanager
def _flat_offsets() -> Iterator[None]:
    original = layers.ReassemblePatchesLayer.call

    def call(self: layers.ReassemblePatchesLayer, patches: Any, offsets: Any) -> Any:
        return original(self, patches, offsets[:, 0, :, 0])  # one [x, y] per group: (B, 2)

    if hasattr(original, "__contract__"):  # absent when PTYCHO_CONTRACTS=off
        call.__contract__ = original.__contract__  # type: ignore[attr-defined]

    with mock.patch.object(layers.ReassemblePatchesLayer, "call", call):
        yield


@contextlib.contextmanager
def _modulo_broadcast() -> Iterator[None]:
    # per-group translations (B, 2) handed to B*C flat images; the XLA path used to tile them by modulo
    with mock.patch("ptycho.tensors.reassembly.flatten_offsets", lambda offsets: offsets[:, 0, :, 0]):
        yield


@contextlib.contextmanager
def _sign_flip() -> Iterator[None]:
    original = translation.translate_v3

    def flipped(images: Any, translations: Any) -> Any:
        return original(images, -translations)

    with mock.patch("ptycho.tensors.translation.translate_v3", flipped):
        yield


@contextlib.contextmanager
def _output_shape_passthrough() -> Iterator[None]:
    def passthrough(
        self: layers.ExtractPatchesPositionLayer, canvas_shape: Any, offsets_shape: Any
    ) -> tuple[Any, ...]:
        return (canvas_shape[0], self.N, self.N, offsets_shape[3])

    with mock.patch.object(layers.ExtractPatchesPositionLayer, "compute_output_shape", passthrough):
        yield


FAULTS: dict[str, Fault] = {
    f.name: f
    for f in (
        Fault(
            "batch-merge",
            "reassembly merges the whole batch into one canvas once B*C >= 64, decided by a tf.cond on "
            "the run-time batch (the 778752 incident's defect)",
            "ReassemblePatchesLayer.call (return value)",
            _batch_merge,
            "with B*C >= 64 (N=32, g=2, B=16), graph mode, XLA backend: 'Incompatible shapes: [2,1] "
            "vs. [62,46]' inside the row-window kernel at the extraction (4 images cut from the one "
            "canvas, 64 translations: 2 and 62 are the kernel's interior images); V3 backend: 'Input "
            "transform should be num_images x 8 or 1 x 8' at the extraction; under jit_compile=True: "
            "'Input 2 to node ... with op XlaGather must be a compile-time constant' (the kernel cannot "
            "compile the size the tf.cond decides); with B*C < 64 nothing is merged and nothing fails",
        ),
        Fault(
            "batch-merge-static",
            "the same merge decided by a Python if on the static shape (always merged while the batch "
            "is unknown)",
            "ReassemblePatchesLayer.call (return value)",
            _batch_merge_static,
            "XLA backend: 'Incompatible shapes: [2,1] vs. [30,46]' inside the row-window kernel at the "
            "extraction (N=32, g=2, B=8: 4 images cut from the one canvas, 32 translations; 2 and 30 are the "
            "kernel's interior images; the 778752 incident's kernel dropped rows silently); V3 backend: "
            "'Input transform should be num_images x 8 or 1 x 8' at the extraction",
        ),
        Fault(
            "flat-offsets",
            "offsets reach the reassembly layer as (B, 2) instead of (B, 1, 2, C)",
            "ReassemblePatchesLayer.call (offsets)",
            _flat_offsets,
            "ValueError at trace time from the first op that reads the offsets' missing axes (the "
            "margin check): 'Invalid reduction dimension 2 for input with 2 dimensions ... input "
            "shapes: [?,2], [2]'",
        ),
        Fault(
            "modulo-broadcast",
            "per-group translations (B, 2) are handed to B*C flat images (the XLA path used to tile "
            "them by modulo indexing)",
            "translate (translations)",
            _modulo_broadcast,
            "XLA backend: 'Incompatible shapes: [30,1] vs. [6,46]' inside the row-window kernel (32 "
            "images, 8 translations; 30 and 6 interior images; the 778752 incident's kernel dropped rows "
            "silently); V3 backend: 'Input transform should be num_images x 8 or 1 x 8'",
        ),
        Fault(
            "sign-flip",
            "the non-XLA path moves content by -t (shapes hold; values differ between backends)",
            "trace --mode all: the values check of reassembly (xla vs v3); doctor: backend agreement",
            _sign_flip,
            "no error: shapes hold, values are mirrored",
        ),
        Fault(
            "output-shape-passthrough",
            "ExtractPatchesPositionLayer.compute_output_shape passes C through instead of (B*C, N, N, 1)",
            "ExtractPatchesPositionLayer (compute_output_shape, at construction)",
            _output_shape_passthrough,
            "no error: Keras trusts the declared shape; downstream static shapes are wrong",
        ),
    )
}
