"""The import graph, read from the source with ``ast`` (nothing is imported, so this runs in a second).

- ``contracts`` is a generic library: it imports nothing from ``ptycho`` or ``diagnostics``;
- the old import paths of ``ptycho`` (``SHIMS``) are thin re-export modules: a docstring, then
  ``from .x import name as name`` lines, each naming something the target module defines;
- nothing inside ``ptycho`` imports one of them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHIMS = {
    f"ptycho.{name}"
    for name in (
        "tf_helper",
        "projective_warp_xla",
        "custom_layers",
        "raw_data",
        "loader",
        "train_pinn",
        "probe",
        "objects",
        "simulation",
        "layouts",
        "reassembly",
        "translation",
        "diffsim",
        "model_manager",
        "nbutils",
        "workflows",
        "workflows.components",
    )
}
COMPAT = "ptycho.compat"
# Old paths that are also the stack's own package: they may load the compatibility layer lazily.
OLD_PATH_PACKAGES = {"ptycho.model"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources(package: str) -> dict[str, Path]:
    return {_module_name(p): p for p in sorted((ROOT / package).rglob("*.py"))}


def _package_of(module: str, path: Path) -> str:
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def _imports(module: str, path: Path) -> set[str]:
    """Every module ``path`` imports, absolute; ``from a import b`` counts ``a`` and ``a.b``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _package_of(module, path).split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def _top_level_names(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


PTYCHO = _sources("ptycho")


def test_contracts_imports_nothing_from_the_stack_or_the_diagnostics():
    offending = {
        module: sorted(i for i in _imports(module, path) if i.split(".")[0] in ("ptycho", "diagnostics"))
        for module, path in _sources("contracts").items()
    }
    assert not {m: i for m, i in offending.items() if i}


def test_every_shim_exists():
    assert PTYCHO.keys() >= SHIMS, sorted(SHIMS - PTYCHO.keys())


def test_nothing_inside_ptycho_imports_a_shim():
    offending = {
        module: sorted(_imports(module, path) & SHIMS)
        for module, path in PTYCHO.items()
        if module not in SHIMS
    }
    assert not {m: i for m, i in offending.items() if i}


def test_only_the_old_paths_import_the_compatibility_layer():
    """The stack does not depend on PtychoPINN's API: ``ptycho.compat`` is imported by the shims
    (and by itself) only."""
    offending = {
        module: sorted(i for i in _imports(module, path) if i == COMPAT or i.startswith(COMPAT + "."))
        for module, path in PTYCHO.items()
        if module not in SHIMS | OLD_PATH_PACKAGES
        and not (module == COMPAT or module.startswith(COMPAT + "."))
    }
    assert not {m: i for m, i in offending.items() if i}


@pytest.mark.parametrize("shim", sorted(SHIMS))
def test_a_shim_is_a_docstring_and_re_exports(shim):
    path = PTYCHO[shim]
    body = ast.parse(path.read_text()).body
    assert body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant), "no docstring"
    assert "compatibility path" in body[0].value.value
    for node in body[1:]:
        assert isinstance(node, ast.ImportFrom), f"{shim} line {node.lineno}: not an import"
        if node.module == "__future__":
            continue
        assert node.level >= 1 and node.module, (
            f"{shim} line {node.lineno}: not 'from .x import name as name'"
        )
        base = _package_of(shim, PTYCHO[shim]).split(".")
        target = ".".join([*base[: len(base) - (node.level - 1)], node.module])
        assert target not in SHIMS, f"{shim} re-exports from another shim, {target}"
        defined = _top_level_names(PTYCHO[target])
        for alias in node.names:
            assert alias.asname == alias.name, (
                f"{shim} line {node.lineno}: write '{alias.name} as {alias.name}'"
            )
            assert alias.name in defined, f"{shim}: {target} has no {alias.name}"
