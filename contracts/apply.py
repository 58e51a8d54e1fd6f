"""Contracts applied to a built Keras model without editing its source.

    import contracts
    from my_inferred import LAYER_CONTRACTS      # written by trace-shapes audit --write-contracts
    contracts.apply_layer_contracts(model, LAYER_CONTRACTS)

Each entry names a layer of the model (searched through nested models and layers), its class,
and the jaxtyping shape of every tensor it takes and returns, in the order Keras hands them to
``call`` (``{"layer": "decoder", "class": "Decoder", "inputs": ["B 16 16 8", "B 4"],
"outputs": ["B 32 32 1"]}``). The layer's ``call`` is wrapped, on that instance only, by a
function carrying those annotations and decorated with ``@contract``: the checks are the same as
hand-written ones, in eager, graph and XLA modes, with the same messages (the function is named
``<Class>[<layer name>].call``). Any dtype is accepted (``Shaped``).
"""

from __future__ import annotations

import functools
import inspect
import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import keras
import tensorflow as tf
from jaxtyping import Shaped

from ._decorator import contract
from ._errors import ContractDefinitionError

LayerContract = Mapping[str, Any]


def _layers(model: Any) -> Iterator[Any]:
    """Every layer inside ``model`` (depth first), each once."""
    seen: set[int] = set()
    todo = [model]
    while todo:
        layer = todo.pop()
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        yield layer
        todo += reversed(list(getattr(layer, "layers", None) or getattr(layer, "_layers", None) or []))


def _tensors(structure: Any) -> list[Any]:
    return [x for x in keras.tree.flatten(structure) if hasattr(x, "shape") and hasattr(x, "dtype")]


def _argument_names(layer: Any, count: int) -> list[str]:
    """The names ``call`` gives its first ``count`` tensor arguments when it has that many plain
    positional parameters (``images, labels``), else ``input0, input1, ...``."""
    try:
        parameters = list(inspect.signature(type(layer).call).parameters.values())[1:]
    except (TypeError, ValueError):
        parameters = []
    plain = [p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(plain) >= count and plain[:count] != ["run"] * count and "run" not in plain[:count]:
        return plain[:count]
    return [f"input{i}" for i in range(count)]


def _boundary(layer: Any, inputs: list[str], outputs: list[str]) -> Callable[..., Any]:
    """A contracted function ``(x0, ..., run) -> outputs``: its arguments and return carry the specs."""
    names = _argument_names(layer, len(inputs))

    def body(*args: Any) -> Any:
        out = args[-1]()
        flat = _tensors(out)
        return flat[0] if len(outputs) == 1 else tuple(flat)

    parameters = ", ".join([*names, "run"])
    namespace: dict[str, Any] = {"body": body}
    exec(f"def boundary({parameters}):\n    return body({parameters})\n", namespace)
    boundary = namespace["boundary"]
    annotations: dict[str, Any] = {n: Shaped[tf.Tensor, s] for n, s in zip(names, inputs)}
    if len(outputs) == 1:
        annotations["return"] = Shaped[tf.Tensor, outputs[0]]
    elif outputs:
        annotations["return"] = tuple.__class_getitem__(tuple(Shaped[tf.Tensor, s] for s in outputs))
    boundary.__annotations__ = annotations
    boundary.__qualname__ = boundary.__name__ = f"{type(layer).__name__}[{layer.name}].call"
    # Its own scope: an inferred spec's dims (B, B4, numbers) are not the vocabulary a package
    # registered for its hand-written contracts, and the registry keeps it apart from those.
    boundary.__module__ = "contracts.applied"
    code = getattr(type(layer).call, "__code__", None)
    if code is not None:  # messages point at the layer's own call, not at generated code
        boundary.__code__ = boundary.__code__.replace(
            co_filename=code.co_filename, co_firstlineno=code.co_firstlineno
        )
    # AutoGraph would read the source at that file and line, the layer's call, not this function's;
    # Keras does not convert a layer's call either, so nothing inside changes.
    boundary = tf.autograph.experimental.do_not_convert(boundary)
    checked: Callable[..., Any] = contract(boundary)
    return checked


def _wrap(layer: Any, entry: LayerContract) -> None:
    inputs, outputs = list(entry.get("inputs", [])), list(entry.get("outputs", []))
    checked = _boundary(layer, inputs, outputs)
    original = layer.call

    @functools.wraps(original)
    def call(*args: Any, **kwargs: Any) -> Any:
        given = _tensors((args, kwargs))
        if len(given) != len(inputs):
            raise ContractDefinitionError(
                f"contract for {type(layer).__name__}[{layer.name}]: it names {len(inputs)} input tensors, "
                f"the call received {len(given)}"
            )
        holder: list[Any] = []

        def run() -> Any:
            holder.append(original(*args, **kwargs))
            return holder[0]

        result = checked(*given, run)
        flat = [result] if len(outputs) == 1 else list(result)
        structure = holder[0]
        if len(_tensors(structure)) != len(flat) or len(keras.tree.flatten(structure)) != len(flat):
            return structure
        return keras.tree.pack_sequence_as(structure, flat)

    object.__setattr__(layer, "call", call)


def apply_layer_contracts(
    model: Any, contracts: Iterable[LayerContract] | types.ModuleType, *, missing: str = "error"
) -> list[str]:
    """Wrap the ``call`` of each named layer of ``model`` with its contract; returns the layers wrapped.

    ``contracts`` is a list of entries, or a module with ``LAYER_CONTRACTS``. A layer of another
    class than the entry says is refused (ContractDefinitionError); so is a layer the model does not
    have, unless ``missing="skip"``: Keras numbers the names it makes up (``conv2d_3``) per process,
    so such names match a model built the same way in a fresh process, not a second model built in
    the same one.
    """
    if missing not in ("error", "skip"):
        raise ValueError(f"missing must be 'error' or 'skip', got {missing!r}")
    entries = getattr(contracts, "LAYER_CONTRACTS", contracts)
    by_name: dict[str, Any] = {}
    for layer in _layers(model):
        by_name.setdefault(layer.name, layer)
    wrapped = []
    for entry in entries:  # type: ignore[union-attr]
        name = entry["layer"]
        layer = by_name.get(name)
        if layer is None:
            if missing == "skip":
                continue
            raise ContractDefinitionError(f"layer contract for {name!r}: the model has no layer of that name")
        if entry.get("class") and type(layer).__name__ != entry["class"]:
            raise ContractDefinitionError(
                f"layer contract for {name!r}: written for class {entry['class']}, the layer is "
                f"{type(layer).__name__}"
            )
        _wrap(layer, entry)
        wrapped.append(name)
    return wrapped
