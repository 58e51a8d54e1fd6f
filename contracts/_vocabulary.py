"""The names a client gives its dims and layouts, and its own likely-cause hints.

The library knows no domain: a client registers its vocabulary for a scope (a package name), and
every contract defined in that package names layouts and gives hints in those words::

    register_vocabulary(
        scope="mypkg",
        dims=[Dim("B", "examples in a batch")],
        layouts=[Layout("tokens", "B T D", "one sequence per row")],
        hints=[my_hint],
    )

A hint is called with a ``DimConflict`` when a dim is refuted and returns a sentence or None. With
nothing registered, errors carry the generic hints of ``_errors`` only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Dim:
    """One named dim: its letter in specs and what it means."""

    name: str
    meaning: str
    notes: str = ""


@dataclass(frozen=True)
class Layout:
    """A named tensor layout, written in the dims of its vocabulary."""

    name: str
    spec: str
    description: str = ""


@dataclass(frozen=True)
class DimConflict:
    """A refuted dim, as a hint sees it: ``argument`` has ``value`` where ``bound`` was expected."""

    dim: str
    value: int
    bound: int
    bound_source: str
    argument: str
    known: Mapping[str, int]


Hint = Callable[[DimConflict], "str | None"]


@dataclass(frozen=True)
class Vocabulary:
    """Dims, layouts and hints of one scope (or the merge of several)."""

    dims: Mapping[str, Dim] = field(default_factory=dict)
    layouts: tuple[Layout, ...] = ()
    hints: tuple[Hint, ...] = ()

    def layout_of(self, spec_text: str) -> str | None:
        """The name of the layout written exactly as ``spec_text``, if any."""
        for layout in self.layouts:
            if layout.spec == spec_text:
                return layout.name
        return None


EMPTY = Vocabulary()
_scopes: dict[str, Vocabulary] = {}


def register_vocabulary(
    scope: str,
    dims: Iterable[Dim] = (),
    layouts: Iterable[Layout] = (),
    hints: Iterable[Hint] = (),
) -> Vocabulary:
    """Name the dims and layouts of the contracts defined in package ``scope``; returns its vocabulary.

    Registering the same scope again adds to it; a dim or layout name already registered there
    with another definition is refused (``ValueError``), and re-registering an identical one is a
    no-op, so importing a registering module twice is harmless.
    """
    if not isinstance(scope, str) or not scope or scope.startswith(".") or scope.endswith("."):
        raise ValueError(
            f"register_vocabulary: scope must be a package name such as 'mypkg'; received: scope={scope!r}"
        )
    current = _scopes.get(scope, EMPTY)
    merged_dims = dict(current.dims)
    for dim in dims:
        seen = merged_dims.get(dim.name)
        if seen is not None and seen != dim:
            raise ValueError(
                f"register_vocabulary: dim {dim.name!r} of scope {scope!r} is already registered as {seen}; "
                f"received: {dim}"
            )
        merged_dims[dim.name] = dim
    merged_layouts = list(current.layouts)
    for layout in layouts:
        seen_layout = next((known for known in merged_layouts if known.name == layout.name), None)
        if seen_layout is not None and seen_layout != layout:
            raise ValueError(
                f"register_vocabulary: layout {layout.name!r} of scope {scope!r} is already registered as "
                f"{seen_layout}; received: {layout}"
            )
        if seen_layout is None:
            merged_layouts.append(layout)
    merged_hints = list(current.hints)
    merged_hints += [hint for hint in hints if hint not in merged_hints]
    vocabulary = Vocabulary(merged_dims, tuple(merged_layouts), tuple(merged_hints))
    _scopes[scope] = vocabulary
    return vocabulary


def vocabulary_for(module: str) -> Vocabulary:
    """The vocabulary of the innermost registered scope that contains ``module`` (empty if none)."""
    best = ""
    for scope in _scopes:
        if (module == scope or module.startswith(scope + ".")) and len(scope) > len(best):
            best = scope
    return _scopes.get(best, EMPTY)


def registered_scopes() -> dict[str, Vocabulary]:
    """Every registered scope and its vocabulary (a copy)."""
    return dict(_scopes)
