"""The stack's dims vocabulary: registered with contracts, used by every spec in ``ptycho``, and its hints."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import contracts
import ptycho
from contracts import DimConflict
from ptycho.tensors import vocabulary
from ptycho.tensors.vocabulary import gridsize_hint, merged_batch_hint

CONVENTIONS = Path(__file__).resolve().parents[2] / "shared" / "CONVENTIONS.md"


def _import_all_of_ptycho() -> None:
    for info in pkgutil.walk_packages(ptycho.__path__, "ptycho."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)


def _spec_texts(fspec) -> list[str]:
    return [p.spec.text for p in fspec.params] + [r.text for r in fspec.returns]


def _names(spec_text: str) -> set[str]:
    """The dim names a spec uses: named axes and the names inside expressions such as ``B*C``, ``N//2``."""
    names = set()
    for word in spec_text.split():
        if word in ("...", "_") or word.startswith("*"):
            continue
        names.update(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", word))
    return names


def test_every_spec_in_ptycho_uses_only_the_vocabulary():
    _import_all_of_ptycho()
    specs = {name: spec for name, spec in contracts.REGISTRY.items() if spec.module.split(".")[0] == "ptycho"}
    assert len(specs) >= 20  # the layers, layouts, translation, reassembly, stitching, grouping
    strangers = {
        name: sorted(_names(text) - vocabulary.DIMS.keys())
        for name, fspec in specs.items()
        for text in _spec_texts(fspec)
        if _names(text) - vocabulary.DIMS.keys()
    }
    assert not strangers


def test_the_vocabulary_is_registered_for_the_stack():
    registered = contracts.vocabulary_for("ptycho.model.layers")
    assert dict(registered.dims) == vocabulary.DIMS
    assert registered.layouts == vocabulary.LAYOUTS
    assert registered.layout_of("B 1 2 C") == "channel offsets"
    assert contracts.vocabulary_for("somebody_else.module").layout_of("B 1 2 C") is None


@pytest.mark.skipif(not CONVENTIONS.exists(), reason="shared/CONVENTIONS.md is not beside this checkout")
def test_the_dims_are_those_of_the_conventions():
    table = re.findall(r"^\| `([A-Za-z, ]+)` \|", CONVENTIONS.read_text(), re.M)
    named = {name.strip() for row in table for name in row.split(",")}
    assert named == set(vocabulary.DIMS)


def _conflict(dim: str, value: int, bound: int, **known: int) -> DimConflict:
    return DimConflict(
        dim=dim, value=value, bound=bound, bound_source="images axis 0", argument="offsets", known=known
    )


class TestHints:
    def test_a_flat_batch_against_a_channel_batch_names_C(self):
        hint = merged_batch_hint(_conflict("B", 32, 128, B=128, N=4, C=4))
        assert hint == (
            "images axis 0 has 128 = 32 x C(4) where offsets has 32: one side is in the flat layout "
            "(B*C, ...) and the other in the channel layout (or C was merged into B upstream)"
        )
        assert merged_batch_hint(_conflict("B", 128, 32, B=32, C=4)).startswith(
            "offsets has 128 = 32 x C(4) where B = 32 was expected: a flat layout (B*C, ...)"
        )

    def test_no_merged_batch_without_a_factor_of_C(self):
        assert merged_batch_hint(_conflict("B", 64, 32, B=32, C=4, g=2)) is None
        assert merged_batch_hint(_conflict("B", 32, 128, B=128)) is None

    def test_gridsize_for_C_and_C_for_gridsize(self):
        assert gridsize_hint(_conflict("C", 2, 4, C=4)) == (
            "2 is the gridsize of C = 2*2 = 4: gridsize was passed where C was expected"
        )
        assert gridsize_hint(_conflict("C", 9, 3, C=3)) == (
            "9 = 3*3 is C for gridsize 3: C was passed where the gridsize was expected"
        )
        assert gridsize_hint(_conflict("N", 2, 4, N=4)) is None
