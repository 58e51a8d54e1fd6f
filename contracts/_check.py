"""The general checker: eager values, traced tensors with ``None`` dims, Keras symbolic tensors.

A dim whose size is known is proved or refuted now. A dim that is ``None`` at trace time is bound to
the tensor's dynamic size, and each relation it takes part in becomes a run-time check
(``_runtime.emit_equal``). Named and fixed axes of all arguments are bound first, then dim
expressions (``B*C``) are evaluated, so an expression may use a dim bound by a later argument.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import tensorflow as tf

from ._compat import current_replica
from ._errors import (
    Binding,
    Violation,
    likely_cause_for_dim,
    likely_cause_for_rank,
    make_error,
)
from ._mode import ContractMode
from ._registry import CheckEvent, ExecMode, emit, recording_active
from ._runtime import DeferredCheck, emit_equal
from ._spec import ArraySpec, Axis, FunctionSpec
from ._vocabulary import DimConflict, vocabulary_for

_MISSING = object()


@dataclass
class _Bound:
    value: int | None
    source: str
    dynamic: Callable[[], Any] | None = None  # builds tf.shape(x)[axis] on demand


@dataclass(eq=False)  # compared by identity: it holds tensors
class _Value:
    """One argument (or returned tensor) being checked."""

    argument: str
    spec: ArraySpec
    x: Any
    exec_mode: ExecMode
    static: tuple[int | None, ...] | None
    axis_of: list[tuple[int, Axis]] = field(default_factory=list)  # (tensor axis, spec axis)
    deferred: list[str] = field(default_factory=list)
    done: set[int] = field(default_factory=set)  # expression axes already checked
    _shape_tensor: Any = None

    def dynamic(self, axis: int) -> Callable[[], Any]:
        def build() -> Any:
            if self._shape_tensor is None:
                self._shape_tensor = tf.shape(self.x, out_type=tf.int32)
            return self._shape_tensor[axis]

        return build


def _type_name(x: Any) -> str:
    t = type(x)
    return f"{t.__module__}.{t.__qualname__}" if t.__module__ != "builtins" else t.__qualname__


def _dtype_name(x: Any) -> str:
    dtype = getattr(x, "dtype", None)
    return getattr(dtype, "name", str(dtype))


def _is_keras_tensor(x: Any) -> bool:
    return type(x).__name__ == "KerasTensor"


class Call:
    """Checks one call of a contracted function."""

    def __init__(self, fspec: FunctionSpec, mode: ContractMode) -> None:
        self.fspec = fspec
        self.mode = mode
        self.bindings: dict[str, _Bound] = {}
        self.variadic: dict[str, tuple[tuple[int | None, ...], str]] = {}
        self.deferred_ops: list[Any] = []
        self.anchors: list[Any] = []  # graph tensors checked so far: guards run after them
        self.record = recording_active()
        self.vocabulary = vocabulary_for(fspec.module)

    def layout(self, spec: ArraySpec) -> str | None:
        return self.vocabulary.layout_of(spec.text)

    # -- values -------------------------------------------------------------------------------

    def _value(self, argument: str, spec: ArraySpec, x: Any) -> _Value:
        if spec.array_kind == "numpy":
            ok = isinstance(x, np.ndarray)
        elif spec.array_kind == "tf":
            ok = tf.is_tensor(x) or isinstance(x, tf.Variable) or _is_keras_tensor(x)
        else:
            ok = hasattr(x, "shape") and hasattr(x, "dtype")
        if not ok:
            shape = tuple(x.shape) if isinstance(x, np.ndarray) else None
            wanted = {"numpy": "a numpy.ndarray", "tf": "a tf.Tensor"}.get(spec.array_kind, "an array")
            self._fail(
                "not_tensor",
                argument,
                spec,
                _type_name(x),
                shape,
                f"got {_type_name(x)}, expected {wanted}",
            )
        if isinstance(x, np.ndarray):
            return _Value(argument, spec, x, "eager", tuple(x.shape))
        if _is_keras_tensor(x):
            return _Value(argument, spec, x, "symbolic", tuple(x.shape))
        shape = x.shape
        static = None if shape.rank is None else tuple(shape.as_list())
        mode: ExecMode = "eager" if tf.executing_eagerly() else "graph"
        if mode == "graph" and isinstance(x, tf.Tensor):
            self.anchors.append(x)
        return _Value(argument, spec, x, mode, static)

    def _known(self) -> dict[str, int]:
        return {n: b.value for n, b in self.bindings.items() if b.value is not None}

    def _binding_tuple(self) -> tuple[Binding, ...]:
        return tuple(Binding(n, b.value, b.source) for n, b in self.bindings.items())

    def _fail(
        self,
        kind: Any,
        argument: str,
        spec: ArraySpec,
        actual_type: str,
        shape: tuple[int | None, ...] | None,
        detail: str,
        **extra: Any,
    ) -> None:
        violation = Violation(
            kind=kind,
            function=self.fspec.label,
            argument=argument,
            expected=spec.annotation,
            layout=self.layout(spec),
            actual_type=actual_type,
            actual_shape=shape,
            detail=detail,
            bindings=self._binding_tuple(),
            replica=current_replica(),
            **extra,
        )
        error = make_error(violation)
        if self.record:
            mode: ExecMode = "eager" if tf.executing_eagerly() else "graph"
            self._emit_event(argument, spec, shape, actual_type, "refuted", str(error), (), mode)
        raise error

    def _emit_event(
        self,
        argument: str,
        spec: ArraySpec,
        shape: tuple[int | None, ...] | None,
        dtype: str,
        outcome: Any,
        message: str | None,
        deferred: tuple[str, ...],
        exec_mode: ExecMode = "graph",
        concrete: tuple[int, ...] | None = None,
    ) -> None:
        emit(
            CheckEvent(
                function=self.fspec.qualname,
                location=self.fspec.location,
                argument=argument,
                spec=spec.text,
                layout=self.layout(spec),
                dtype=dtype,
                static_shape=shape,
                concrete_shape=concrete,
                bindings={n: b.value for n, b in self.bindings.items()},
                outcome=outcome,
                exec_mode=exec_mode,
                message=message,
                deferred=deferred,
                replica=current_replica(),
            )
        )

    # -- phase A: type, dtype, rank, named and fixed axes ---------------------------------------

    def bind(self, argument: str, spec: ArraySpec, x: Any) -> _Value:
        v = self._value(argument, spec, x)
        dtype = getattr(x, "dtype", None)
        if spec.tf_dtypes is not None:
            if isinstance(x, np.ndarray):
                ok = x.dtype.name in (spec.dtype_names or ())
            else:
                ok = tf.as_dtype(dtype) in spec.tf_dtypes
            if not ok:
                allowed = ", ".join(sorted(d.name for d in spec.tf_dtypes))
                self._fail(
                    "dtype",
                    argument,
                    spec,
                    _dtype_name(x),
                    v.static,
                    f"dtype is {_dtype_name(x)}, expected {spec.dtype_label} ({allowed})",
                )
        if v.static is None:
            v.deferred.append("rank unknown at trace time: not checked")
            return v
        rank, n_axes = len(v.static), len(spec.axes)
        if (spec.ellipsis_at is None and rank != n_axes) or (
            spec.ellipsis_at is not None and rank < n_axes - 1
        ):
            need = f"{n_axes}" if spec.ellipsis_at is None else f"at least {n_axes - 1}"
            self._fail(
                "rank",
                argument,
                spec,
                _dtype_name(x),
                v.static,
                f"rank is {rank}, the spec '{spec.text}' has {need} axes",
                likely_cause=likely_cause_for_rank(
                    v.static, self.layout(spec), self._known(), self.vocabulary
                ),
            )
        self._map_axes(v)
        for axis, ax in v.axis_of:
            if ax.kind == "fixed":
                self._relate(v, axis, ax.text, ax.size, None, "the spec", None)
            elif ax.kind == "named":
                assert ax.name is not None
                bound = self.bindings.get(ax.name)
                if bound is None:
                    dyn = v.dynamic(axis) if v.static[axis] is None else None
                    self.bindings[ax.name] = _Bound(v.static[axis], f"{argument} axis {axis}", dyn)
                else:
                    self._relate(v, axis, ax.name, bound.value, bound.dynamic, bound.source, bound)
        return v

    def _map_axes(self, v: _Value) -> None:
        spec, static = v.spec, v.static
        assert static is not None
        if spec.ellipsis_at is None:
            v.axis_of = list(enumerate(spec.axes))
            return
        head = spec.axes[: spec.ellipsis_at]
        tail = spec.axes[spec.ellipsis_at + 1 :]
        v.axis_of = list(enumerate(head))
        start = len(static) - len(tail)
        v.axis_of += [(start + i, ax) for i, ax in enumerate(tail)]
        middle = static[len(head) : start]
        var = spec.axes[spec.ellipsis_at]
        if var.kind == "variadic" and var.name:
            source = f"{v.argument} axes {len(head)}..{start - 1}"
            seen = self.variadic.get(var.name)
            if seen is None:
                self.variadic[var.name] = (middle, source)
            elif len(seen[0]) != len(middle) or any(
                a is not None and b is not None and a != b for a, b in zip(seen[0], middle)
            ):
                self._fail(
                    "dim",
                    v.argument,
                    spec,
                    _dtype_name(v.x),
                    static,
                    f"dims *{var.name} are {middle}, but *{var.name} = {seen[0]} was bound at {seen[1]}",
                    dim=f"*{var.name}",
                )

    # -- phase B: expressions -------------------------------------------------------------------

    def evaluate(self, v: _Value, final: bool = False) -> bool:
        """Check v's expression axes; False if one waits for a dim only the return value binds."""
        waiting = False
        for axis, ax in v.axis_of:
            if ax.kind != "expr":
                continue
            if not final and any(n not in self.bindings for n in ax.names):
                waiting = True
                continue
            if axis in v.done:
                continue
            v.done.add(axis)
            static_env = {n: self.bindings[n].value for n in ax.names}
            values = ", ".join(f"{n}={'?' if s is None else s}" for n, s in static_env.items())
            source = f"{ax.text} with {values}"
            if all(s is not None for s in static_env.values()):
                assert ax.code is not None
                expected = eval(ax.code, {"__builtins__": {}}, static_env)
                self._relate(v, axis, ax.text, int(expected), None, source, None)
            else:

                def build(ax: Axis = ax) -> Any:
                    env = {}
                    for n in ax.names:
                        b = self.bindings[n]
                        env[n] = b.value if b.value is not None else b.dynamic()  # type: ignore[misc]
                    assert ax.code is not None
                    return eval(ax.code, {"__builtins__": {}}, env)

                self._relate(v, axis, ax.text, None, build, source, None)
        return not waiting

    # -- relations --------------------------------------------------------------------------

    def _relate(
        self,
        v: _Value,
        axis: int,
        dim: str,
        expected: int | None,
        expected_dynamic: Callable[[], Any] | None,
        source: str,
        bound: _Bound | None,
    ) -> None:
        assert v.static is not None
        actual = v.static[axis]
        if actual is not None and expected is not None:
            if actual == expected:
                return
            swapped = self._swapped(v, axis)
            conflict = DimConflict(dim, actual, expected, source, v.argument, self._known())
            cause = (
                likely_cause_for_dim(conflict, swapped, self.vocabulary)
                if bound is not None or swapped
                else None
            )
            where = (
                f"but {dim} = {expected} was bound at {source}"
                if bound is not None
                else (
                    f"but the spec fixes it to {expected}"
                    if source == "the spec"
                    else f"but {source} gives {expected}"
                )
            )
            self._fail(
                "dim",
                v.argument,
                v.spec,
                _dtype_name(v.x),
                v.static,
                f"dim {dim} is {actual} at {v.argument} axis {axis}, {where}",
                dim=dim,
                value=actual,
                bound_value=expected,
                bound_source=source,
                likely_cause=cause,
            )
        relation = f"{dim}: {v.argument} axis {axis} == {source}"
        v.deferred.append(relation)
        if self.mode != "full" or v.exec_mode != "graph":
            return
        actual_t = v.dynamic(axis)() if actual is None else actual
        expected_t = expected if expected is not None else expected_dynamic()  # type: ignore[misc]
        check = DeferredCheck(
            function=self.fspec.label,
            qualname=self.fspec.qualname,
            argument=v.argument,
            axis=axis,
            dim=dim,
            expected=source,
            spec=v.spec.annotation,
            layout=self.layout(v.spec),
            dtype=_dtype_name(v.x),
            static_shape=v.static,
            bindings=self._binding_tuple(),
            replica=current_replica(),
        )
        self.deferred_ops.append(emit_equal(actual_t, expected_t, check, self.anchors))

    def _swapped(self, v: _Value, axis: int) -> tuple[int, int] | None:
        """Another axis j whose actual size is what this axis expects, and vice versa."""
        assert v.static is not None
        known = self._known()

        def expected_at(ax: Axis) -> int | None:
            if ax.kind == "fixed":
                return ax.size
            if ax.kind == "named" and ax.name in known:
                return known[ax.name]
            return None

        mine = dict(v.axis_of)[axis]
        for j, other in v.axis_of:
            if j == axis:
                continue
            want_here, want_there = expected_at(mine), expected_at(other)
            if (
                want_here is not None
                and want_there is not None
                and want_here != want_there
                and v.static[j] == want_here
                and v.static[axis] == want_there
            ):
                return (min(axis, j), max(axis, j))
        return None

    # -- whole calls ----------------------------------------------------------------------------

    def check_arguments(
        self, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[list[tuple[int, _Value]], list[_Value]]:
        """Bind and check every contracted argument: ``([(param number, value)], waiting)``.

        ``waiting``: arguments with an expression over a dim only the return value binds;
        ``check_outputs`` finishes them.
        """
        values = [
            (k, self.bind(self.fspec.params[k].name, self.fspec.params[k].spec, x))
            for k, x in argument_values(self.fspec, args, kwargs)
        ]
        waiting = [v for _, v in values if not self.evaluate(v)]
        for _, v in values:
            if v not in waiting:
                self.finish(v)
        return values, waiting

    def check_outputs(self, labels: list[str], outs: list[Any], waiting: list[_Value]) -> None:
        """Bind and check the returned values, then the arguments that waited for them."""
        checked = [self.bind(label, spec, o) for label, spec, o in zip(labels, self.fspec.returns, outs)]
        for v in checked:
            self.evaluate(v)
        for v in waiting:
            self.evaluate(v, final=True)
            self.finish(v)
        for v in checked:
            self.finish(v)

    def finish(self, v: _Value) -> None:
        if not self.record:
            return
        concrete = v.static if v.exec_mode == "eager" else None
        outcome = "deferred" if v.deferred else "proved"
        self._emit_event(
            v.argument,
            v.spec,
            v.static,
            _dtype_name(v.x),
            outcome,
            None,
            tuple(v.deferred),
            v.exec_mode,
            concrete,  # type: ignore[arg-type]  # eager shapes hold no None
        )


def argument_values(
    fspec: FunctionSpec, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> list[tuple[int, Any]]:
    """(param number, value) for every contracted argument that was passed or has a default."""
    out = []
    for k, p in enumerate(fspec.params):
        if p.index is not None and p.index < len(args):
            value = args[p.index]
        else:
            value = kwargs.get(p.name, _MISSING)
            if value is _MISSING:
                value = p.default
        if value is _MISSING or value is inspect.Parameter.empty:
            continue
        if value is None and p.spec.optional:
            continue
        out.append((k, value))
    return out
