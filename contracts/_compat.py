"""Every private name of jaxtyping, TensorFlow, AutoGraph and XLA that contracts relies on, and why.

Nothing else in ``contracts`` reaches into another library's internals: an upgrade that moves one
of these names fails here, in one place, and ``tests/test_contract_compat.py`` checks each against
the installed versions (pinned in ``pyproject.toml``).
"""

from __future__ import annotations

import re
from typing import Any

import tensorflow as tf
from jaxtyping import _array_types as _jaxtyping_arrays
from tensorflow.python.framework.ops import EagerTensor as EagerTensor
from tensorflow.python.ops import control_flow_util as _control_flow_util

# -- jaxtyping ----------------------------------------------------------------------------------
# jaxtyping parses "B N*2 _ ..." into dim objects on the annotation class (``cls.dims``) but has no
# public API for reading them; contracts checks TensorFlow tensors itself (jaxtyping's own checker
# needs concrete shapes, and contracts must also handle None dims while tracing), so it reads them.
ANONYMOUS_DIM: Any = _jaxtyping_arrays._anonymous_dim  # "_"
ANONYMOUS_VARIADIC_DIM: Any = _jaxtyping_arrays._anonymous_variadic_dim  # "..."
FixedDim: Any = _jaxtyping_arrays._FixedDim  # "64": .size, .broadcastable
NamedDim: Any = _jaxtyping_arrays._NamedDim  # "B": .name, .broadcastable, .treepath
NamedVariadicDim: Any = _jaxtyping_arrays._NamedVariadicDim  # "*rows": .name
SymbolicDim: Any = _jaxtyping_arrays._SymbolicDim  # "B*C": .elem (the expression text)
ANY_DTYPE: Any = _jaxtyping_arrays._any_dtype  # the dtypes of Shaped[...]: any dtype

# -- TensorFlow eager tensors ---------------------------------------------------------------------
# ``type(x) is EagerTensor`` is the cheapest exact test for "a concrete tensor" (tf.is_tensor also
# accepts symbolic tensors), and ``_shape_tuple`` returns the shape as a tuple of ints without
# building a TensorShape: together they keep the eager fast path at a few microseconds per call.


def eager_shape(x: Any) -> tuple[int, ...]:
    """The shape of an EagerTensor as a tuple of ints."""
    shape: tuple[int, ...] = x._shape_tuple()
    return shape


# -- AutoGraph ------------------------------------------------------------------------------------
# The contract wrapper is marked as an AutoGraph artifact (so AutoGraph calls it as it is, without
# a "could not transform" warning) and converts the wrapped function itself when AutoGraph is on,
# exactly as AutoGraph would have converted it undecorated. Both need AutoGraph's control status,
# which TensorFlow exposes only under ``tf.__internal__``.
AUTOGRAPH_ARTIFACT_ATTRIBUTE = "autograph_info__"


def autograph_enabled() -> Any:
    """AutoGraph's control-status context if AutoGraph is converting now, else None."""
    ctx = tf.__internal__.autograph.control_status_ctx()
    return ctx if ctx.status == ctx.status.ENABLED else None


def autograph_convert(fn: Any, ctx: Any) -> Any:
    return tf.__internal__.autograph.tf_convert(fn, ctx)


# -- XLA ----------------------------------------------------------------------------------------
# XLA ignores Assert, so a run-time check inside a compiled function needs other ops (see
# ``_runtime``); they are added only when the graph being built will be compiled by XLA, which
# only this private helper can tell (it also looks through nested function graphs).


def in_xla_context() -> bool:
    """True while building a graph that XLA will compile (``jit_compile=True`` or inside one)."""
    if tf.executing_eagerly():
        return False
    graph = tf.compat.v1.get_default_graph()
    return bool(_control_flow_util.GraphOrParentsInXlaContext(graph))


# -- tf.distribute ------------------------------------------------------------------------------
# Under a strategy every replica runs (and is traced with) its own share of the batch; a check
# that fails there names the replica, since the dims it saw are that replica's, not the batch's.


def current_replica() -> str | None:
    """``"replica 1 of 2"`` inside a replica of a strategy with several, else None."""
    if not tf.distribute.has_strategy() or tf.distribute.in_cross_replica_context():
        return None
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync < 2:
        return None
    index = tf.get_static_value(context.replica_id_in_sync_group)
    where = "?" if index is None else str(int(index))
    return f"replica {where} of {context.num_replicas_in_sync}"


# -- TensorFlow and XLA error texts ----------------------------------------------------------------
# A run-time failure of a check comes back as an InvalidArgumentError whose text is all we have;
# these are the texts TensorFlow 2.21 and XLA write for the three ops a check uses.
RESHAPE_VALUES = re.compile(r"tensor with (\d+) values, but the requested shape has (\d+)")
ASSERT_VALUES = re.compile(r"\[x \([^)]*\) = \] \[(-?\d+)\] \[y \([^)]*\) = \] \[(-?\d+)\]")
NOT_COMPILE_TIME_CONSTANT = re.compile(r"must be a compile-time constant")
