"""Record what a running TensorFlow/Keras program does with shapes: layer calls, tf.function calls, contracts.

    with Recorder() as rec:
        ...  # anyone's Keras / TensorFlow code, unannotated
    rec.layer_calls, rec.function_calls, rec.checks, rec.to_dict()

While a ``Recorder`` is active, ``keras.layers.Layer.__call__`` and ``__new__`` and the
``__call__`` of TensorFlow's ``tf.function`` objects are wrapped (restored on exit):

- every layer call (nested layers and sub-models included) becomes a ``LayerCall``: name, class,
  where the layer was created and where it was called in the user's source (the innermost frame
  outside TensorFlow, Keras, the standard library and this tool), the shapes and dtypes of its
  inputs and outputs (concrete in eager mode; static, ``None`` for unknown, while tracing or building
  symbolically), the output shape ``compute_output_shape`` declares where the layer's class defines
  it, and the graph name scope of its ops (to map a node named in a run-time error back to the layer);
- every ``tf.function`` call becomes a ``FunctionCall``: the function, its argument shapes (concrete
  when called eagerly, which is how a graph's batch size is known), whether the call traced and the
  tracing count so far (retraces), its ``input_signature`` and ``jit_compile``;
- every ``@contract`` check made by the program is kept as the contracts' own ``CheckEvent``.

Repeated identical calls (a training loop) are folded into one record with a count, so memory is
bounded by the number of distinct calls (at most ``MAX_DISTINCT`` each, the excess only counted);
``recent`` keeps the last ``RECENT`` calls in order, as ``(seq, call)``. When a call raises,
the innermost layer or function it was raised in is kept as the failure (``failure()``).

Nothing here imports the ``ptycho`` stack: a user's own package may have that name.
"""

from __future__ import annotations

import collections
import functools
import os
import re
import sys
import sysconfig
import threading
import types
import weakref
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

MAX_DISTINCT = 20_000
RECENT = 64
_MAX_RANK = 8  # graph-mode tensors of higher rank are not watched at run time
_SLOTS = 64  # at most this many tensors of one call are watched


@dataclass(frozen=True)
class TensorInfo:
    shape: tuple[int | None, ...] | None  # None: rank unknown
    dtype: str

    def elements(self) -> int | None:
        if self.shape is None or any(d is None for d in self.shape):
            return None
        n = 1
        for d in self.shape:
            n *= d  # type: ignore[operator]
        return n

    def text(self) -> str:
        if self.shape is None:
            return f"<unknown rank> {self.dtype}"
        dims = ", ".join("None" if d is None else str(d) for d in self.shape)
        return f"({dims}{',' if len(self.shape) == 1 else ''}) {self.dtype}"


@dataclass
class LayerCall:
    seq: int  # order of the first such call
    name: str
    cls: str
    created_at: str | None  # "file:line" in the user's source
    called_at: str | None
    mode: str  # "eager", "graph" (inside a tf.function trace) or "symbolic" (Keras functional build)
    depth: int  # 0 for a call from outside any layer
    inputs: list[TensorInfo]
    outputs: list[TensorInfo] = field(default_factory=list)
    declared_outputs: list[TensorInfo] | None = None  # from compute_output_shape, when the class has one
    declared_error: str | None = None  # compute_output_shape raised
    scope: str | None = None  # graph name scope of its ops, e.g. "sequential/dense_1"
    source: str | None = None  # "file:first-last" of the class's own ``call`` when it is the user's code
    function: str | None = None  # the tf.function being traced around it
    error: str | None = None  # "ExceptionType: first line" when the call raised
    count: int = 1
    last_seq: int = 0
    kind: str = "layer"  # or "loss": a Keras loss called on (y_true, y_pred)
    # graph mode: the concrete shapes of the inputs and outputs the last time the graph ran
    run_inputs: list[TensorInfo] | None = None
    run_outputs: list[TensorInfo] | None = None
    runtime_key: int | None = None  # its rows in the recorder's run-time shape table
    run_layout: tuple[int, tuple[str, ...]] | None = None  # (number of inputs watched, dtypes watched)

    @property
    def label(self) -> str:
        return f"{self.kind} '{self.name}' ({self.cls})"


@dataclass
class FunctionCall:
    seq: int
    name: str
    defined_at: str | None
    called_at: str | None
    mode: str  # "eager" (a graph runs with these concrete arguments) or "graph" (called while tracing)
    inputs: list[TensorInfo]
    traced: bool  # this call traced (or retraced) the function
    tracing_count: int
    input_signature: list[TensorInfo] | None
    jit_compile: bool | None
    error: str | None = None
    count: int = 1
    last_seq: int = 0

    @property
    def label(self) -> str:
        return f"tf.function '{self.name}'"


# Frames that are not the user's: TensorFlow, Keras and their helpers, the standard library, this tool.
_FRAMEWORK_PACKAGES = (
    "tensorflow",
    "keras",
    "tf_keras",
    "numpy",
    "absl",
    "optree",
    "tree",
    "wrapt",
    "jaxtyping",
    "beartype",
    "typeguard",
    "ml_dtypes",
    "h5py",
    "google",
    "contracts",
    "diagnostics",
    "_pytest",
    "pluggy",
)


@functools.lru_cache(maxsize=1)
def _framework_roots() -> tuple[str, ...]:
    import importlib.util

    roots = {os.path.realpath(sysconfig.get_paths()["stdlib"]) + os.sep}
    for name in _FRAMEWORK_PACKAGES:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        for location in (spec.submodule_search_locations or []) if spec else []:
            roots.add(os.path.realpath(location) + os.sep)
    return tuple(sorted(roots))


@functools.lru_cache(maxsize=4096)
def is_user_file(filename: str) -> bool:
    """True for a source file of the user's program (not a framework's, not ``<frozen ...>``)."""
    if filename.startswith("<") or "__autograph_generated_file" in filename:
        return False
    real = os.path.realpath(filename)
    return not real.startswith(_framework_roots())


def user_frame(frame: types.FrameType | None) -> str | None:
    """``file:line`` of the innermost user frame at or above ``frame``."""
    while frame is not None:
        if is_user_file(frame.f_code.co_filename):
            return f"{frame.f_code.co_filename}:{frame.f_lineno}"
        frame = frame.f_back
    return None


def source_span(function: Any) -> str | None:
    """``file:first-last`` lines of ``function`` when the user wrote it (a custom layer's ``call``,
    a loss function), else None."""
    code = getattr(function, "__code__", None)
    if code is None or not is_user_file(code.co_filename):
        return None
    lines = [line for _, _, line in code.co_lines() if line is not None] or [code.co_firstlineno]
    return f"{code.co_filename}:{min(lines)}-{max(lines)}"


def _source_of(obj: Any, kind: str) -> str | None:
    if kind == "loss" and callable(getattr(obj, "fn", None)):  # keras.losses.LossFunctionWrapper
        return source_span(obj.fn)
    return source_span(getattr(type(obj), "call", None))


def tensor_info(x: Any) -> TensorInfo | None:
    shape = getattr(x, "shape", None)
    dtype = getattr(x, "dtype", None)
    if shape is None or dtype is None or isinstance(x, type):
        return None
    try:
        dims: tuple[int | None, ...] | None = tuple(None if d is None else int(d) for d in shape)
    except (TypeError, ValueError):  # a TensorShape of unknown rank
        dims = None
    return TensorInfo(dims, getattr(dtype, "name", None) or str(dtype))


def tensors_of(structure: Any) -> list[TensorInfo]:
    import keras

    out = []
    for leaf in keras.tree.flatten(structure):
        info = tensor_info(leaf)
        if info is not None:
            out.append(info)
    return out


def _scope(out: Any, name: str) -> str | None:
    """The graph name scope of a layer's ops, read off its first output's op name.

    ``"model_1/dense_2/BiasAdd"`` for a layer named ``dense`` -> ``"model_1/dense_2"``: TensorFlow
    makes scope names unique within a graph by a suffix, so the name alone does not give it.
    """
    import keras

    for t in keras.tree.flatten(out):
        op = getattr(getattr(t, "op", None), "name", None)
        if not op:
            continue
        parts = op.split("/")
        same = re.compile(re.escape(name) + r"(_\d+)?")
        for i in range(len(parts) - 2, -1, -1):
            if same.fullmatch(parts[i]):
                return "/".join(parts[: i + 1])
        return "/".join(parts[:-1]) or None
    return None


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_WRAPPING = ("Exception encountered when calling", "Arguments received by", "•", "Call arguments received")


def error_line(exc: BaseException) -> str:
    """``Type: the line that says what went wrong``: Keras wraps it in call details and bold codes;
    a line about shapes is preferred, then the first line that is not wrapping."""
    from .numbers import PATTERNS

    lines = [_ANSI.sub("", line).strip() for line in str(exc).splitlines()]
    said = [line for line in lines if line and not line.startswith(_WRAPPING)]
    about = [line for line in said if "shape" in line.lower() or any(p.search(line) for p, _ in PATTERNS)]
    return f"{type(exc).__name__}: {(about or said or [''])[0]}"


class Recorder:
    """Records layer calls, tf.function calls and contract checks while active (a context manager)."""

    _lock = threading.Lock()
    _active: Recorder | None = None  # at most one at a time: the patches are process-wide

    def __init__(
        self,
        *,
        compute_output_shapes: bool = True,
        run_shapes: bool = True,
        on_layer_call: Callable[[Any, tuple[Any, ...], dict[str, Any], Any, LayerCall], None] | None = None,
        created: weakref.WeakKeyDictionary[Any, str | None] | None = None,
    ) -> None:
        self.compute_output_shapes = compute_output_shapes
        # called after every layer or loss call with (layer, args, kwargs, output or None, its record)
        self.on_layer_call = on_layer_call
        self.run_shapes = run_shapes  # graph mode: record the concrete shapes each time the graph runs
        self._table: Any = None
        self._watched: list[LayerCall] = []
        self.layer_calls: dict[tuple[Any, ...], LayerCall] = {}
        self.function_calls: dict[tuple[Any, ...], FunctionCall] = {}
        self.recent: collections.deque[tuple[int, LayerCall | FunctionCall]] = collections.deque(
            maxlen=RECENT
        )
        self.dropped = 0  # distinct calls beyond MAX_DISTINCT, counted only
        self.checks: list[Any] = []  # contracts.CheckEvent
        self._seq = 0
        # layer -> where it was created; shared between recorders when given (a model built under one)
        self._created: weakref.WeakKeyDictionary[Any, str | None] = (
            weakref.WeakKeyDictionary() if created is None else created
        )
        self._local = threading.local()
        self._undo: list[Callable[[], None]] = []

    # Activation

    def __enter__(self) -> Recorder:
        import keras
        import tensorflow as tf

        import contracts

        with Recorder._lock:
            if Recorder._active is not None:
                raise RuntimeError("a Recorder is already active; they cannot be nested")
            Recorder._active = self
        layer = keras.layers.Layer
        self._patch(layer, "__call__", self._wrap_layer_call)
        self._patch(layer, "__new__", self._wrap_layer_new)
        self._patch(keras.losses.Loss, "__call__", lambda original: self._wrap_layer_call(original, "loss"))
        self._patch(type(tf.function(lambda: None)), "__call__", self._wrap_function_call)
        if self.run_shapes:
            self._table = tf.lookup.experimental.MutableHashTable(
                key_dtype=tf.int64,
                value_dtype=tf.int64,
                default_value=tf.constant([-2] * _MAX_RANK, tf.int64),
            )
        self._checks_cm = contracts.recording()
        self.checks = self._checks_cm.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._checks_cm.__exit__(None, None, None)
        for undo in reversed(self._undo):
            undo()
        self._undo.clear()
        with Recorder._lock:
            Recorder._active = None

    def _patch(self, cls: type, attribute: str, wrap: Callable[[Any], Any]) -> None:
        import tensorflow as tf

        original = cls.__dict__[attribute]
        wrapped = wrap(original)
        if not isinstance(wrapped, staticmethod):  # AutoGraph must not convert the recorder itself
            wrapped = functools.wraps(original)(tf.autograph.experimental.do_not_convert(wrapped))
        setattr(cls, attribute, wrapped)
        self._undo.append(lambda: setattr(cls, attribute, original))

    def _next(self) -> int:
        self._seq += 1
        return self._seq

    def _stack(self) -> list[LayerCall | FunctionCall]:
        stack: list[LayerCall | FunctionCall] | None = getattr(self._local, "stack", None)
        if stack is None:
            stack = self._local.stack = []
        return stack

    # Layers

    def _wrap_layer_new(self, original: Any) -> Any:
        # ``__new__`` runs before any ``__init__``, so the caller's frame is the construction site.
        # (``__init__`` cannot be wrapped: Keras reads the constructor's signature from it.)
        new = original.__func__ if isinstance(original, staticmethod) else original

        def __new__(cls: type, *args: Any, **kwargs: Any) -> Any:
            layer = new(cls, *args, **kwargs)
            self._created[layer] = user_frame(sys._getframe(1))
            return layer

        return staticmethod(__new__)

    def _wrap_layer_call(self, original: Callable[..., Any], kind: str = "layer") -> Callable[..., Any]:
        """``Layer.__call__`` (``kind="layer"``) or ``Loss.__call__`` (``kind="loss"``), recorded."""
        recorder = self

        def __call__(obj: Any, *args: Any, **kwargs: Any) -> Any:
            return recorder._layer_call(original, obj, args, kwargs, sys._getframe(1), kind=kind)

        return __call__

    def _layer_call(
        self,
        original: Callable[..., Any],
        layer: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        caller: Any,
        kind: str = "layer",
    ) -> Any:
        import keras
        import tensorflow as tf

        stack = self._stack()
        leaves = keras.tree.flatten((args, kwargs))
        if any(isinstance(x, keras.KerasTensor) for x in leaves):
            mode = "symbolic"
        else:
            mode = "eager" if tf.executing_eagerly() else "graph"
        call = LayerCall(
            seq=0,
            name=layer.name,
            cls=type(layer).__name__,
            created_at=self._created.get(layer),
            called_at=user_frame(caller),
            mode=mode,
            depth=sum(isinstance(s, LayerCall) for s in stack),
            inputs=tensors_of((args, kwargs)),
            source=_source_of(layer, kind),
            function=next((f.name for f in reversed(stack) if isinstance(f, FunctionCall)), None),
            kind=kind,
        )
        depth = len(stack)
        if depth == 0:
            self._local.unwinding = self._local.unwinding_layer = None
        stack.append(call)
        try:
            out = original(layer, *args, **kwargs)
        except BaseException as e:
            stack.pop()
            call.error = error_line(e)
            self._fail(call, depth)
            self._keep(call, id(layer), layer, args)
            if self.on_layer_call is not None:
                self.on_layer_call(layer, args, kwargs, None, call)
            raise
        stack.pop()
        self._returned(depth)
        call.outputs = tensors_of(out)
        if mode == "graph":
            call.scope = _scope(out, layer.name)
        kept = self._keep(call, id(layer), layer, args)
        if self.on_layer_call is not None:
            self.on_layer_call(layer, args, kwargs, out, kept or call)
        if mode == "graph" and kept is not None and self._table is not None:
            out = self._watch(kept, leaves, out)
        return out

    def _watch(self, call: LayerCall, inputs: list[Any], out: Any) -> Any:
        """Graph mode: store the concrete shapes of the call's tensors in a table each time it runs.

        A hash-table insert per call and step; the outputs are passed through ``tf.identity`` after
        it, so a later op that fails has seen it run. Not inside XLA (the table is not compilable).
        """
        import keras
        import tensorflow as tf

        from contracts._compat import in_xla_context

        if in_xla_context():
            return out
        outs = keras.tree.flatten(out)
        tensors = [
            t
            for t in [*inputs, *outs]
            if isinstance(t, tf.Tensor) and t.shape.rank is not None and t.shape.rank <= _MAX_RANK
        ][:_SLOTS]
        if not tensors or not all(isinstance(t, tf.Tensor) for t in outs):
            return out
        if call.runtime_key is None:
            call.runtime_key = len(self._watched)
            self._watched.append(call)
        key = call.runtime_key
        shapes = tf.stack(
            [
                tf.pad(tf.shape(t, out_type=tf.int64), [[0, _MAX_RANK - t.shape.rank]], constant_values=-1)
                for t in tensors
            ]
        )
        keys = tf.constant([key * _SLOTS + i for i in range(len(tensors))], tf.int64)
        with tf.control_dependencies([self._table.insert(keys, shapes)]):
            watched = [tf.identity(t) for t in outs]
        for old, new in zip(outs, watched):
            mask = getattr(old, "_keras_mask", None)
            if mask is not None:
                new._keras_mask = mask
        n_inputs = sum(1 for t in inputs if any(t is x for x in tensors))
        call.run_layout = (n_inputs, tuple(t.dtype.name for t in tensors))
        return keras.tree.pack_sequence_as(out, watched)

    def read_run_shapes(self) -> None:
        """Fill ``run_inputs`` / ``run_outputs`` of graph-mode calls: the shapes their graph last ran with."""
        if self._table is None or not self._watched:
            return
        keys, values = self._table.export()
        rows = {int(k): [int(d) for d in v if d >= 0] for k, v in zip(keys.numpy(), values.numpy())}
        for call in self._watched:
            if call.run_layout is None or call.runtime_key is None:
                continue
            n_inputs, dtypes = call.run_layout
            found = [rows.get(call.runtime_key * _SLOTS + i) for i in range(len(dtypes))]
            if any(f is None for f in found):
                continue  # this call's graph has not run
            infos = [TensorInfo(tuple(f), dtype) for f, dtype in zip(found, dtypes) if f is not None]
            call.run_inputs, call.run_outputs = infos[:n_inputs], infos[n_inputs:]

    def _declared(self, layer: Any, args: tuple[Any, ...]) -> tuple[list[TensorInfo] | None, str | None]:
        import keras

        if type(layer).compute_output_shape is keras.layers.Layer.compute_output_shape or not args:
            return None, None

        def shape_of(x: Any) -> Any:
            info = tensor_info(x)
            return x if info is None or info.shape is None else info.shape

        # one shape (structure) per positional argument, as Keras passes them to compute_output_shape
        shapes = [keras.tree.map_structure(shape_of, a) for a in args if tensors_of(a)]
        try:
            declared = layer.compute_output_shape(*shapes)
        except Exception as e:
            return None, error_line(e)
        if isinstance(declared, tuple) and all(d is None or isinstance(d, int) for d in declared):
            declared = [declared]
        try:
            return [TensorInfo(tuple(s), "") for s in declared], None
        except TypeError:
            return None, None

    def _keep(self, call: LayerCall, layer_id: int, layer: Any, args: tuple[Any, ...]) -> LayerCall | None:
        key = (
            layer_id,
            call.mode,
            call.called_at,
            tuple((t.shape, t.dtype) for t in call.inputs),
            tuple((t.shape, t.dtype) for t in call.outputs),
            call.error,
            call.function,
        )
        seq = self._next()
        kept = self.layer_calls.get(key)
        if kept is not None:
            kept.count += 1
            kept.last_seq = seq
            self.recent.append((seq, kept))
            return kept
        if len(self.layer_calls) >= MAX_DISTINCT:
            self.dropped += 1
            return None
        call.seq = call.last_seq = seq
        if self.compute_output_shapes and call.error is None and call.kind == "layer":
            call.declared_outputs, call.declared_error = self._declared(layer, args)
        self.layer_calls[key] = call
        self.recent.append((seq, call))
        return call

    # tf.function

    def _wrap_function_call(self, original: Callable[..., Any]) -> Callable[..., Any]:
        recorder = self

        def __call__(function: Any, *args: Any, **kwargs: Any) -> Any:
            return recorder._function_call(original, function, args, kwargs, sys._getframe(1))

        return __call__

    def _function_call(
        self,
        original: Callable[..., Any],
        function: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        caller: Any,
    ) -> Any:
        import tensorflow as tf

        python_function = getattr(function, "python_function", None)
        code = getattr(python_function, "__code__", None)
        signature = getattr(function, "input_signature", None)
        before = function.experimental_get_tracing_count()
        call = FunctionCall(
            seq=0,
            name=str(getattr(python_function, "__qualname__", None) or getattr(function, "__name__", "?")),
            defined_at=f"{code.co_filename}:{code.co_firstlineno}" if code else None,
            called_at=user_frame(caller),
            mode="eager" if tf.executing_eagerly() else "graph",
            inputs=tensors_of((args, kwargs)),
            traced=False,
            tracing_count=before,
            input_signature=tensors_of(signature) if signature is not None else None,
            jit_compile=getattr(function, "_jit_compile", None),
        )
        stack = self._stack()
        depth = len(stack)
        if depth == 0:
            self._local.unwinding = self._local.unwinding_layer = None
        stack.append(call)
        try:
            out = original(function, *args, **kwargs)
        except BaseException as e:
            stack.pop()
            call.error = error_line(e)
            call.tracing_count = function.experimental_get_tracing_count()
            call.traced = call.tracing_count != before
            self._fail(call, depth)
            self._keep_function(call)
            raise
        stack.pop()
        self._returned(depth)
        call.tracing_count = function.experimental_get_tracing_count()
        call.traced = call.tracing_count != before
        self._keep_function(call)
        return out

    def _keep_function(self, call: FunctionCall) -> None:
        key = (
            call.name,
            call.defined_at,
            call.mode,
            tuple((t.shape, t.dtype) for t in call.inputs),
            call.traced,
            call.error,
        )
        seq = self._next()
        kept = self.function_calls.get(key)
        if kept is not None:
            kept.count += 1
            kept.last_seq = seq
            kept.tracing_count = call.tracing_count
            self.recent.append((seq, kept))
            return
        if len(self.function_calls) >= MAX_DISTINCT:
            self.dropped += 1
            return
        call.seq = call.last_seq = seq
        self.function_calls[key] = call
        self.recent.append((seq, call))

    # Failures
    #
    # An exception unwinds through the calls that enclose the one it was raised in; Keras and
    # TensorFlow re-raise it on the way as new exceptions with rebuilt tracebacks, so it cannot be
    # followed by identity. Instead the first call to raise is kept while the exception unwinds
    # through its enclosing calls (shallower ones), and forgotten once a call at its depth or above
    # returns normally (the exception was handled) or a new top-level call starts.

    def _fail(self, call: LayerCall | FunctionCall, depth: int) -> None:
        for slot in ("unwinding", "unwinding_layer") if isinstance(call, LayerCall) else ("unwinding",):
            unwinding = getattr(self._local, slot, None)
            if unwinding is None or unwinding[1] <= depth:
                setattr(self._local, slot, (call, depth))

    def _returned(self, depth: int) -> None:
        for slot in ("unwinding", "unwinding_layer"):
            unwinding = getattr(self._local, slot, None)
            if unwinding is not None and unwinding[1] >= depth:
                setattr(self._local, slot, None)

    def failure(self) -> LayerCall | FunctionCall | None:
        """The innermost call the exception now unwinding (or last escaped) was raised in."""
        unwinding = getattr(self._local, "unwinding", None)
        return unwinding[0] if unwinding is not None else None

    def failed_layer(self) -> LayerCall | None:
        """The innermost layer (or loss) call it was raised in, perhaps around a tf.function that raised."""
        unwinding = getattr(self._local, "unwinding_layer", None)
        return unwinding[0] if unwinding is not None else None

    def layers_named(self, name: str) -> list[LayerCall]:
        """Layers created under ``name`` while recording, as records (``mode="created"``): how the
        message's own names (``Input 0 with name 'pixels' of layer 'model'``) are found even for a
        layer that was never called, such as a model's ``InputLayer``."""
        out = []
        for layer, created_at in list(self._created.items()):
            if getattr(layer, "name", None) != name:
                continue
            shape = getattr(layer, "batch_shape", None)
            dtype = str(getattr(layer, "dtype", "") or "")
            outputs = [TensorInfo(tuple(shape), dtype)] if isinstance(shape, (tuple, list)) else []
            out.append(LayerCall(0, name, type(layer).__name__, created_at, None, "created", 0, [], outputs))
        return out

    # Output

    def calls_in_order(self) -> list[LayerCall | FunctionCall]:
        calls: list[LayerCall | FunctionCall] = [*self.layer_calls.values(), *self.function_calls.values()]
        return sorted(calls, key=lambda c: c.seq)

    def to_dict(self) -> dict[str, Any]:
        self.read_run_shapes()
        return {
            "layer_calls": [asdict(c) for c in sorted(self.layer_calls.values(), key=lambda c: c.seq)],
            "function_calls": [asdict(c) for c in sorted(self.function_calls.values(), key=lambda c: c.seq)],
            "checks": [asdict(c) for c in self.checks],
            "dropped": self.dropped,
        }
