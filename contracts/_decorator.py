"""``@contract``: check a function's jaxtyping annotations on every call.

Eager calls on tensors take a fast path over a plan compiled once per function (shape tuples and
dicts only); anything else, and any failure, goes through ``_check.Call``, which writes the message,
so eager and trace-time messages are the same text. The wrapper is an AutoGraph artifact, so
AutoGraph calls it as it is (no "could not transform" warning); the wrapped function is still
converted when AutoGraph is on, exactly as if it were called undecorated.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import tensorflow as tf

from ._check import Call
from ._compat import (
    AUTOGRAPH_ARTIFACT_ATTRIBUTE,
    EagerTensor,
    autograph_convert,
    autograph_enabled,
    eager_shape,
)
from ._mode import get_mode
from ._registry import recording_active, register
from ._spec import ArraySpec, FunctionSpec, build_function_spec

F = TypeVar("F", bound=Callable[..., Any])

_ANY, _FIXED, _NAMED, _EXPR = 0, 1, 2, 3
_NO_BUILTINS: dict[str, Any] = {"__builtins__": {}}


def _axes_plan(spec: ArraySpec) -> tuple[Any, ...] | None:
    if spec.ellipsis_at is not None or spec.array_kind != "tf":
        return None
    plan: list[tuple[int, Any]] = []
    for ax in spec.axes:
        if ax.kind == "any":
            plan.append((_ANY, None))
        elif ax.kind == "fixed":
            plan.append((_FIXED, ax.size))
        elif ax.kind == "named":
            plan.append((_NAMED, ax.name))
        else:
            plan.append((_EXPR, ax.code))
    return tuple(plan)


def _compile_plan(fspec: FunctionSpec) -> tuple[Any, ...] | None:
    """(params, returns) for the eager fast path, or None if any spec needs the general path."""
    params = []
    for p in fspec.params:
        axes = _axes_plan(p.spec)
        if axes is None:
            return None
        params.append((p.index, p.name, p.default, p.spec.tf_dtypes, axes))
    returns = []
    for r in fspec.returns:
        axes = _axes_plan(r)
        if axes is None:
            return None
        returns.append((r.tf_dtypes, axes))
    return tuple(params), tuple(returns)


def _fast_value(x: Any, dtypes: Any, axes: tuple[Any, ...], env: dict[str, Any], exprs: list[Any]) -> bool:
    if type(x) is not EagerTensor or (dtypes is not None and x.dtype not in dtypes):
        return False
    shape = eager_shape(x)
    if len(shape) != len(axes):
        return False
    for (kind, payload), size in zip(axes, shape):
        if kind == _NAMED:
            seen = env.get(payload)
            if seen is None:
                env[payload] = size
            elif seen != size:
                return False
        elif kind == _FIXED:
            if size != payload:
                return False
        elif kind == _EXPR:
            exprs.append((payload, size))
    return True


def _fast_exprs(exprs: list[Any], env: dict[str, Any], waiting: list[Any] | None = None) -> bool:
    for code, size in exprs:
        try:
            value = eval(code, _NO_BUILTINS, env)
        except NameError:
            if waiting is None:
                return False
            waiting.append((code, size))  # uses a dim only the return value binds
            continue
        if value != size:
            return False
    return True


def _fast_inputs(
    plan: tuple[Any, ...],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    env: dict[str, Any],
    waiting: list[Any],
) -> bool:
    exprs: list[Any] = []
    for index, name, default, dtypes, axes in plan[0]:
        x = args[index] if index is not None and index < len(args) else kwargs.get(name, default)
        if not _fast_value(x, dtypes, axes, env, exprs):
            return False
    return _fast_exprs(exprs, env, waiting)


def _fast_outputs(
    plan: tuple[Any, ...], out: Any, returns_tuple: bool, env: dict[str, Any], waiting: list[Any]
) -> bool:
    returns = plan[1]
    if not returns:
        return not waiting
    outs = out if returns_tuple else (out,)
    if not isinstance(outs, (tuple, list)) or len(outs) != len(returns):
        return False
    exprs: list[Any] = []
    for (dtypes, axes), x in zip(returns, outs):
        if not _fast_value(x, dtypes, axes, env, exprs):
            return False
    return _fast_exprs(exprs + waiting, env)


def _gate(x: Any, ops: list[Any]) -> Any:
    """``x`` again, available only after ``ops`` ran (so a deferred check fires before use)."""
    if isinstance(x, tf.Tensor) and not isinstance(x, EagerTensor):
        with tf.control_dependencies(ops):
            return tf.identity(x)
    return x


def _invoke(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if not tf.executing_eagerly():
        ctx = autograph_enabled()
        if ctx is not None:
            return autograph_convert(fn, ctx)(*args, **kwargs)
    return fn(*args, **kwargs)


def _checked_call(
    fspec: FunctionSpec, fn: Callable[..., Any], mode: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    call = Call(fspec, mode)
    values, waiting = call.check_arguments(args, kwargs)
    if call.deferred_ops:
        ops = list(call.deferred_ops)
        gated = list(args)
        kwargs = dict(kwargs)
        for k, _ in values:
            p = fspec.params[k]
            if p.index is not None and p.index < len(gated):
                gated[p.index] = _gate(gated[p.index], ops)
            elif p.name in kwargs:
                kwargs[p.name] = _gate(kwargs[p.name], ops)
        args = tuple(gated)
    out = _invoke(fn, args, kwargs)
    return check_returns(call, fspec, out, waiting)


def return_labels(fspec: FunctionSpec, suffix: str = "") -> list[str]:
    """How messages name the returned values: "return value", or "return value [i]" for a tuple."""
    if not fspec.returns_tuple:
        return [f"return value{suffix}"]
    return [f"return value [{i}]{suffix}" for i in range(len(fspec.returns))]


def check_returns(call: Call, fspec: FunctionSpec, out: Any, waiting: list[Any] | None = None) -> Any:
    """Check the return value, then argument expressions that waited for a dim it binds."""
    if not fspec.returns:
        return out
    before = len(call.deferred_ops)
    if fspec.returns_tuple:
        if not isinstance(out, (tuple, list)) or len(out) != len(fspec.returns):
            got = (
                f"{type(out).__name__} of length {len(out)}"
                if isinstance(out, (tuple, list))
                else type(out).__name__
            )
            call._fail(
                "not_tensor",
                "return value",
                fspec.returns[0],
                got,
                None,
                f"returned {got}, the contract expects a tuple of {len(fspec.returns)}",
            )
        outs = list(out)
    else:
        outs = [out]
    call.check_outputs(return_labels(fspec), outs, waiting or [])
    if len(call.deferred_ops) == before:
        return out
    ops = call.deferred_ops[before:]
    gated = [_gate(o, ops) for o in outs]
    return type(out)(gated) if fspec.returns_tuple else gated[0]


def contract(fn: F) -> F:
    """Check ``fn``'s jaxtyping-annotated arguments and return value on every call.

    Raises ``ContractDefinitionError`` now if a spec is malformed. Calls raise
    ``ShapeContractError`` when a shape or dtype is refuted; dims unknown at trace time are
    checked when the graph runs (see ``contracts._runtime``). The mode is read at every call.
    """
    fspec = build_function_spec(fn)
    register(fspec)
    plan = _compile_plan(fspec)
    returns_tuple = fspec.returns_tuple

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        mode = get_mode()
        if mode == "off":
            return fn(*args, **kwargs)
        if plan is not None and not recording_active():
            env: dict[str, Any] = {}
            waiting: list[Any] = []
            if _fast_inputs(plan, args, kwargs, env, waiting):
                out = fn(*args, **kwargs)
                if _fast_outputs(plan, out, returns_tuple, env, waiting):
                    return out
                call = Call(fspec, mode)
                return check_returns(call, fspec, out, call.check_arguments(args, kwargs)[1])
        return _checked_call(fspec, fn, mode, args, kwargs)

    setattr(wrapper, AUTOGRAPH_ARTIFACT_ATTRIBUTE, frozenset())  # AutoGraph: call as is
    wrapper.__contract__ = fspec  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]
