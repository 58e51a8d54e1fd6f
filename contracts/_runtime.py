"""Checks that can only be decided when the graph runs, and turning their failures back into errors.

A relation between dims that are ``None`` at trace time becomes two ops, inside a name scope that
names the contract (``shape_contract_<id>.<function>.<dim>.<argument>_ax<axis>``):

* ``tf.debugging.assert_equal``, which runs in ordinary graphs and fails with the full message;
* a reshape of ``zeros([actual])`` to ``[expected]``. TensorFlow ignores ``Assert`` under XLA
  (``jit_compile=True``), but XLA must compile this reshape with concrete sizes, so a mismatch fails
  at compile time with "Input to reshape is a tensor with <actual> values, but the requested shape
  has <expected>" and the scope name in the node name.

The reshape runs after the assert (control dependency), so an ordinary graph reports the assert's
message. ``as_contract_error`` reads either failure back into a ``ShapeContractError``.
"""

from __future__ import annotations

import contextlib
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass

import tensorflow as tf

from ._errors import ShapeContractError, Violation

_SCOPE_RE = re.compile(r"shape_contract_(\d+)")
_RESHAPE_RE = re.compile(r"tensor with (\d+) values, but the requested shape has (\d+)")
_ASSERT_RE = re.compile(r"\[x \([^)]*\) = \] \[(-?\d+)\] \[y \([^)]*\) = \] \[(-?\d+)\]")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]")


@dataclass(frozen=True)
class DeferredCheck:
    """A relation left to run time: ``argument`` axis ``axis`` must equal ``expected``."""

    function: str  # "qualname (file:line)"
    qualname: str
    argument: str
    axis: int
    dim: str  # name or expression as written
    expected: str  # "images axis 0" or "B*C"
    spec: str
    layout: str | None = None

    def describe(self) -> str:
        return (
            f"shape contract violated at run time in {self.function}: dim {self.dim} of "
            f"{self.argument} (axis {self.axis}, spec {self.spec}) must equal {self.expected}"
        )


_table: dict[int, DeferredCheck] = {}
_ids = itertools.count(1)


def _scope_name(key: int, check: DeferredCheck) -> str:
    parts = [f"shape_contract_{key}", check.qualname, check.dim, f"{check.argument}_ax{check.axis}"]
    return _UNSAFE.sub("_", ".".join(parts))


def emit_equal(
    actual: tf.Tensor, expected: tf.Tensor, check: DeferredCheck, after: list | None = None
) -> tf.Operation:
    """Ops (in the current graph) that fail when ``actual != expected``; returns the last one.

    ``after``: tensors the check must wait for. A check downstream of another contract's gated
    output then cannot fail (or be compiled by XLA) before that contract's own check.
    """
    key = next(_ids)
    _table[key] = check
    with tf.name_scope(_scope_name(key, check)), tf.control_dependencies(after or []):
        actual = tf.cast(actual, tf.int32)
        expected = tf.cast(expected, tf.int32)
        asserted = tf.debugging.assert_equal(actual, expected, message=check.describe())
        with tf.control_dependencies([asserted]):
            guard = tf.reshape(
                tf.zeros(tf.reshape(actual, [1]), tf.int8), tf.reshape(expected, [1])
            )
    return guard.op


def as_contract_error(exc: BaseException) -> ShapeContractError | None:
    """The ``ShapeContractError`` behind a run-time failure of a deferred check, or None."""
    text = str(exc)
    found = _SCOPE_RE.search(text)
    if found is None:
        return None
    check = _table.get(int(found.group(1)))
    if check is None:
        return None
    values = _RESHAPE_RE.search(text) or _ASSERT_RE.search(text)
    if values is not None:
        actual, expected = values.group(1), values.group(2)
        sizes = f"{check.argument} axis {check.axis} is {actual}, {check.expected} is {expected}"
    else:
        sizes = "sizes not reported"
    message = "\n".join(
        [
            f"shape contract violated in {check.function}",
            f"  argument:     {check.argument}",
            f"  expected:     {check.spec}" + (f"  ({check.layout})" if check.layout else ""),
            f"  conflict:     dim {check.dim}: {sizes} (decided when the graph ran)",
        ]
    )
    error = ShapeContractError(message)
    error.violation = Violation(
        kind="dim", function=check.function, argument=check.argument, expected=check.spec,
        layout=check.layout, actual_type="?", actual_shape=None, detail=f"dim {check.dim}: {sizes}",
        dim=check.dim, value=int(values.group(1)) if values else None,
        bound_value=int(values.group(2)) if values else None, bound_source=check.expected,
    )
    return error


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
