"""Checks that can only be decided when the graph runs, and turning their failures back into errors.

A relation between dims that are ``None`` at trace time becomes ops inside a name scope that names
the contract (``shape_contract_<id>.<function>.<dim>.<argument>_ax<axis>``):

* ``tf.debugging.assert_equal``, which runs in ordinary graphs and fails with both values;
* a reshape of ``zeros([actual])`` to ``[expected]``. XLA ignores ``Assert`` (``jit_compile=True``),
  but it must compile this reshape with concrete sizes, so a mismatch fails at compile time with
  "Input to reshape is a tensor with <actual> values, but the requested shape has <expected>" and
  the scope in the node name;
* inside a graph XLA compiles, an op that needs each size as a compile-time constant (a
  ``one_hot`` of no indices with that depth, which holds no values). A size that a ``tf.cond``, a
  ``tf.where``, a boolean mask or a dynamic slice decides at run time inside the compiled function
  is not one: XLA would compile the reshape against its upper bound and the check would pass
  whatever the size. That op makes XLA refuse to compile instead, naming the contract.

``as_contract_error`` reads any of these failures back into a ``ShapeContractError`` with the same
fields as a trace-time violation. Each check is kept in a table under its id so the failure can be
read back; identical checks share one id, and the table is bounded (``MAX_CHECKS``, oldest dropped).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import tensorflow as tf

from ._compat import ASSERT_VALUES, NOT_COMPILE_TIME_CONSTANT, RESHAPE_VALUES, in_xla_context
from ._errors import Binding, ShapeContractError, Violation, make_error

MAX_CHECKS = 4096
_SCOPE_RE = re.compile(r"shape_contract_(\d+)")
_CONSTANT_RE = re.compile(r"shape_contract_\d+[^`'\s]*/(constant_actual|constant_expected)")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]")


@dataclass(frozen=True)
class DeferredCheck:
    """A relation left to run time: ``argument`` axis ``axis`` must equal ``expected``."""

    function: str  # "qualname (file:line)"
    qualname: str
    argument: str
    axis: int
    dim: str  # name or expression as written
    expected: str  # "images axis 0" or "B*C with B=?, C=4"
    spec: str
    layout: str | None = None
    dtype: str = "?"
    static_shape: tuple[int | None, ...] | None = None
    bindings: tuple[Binding, ...] = ()
    replica: str | None = None  # "replica 1 of 2": the strategy's replica this check runs on

    def describe(self) -> str:
        where = f" on {self.replica}" if self.replica else ""
        return (
            f"shape contract violated at run time in {self.function}{where}: dim {self.dim} of "
            f"{self.argument} (axis {self.axis}, spec {self.spec}) must equal {self.expected}"
        )


class _Table:
    """Checks by id and ids by check; identical checks share an id; at most MAX_CHECKS kept."""

    def __init__(self) -> None:
        self.by_id: dict[int, DeferredCheck] = {}
        self.ids: dict[DeferredCheck, int] = {}
        self.next_id = 1

    def key(self, check: DeferredCheck) -> int:
        found = self.ids.get(check)
        if found is not None:
            return found
        key = self.next_id
        self.next_id += 1
        self.by_id[key] = check
        self.ids[check] = key
        while len(self.by_id) > MAX_CHECKS:
            oldest = next(iter(self.by_id))
            del self.ids[self.by_id.pop(oldest)]
        return key

    def __len__(self) -> int:
        return len(self.by_id)


TABLE = _Table()


def _scope_name(key: int, check: DeferredCheck) -> str:
    parts = [f"shape_contract_{key}", check.qualname, check.dim, f"{check.argument}_ax{check.axis}"]
    return _UNSAFE.sub("_", ".".join(parts))


def _needs_constant(size: tf.Tensor, name: str) -> tf.Tensor:
    """A tensor of no values whose shape needs ``size`` as a compile-time constant under XLA."""
    with tf.name_scope(name):
        return tf.one_hot(tf.zeros([0], tf.int32), depth=size, dtype=tf.int8)


def emit_equal(actual: Any, expected: Any, check: DeferredCheck, after: list[Any] | None = None) -> Any:
    """Ops (in the current graph) that fail when ``actual != expected``; returns the last one.

    ``after``: tensors the check must wait for. A check downstream of another contract's gated
    output then cannot fail (or be compiled by XLA) before that contract's own check.
    """
    key = TABLE.key(check)
    with tf.name_scope(_scope_name(key, check)), tf.control_dependencies(after or []):
        actual = tf.cast(actual, tf.int32)
        expected = tf.cast(expected, tf.int32)
        asserted = tf.debugging.assert_equal(actual, expected, message=check.describe())
        before_guard: list[Any] = [asserted]
        if in_xla_context():
            before_guard += [
                _needs_constant(actual, "constant_actual"),
                _needs_constant(expected, "constant_expected"),
            ]
        with tf.control_dependencies(before_guard):
            guard = tf.reshape(tf.zeros(tf.reshape(actual, [1]), tf.int8), tf.reshape(expected, [1]))
    return guard.op


def _shape_with(
    static: tuple[int | None, ...] | None, axis: int, value: int | None
) -> tuple[int | None, ...] | None:
    if static is None or value is None or not 0 <= axis < len(static):
        return static
    return tuple(value if i == axis else d for i, d in enumerate(static))


def as_contract_error(exc: BaseException) -> ShapeContractError | None:
    """The ``ShapeContractError`` behind a run-time failure of a deferred check, or None."""
    text = str(exc)
    found = _SCOPE_RE.search(text)
    if found is None:
        return None
    check = TABLE.by_id.get(int(found.group(1)))
    if check is None:
        return None
    actual: int | None = None
    expected: int | None = None
    constant = _CONSTANT_RE.search(text)
    if constant is not None and NOT_COMPILE_TIME_CONSTANT.search(text):
        side = (
            f"{check.argument} axis {check.axis}"
            if constant.group(1) == "constant_actual"
            else check.expected
        )
        detail = (
            f"dim {check.dim}: the size of {side} is decided at run time inside the XLA-compiled "
            "function (a tf.cond, tf.where, boolean mask or dynamic slice made it dynamic); XLA drops "
            "run-time assertions, so the contract cannot check this size and refuses to compile it: "
            "make the size independent of the data, or run this part outside jit_compile"
        )
    else:
        values = RESHAPE_VALUES.search(text) or ASSERT_VALUES.search(text)
        if values is not None:
            actual, expected = int(values.group(1)), int(values.group(2))
            detail = (
                f"dim {check.dim}: {check.argument} axis {check.axis} is {actual}, "
                f"{check.expected} is {expected} (decided when the graph ran)"
            )
        else:
            detail = (
                f"dim {check.dim}: {check.argument} axis {check.axis} differs from {check.expected} "
                "(sizes not reported)"
            )
    bindings = tuple(
        Binding(b.name, expected, b.source)
        if b.value is None and b.name == check.dim and expected is not None
        else b
        for b in check.bindings
    )
    return make_error(
        Violation(
            kind="dim",
            function=check.function,
            argument=check.argument,
            expected=check.spec,
            layout=check.layout,
            actual_type=check.dtype,
            actual_shape=_shape_with(check.static_shape, check.axis, actual),
            detail=detail,
            dim=check.dim,
            value=actual,
            bound_value=expected,
            bound_source=check.expected,
            bindings=bindings,
            replica=check.replica,
        )
    )


@contextlib.contextmanager
def raising_contract_errors() -> Iterator[None]:
    """Re-raise a run-time failure of a deferred check as ``ShapeContractError``."""
    try:
        yield
    except (tf.errors.InvalidArgumentError, tf.errors.UnknownError) as e:
        converted = as_contract_error(e)
        if converted is None:
            raise
        raise converted from e
