"""Parse jaxtyping annotations into the specs the checker works on.

The parsed dims are jaxtyping's own (``cls.dims``), reached through ``_compat``. Everything that
can be wrong with a spec is reported here, at decoration time, with the spec and the position of
the offending axis.
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import os
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import tensorflow as tf
from jaxtyping import AbstractArray

from . import _compat
from ._errors import ContractDefinitionError

AxisKind = Literal["fixed", "named", "expr", "any", "ellipsis", "variadic"]

_ALLOWED_EXPR_NODES = (
    ast.Expression,
    ast.BinOp,
    ast.UnaryOp,
    ast.Name,
    ast.Load,
    ast.Constant,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.FloorDiv,
    ast.USub,
)


@dataclass(frozen=True)
class Axis:
    """One axis of a spec as written: ``64``, ``N``, ``B*C``, ``_``, ``...`` or ``*batch``."""

    kind: AxisKind
    text: str
    size: int | None = None
    name: str | None = None
    code: types.CodeType | None = None
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class ArraySpec:
    """The shape and dtype an annotation asks for."""

    annotation: str  # e.g. "Float[tf.Tensor, 'B N N C']"
    text: str  # "B N N C"
    dtype_label: str  # "Float"
    tf_dtypes: frozenset[tf.dtypes.DType] | None  # None: any dtype
    dtype_names: frozenset[str] | None
    array_kind: Literal["tf", "numpy", "any"]
    axes: tuple[Axis, ...]
    ellipsis_at: int | None
    optional: bool = False

    @property
    def fixed_rank(self) -> int | None:
        return None if self.ellipsis_at is not None else len(self.axes)

    def names_bound(self) -> set[str]:
        return {a.name for a in self.axes if a.kind == "named" and a.name}


@dataclass(frozen=True)
class ParamSpec:
    name: str
    index: int | None  # positional index, None for keyword-only
    spec: ArraySpec
    default: Any


@dataclass(frozen=True)
class FunctionSpec:
    """All contracted arguments and the return value of one function."""

    qualname: str
    module: str
    location: str  # "path/file.py:LINE"
    params: tuple[ParamSpec, ...]
    returns: tuple[ArraySpec, ...]
    returns_tuple: bool

    @property
    def label(self) -> str:
        return f"{self.qualname} ({self.location})"


def _dtype_sets(dtypes: Any) -> tuple[frozenset[tf.dtypes.DType] | None, frozenset[str] | None]:
    if dtypes is _compat.ANY_DTYPE:
        return None, None
    names: set[str] = set()
    tf_dtypes: set[tf.dtypes.DType] = set()
    for d in dtypes:
        if not isinstance(d, str):
            continue  # regex dtypes (structured numpy arrays) never match a tensor
        names.add(d)
        with contextlib.suppress(TypeError):
            tf_dtypes.add(tf.as_dtype(d))
    return frozenset(tf_dtypes), frozenset(names)


def _parse_expr(text: str, where: str) -> tuple[types.CodeType, tuple[str, ...]]:
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as e:
        raise ContractDefinitionError(f"{where}: '{text}' is not a valid dim expression ({e.msg})") from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_EXPR_NODES):
            raise ContractDefinitionError(
                f"{where}: '{text}' uses {type(node).__name__}; dim expressions may use "
                "names, integers and + - * // only"
            )
    names = tuple(sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}))
    return compile(tree, f"<dim {text}>", "eval"), names


def _parse_axes(cls: Any, where: str) -> tuple[tuple[Axis, ...], int | None]:
    words = cls.dim_str.split()
    axes: list[Axis] = []
    for i, (dim, word) in enumerate(zip(cls.dims, words)):
        at = f"{where} axis {i} ('{word}')"
        if dim is _compat.ANONYMOUS_DIM:
            axes.append(Axis("any", word))
        elif dim is _compat.ANONYMOUS_VARIADIC_DIM:
            axes.append(Axis("ellipsis", word))
        elif isinstance(dim, _compat.FixedDim):
            if dim.broadcastable:
                raise ContractDefinitionError(f"{at}: broadcastable dims (#) are not supported")
            axes.append(Axis("fixed", word, size=int(dim.size)))
        elif isinstance(dim, _compat.NamedDim):
            if dim.broadcastable or dim.treepath:
                raise ContractDefinitionError(
                    f"{at}: broadcastable (#) and tree-path (?) dims are not supported"
                )
            axes.append(Axis("named", word, name=dim.name))
        elif isinstance(dim, _compat.NamedVariadicDim):
            axes.append(Axis("variadic", word, name=dim.name))
        elif isinstance(dim, _compat.SymbolicDim):
            code, names = _parse_expr(str(dim.elem), at)
            axes.append(Axis("expr", word, code=code, names=names))
        else:  # pragma: no cover - a jaxtyping version we have not read
            raise ContractDefinitionError(f"{at}: unknown jaxtyping dim {dim!r}")
    variadic = [i for i, a in enumerate(axes) if a.kind in ("ellipsis", "variadic")]
    return tuple(axes), (variadic[0] if variadic else None)


def _array_kind(array_type: Any, where: str) -> Literal["tf", "numpy", "any"]:
    if array_type is Any:
        return "any"
    if isinstance(array_type, type) and issubclass(array_type, np.ndarray):
        return "numpy"
    if isinstance(array_type, type) and (
        issubclass(array_type, (tf.Tensor, tf.Variable)) or array_type.__name__ == "KerasTensor"
    ):
        return "tf"
    raise ContractDefinitionError(
        f"{where}: array type {array_type!r} is not supported (use tf.Tensor or np.ndarray)"
    )


def _is_array_annotation(ann: Any) -> bool:
    return isinstance(ann, type) and issubclass(ann, AbstractArray)


def parse_annotation(ann: Any, where: str) -> ArraySpec | None:
    """An ArraySpec for a jaxtyping annotation (or Optional of one); None for anything else."""
    optional = False
    origin = typing.get_origin(ann)
    if origin in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(ann) if a is not type(None)]
        optional = len(members) < len(typing.get_args(ann))
        arrays = [a for a in members if _is_array_annotation(a)]
        if not arrays:
            return None
        if len(arrays) != len(members) or len({a.dim_str for a in arrays}) != 1:
            raise ContractDefinitionError(
                f"{where}: a union of array annotations must share one shape spec and hold "
                f"nothing else; got {ann!r}"
            )
        spec = parse_annotation(arrays[0], where)
        assert spec is not None
        tf_sets = [parse_annotation(a, where).tf_dtypes for a in arrays]  # type: ignore[union-attr]
        name_sets = [parse_annotation(a, where).dtype_names for a in arrays]  # type: ignore[union-attr]
        any_dtype = any(s is None for s in tf_sets)
        return ArraySpec(
            annotation=" | ".join(a.__name__ for a in arrays) + (" | None" if optional else ""),
            text=spec.text,
            dtype_label=" | ".join(a.dtype.__name__ for a in arrays),
            tf_dtypes=None if any_dtype else frozenset().union(*tf_sets),  # type: ignore[arg-type]
            dtype_names=None if any_dtype else frozenset().union(*name_sets),  # type: ignore[arg-type]
            array_kind=spec.array_kind,
            axes=spec.axes,
            ellipsis_at=spec.ellipsis_at,
            optional=optional,
        )
    if not _is_array_annotation(ann):
        return None
    axes, ellipsis_at = _parse_axes(ann, where)
    tf_dtypes, dtype_names = _dtype_sets(ann.dtypes)
    return ArraySpec(
        annotation=ann.__name__,
        text=ann.dim_str,
        dtype_label=ann.dtype.__name__,
        tf_dtypes=tf_dtypes,
        dtype_names=dtype_names,
        array_kind=_array_kind(ann.array_type, where),
        axes=axes,
        ellipsis_at=ellipsis_at,
    )


def _location(fn: Any) -> str:
    code = getattr(inspect.unwrap(fn), "__code__", None)
    if code is None:
        return "<unknown>"
    path = code.co_filename
    try:
        rel = os.path.relpath(path)
        path = rel if not rel.startswith("..") else path
    except ValueError:
        pass
    return f"{path}:{code.co_firstlineno}"


def build_function_spec(fn: Any) -> FunctionSpec:
    """Read every jaxtyping annotation of ``fn``; raise ContractDefinitionError on a bad spec."""
    qualname = getattr(fn, "__qualname__", repr(fn))
    try:
        hints = typing.get_type_hints(fn)
    except Exception as e:
        raise ContractDefinitionError(f"contract for {qualname}: cannot resolve its annotations ({e})") from e
    sig = inspect.signature(fn)
    params: list[ParamSpec] = []
    for pos, (name, p) in enumerate(sig.parameters.items()):
        if name not in hints or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        where = f"contract for {qualname}: argument {name}"
        spec = parse_annotation(hints[name], where)
        if spec is None:
            continue
        index = pos if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) else None
        default = p.default if p.default is not p.empty else inspect.Parameter.empty
        params.append(ParamSpec(name, index, spec, default))

    returns: list[ArraySpec] = []
    returns_tuple = False
    ret = hints.get("return")
    if ret is not None:
        if typing.get_origin(ret) is tuple:
            returns_tuple = True
            for i, member in enumerate(typing.get_args(ret)):
                s = parse_annotation(member, f"contract for {qualname}: return value [{i}]")
                if s is None:
                    raise ContractDefinitionError(
                        f"contract for {qualname}: return value [{i}] is {member!r}; "
                        "every member of a returned tuple must be an array annotation"
                    )
                returns.append(s)
        else:
            s = parse_annotation(ret, f"contract for {qualname}: return value")
            if s is not None:
                returns.append(s)

    _check_expression_names(qualname, params, returns)
    return FunctionSpec(
        qualname=qualname,
        module=getattr(fn, "__module__", "?"),
        location=_location(fn),
        params=tuple(params),
        returns=tuple(returns),
        returns_tuple=returns_tuple,
    )


def _check_expression_names(qualname: str, params: list[ParamSpec], returns: list[ArraySpec]) -> None:
    """Every name in a dim expression must be bound by a named axis somewhere."""
    bound: set[str] = set()
    for p in params:
        bound |= p.spec.names_bound()
    for r in returns:
        bound |= r.names_bound()
    owners = [(f"argument {p.name}", p.spec) for p in params]
    owners += [("return value", r) for r in returns]
    for owner, spec in owners:
        for i, axis in enumerate(spec.axes):
            missing = [n for n in axis.names if n not in bound]
            if missing:
                raise ContractDefinitionError(
                    f"contract for {qualname}: {owner} '{spec.text}' axis {i} ('{axis.text}') "
                    f"uses {', '.join(missing)}, which no named axis binds"
                )
