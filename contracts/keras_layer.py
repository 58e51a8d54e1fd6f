"""Keras integration: contracts that also hold while a functional model is being built.

Keras 3 builds a functional model without running ``call`` when a layer defines
``compute_output_shape``; a contract on ``call`` would then first be checked at ``fit`` time.
``ContractedLayer`` checks the symbolic inputs against ``call``'s contract and the shape that
``compute_output_shape`` promises against its return spec, at construction.
"""

from __future__ import annotations

from typing import Any

import keras

from ._check import Call
from ._decorator import return_labels
from ._mode import get_mode
from ._spec import FunctionSpec


def _spec_of(layer: keras.layers.Layer) -> FunctionSpec | None:
    return getattr(type(layer).call, "__contract__", None)


class ContractedLayer(keras.layers.Layer):  # type: ignore[misc]  # keras ships no type information
    """A layer whose contracted ``call`` is also checked on Keras symbolic tensors.

    ``output_dtype``: the dtype of the output when it is not the layer's compute dtype (e.g.
    ``"complex64"``); the output shape always comes from ``compute_output_shape``.
    """

    output_dtype: str | None = None

    def compute_output_spec(self, *args: Any, **kwargs: Any) -> Any:
        fspec = _spec_of(self)
        if fspec is None or get_mode() == "off":
            return self._output_spec(*args, **kwargs)
        call = Call(fspec, "static")
        _, waiting = call.check_arguments((self, *args), kwargs)
        out = self._output_spec(*args, **kwargs)
        outs = list(out) if fspec.returns_tuple else [out]
        labels = return_labels(fspec, f" (compute_output_shape of {type(self).__name__})")
        call.check_outputs(labels, outs, waiting)
        return out

    def _output_spec(self, *args: Any, **kwargs: Any) -> Any:
        if self.output_dtype is None:
            return super().compute_output_spec(*args, **kwargs)
        shapes = [tuple(a.shape) for a in args]
        return keras.KerasTensor(self.compute_output_shape(*shapes), dtype=self.output_dtype)
