"""``trace-shapes audit`` on small models written for the tests (tests/programs/audited_models.py),
each with one planted defect that does not crash at the batch sizes a typical test uses, on clean
models, and the inferred contracts applied to a model without editing its source."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from diagnostics.audit import audit, audit_target, contracts_module

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "tests" / "programs" / "audited_models.py"


def target(factory: str) -> str:
    return f"{MODELS}:{factory}"


def kinds(result) -> set[tuple[str, str]]:
    return {(f.kind, f.layer) for f in result.findings}


def test_a_layer_that_merges_the_batch_from_16_rows_branches_on_batch_with_the_threshold_found():
    result = audit_target(target("merges_batch"))
    (branch,) = [f for f in result.findings if f.kind == "branches-on-batch"]
    assert (branch.layer, branch.cls, branch.batch) == ("context", "BatchContext", 16)
    assert "is B for B < 16 and 1 from B = 16" in branch.detail
    assert str(MODELS) in branch.where
    assert kinds(result) == {("branches-on-batch", "context"), ("batch-not-preserved", "context")}


def test_a_layer_that_returns_its_first_row_does_not_preserve_the_batch():
    result = audit_target(target("first_row"))
    assert kinds(result) == {("batch-not-preserved", "first_row")}
    (finding,) = result.findings
    assert finding.cls == "FirstRow" and finding.batch == 2


def test_a_compute_output_shape_that_passes_the_channels_through_is_a_static_shape_lie():
    result = audit_target(target("channel_lie"))
    assert kinds(result) == {("static-shape-lie", "first_channel")}
    assert "output 0 axis 3 is 6; the call returns 1" in result.findings[0].detail


def test_a_layer_whose_values_differ_under_xla_is_a_mode_disagreement():
    result = audit_target(target("noisy"), modes=("eager", "xla"), batches=(2, 5))
    assert kinds(result) == {("mode-disagreement", "noise")}
    assert result.findings[0].mode == "xla" and "values differ" in result.findings[0].detail


def test_a_layer_that_returns_another_dtype_in_graph_mode_is_a_mode_disagreement():
    result = audit_target(target("half_in_graph"))
    assert kinds(result) == {("mode-disagreement", "half")}
    assert "float32 in eager mode and (1, 16) float16 in graph mode" in result.findings[0].detail


def test_the_fit_mode_sees_the_graph_only_dtype_in_the_training_step_too():
    result = audit_target(target("half_in_graph"), modes=("eager", "graph", "fit"), batches=(1, 4))
    assert {(f.kind, f.layer, f.mode) for f in result.findings} == {
        ("mode-disagreement", "half", "graph"),
        ("mode-disagreement", "half", "fit"),
    }
    clean = audit_target(target("small_unet"), modes=("eager", "fit"), batches=(1, 4))
    assert clean.findings == [] and {o.mode for s in clean.sites for o in s.observations} == {"eager", "fit"}


def test_a_crash_at_some_batch_sizes_is_explained_by_the_recorded_tensors():
    result = audit_target(target("pairs"), batches=(2, 3, 4))
    crashes = [f for f in result.findings if f.kind == "crash" and f.layer == "pairs"]
    assert crashes and crashes[0].batch == 3
    assert "48 = elements of layer 'pairs' (Pairs) input 0 (3, 16)" in crashes[0].detail


def test_a_layer_that_disagrees_with_a_reference_implementation_is_found_at_its_origin():
    result = audit_target(target("shifted"), reference=target("shifted_reference"), batches=(1, 4))
    assert {(f.kind, f.layer) for f in result.findings} == {("reference-disagreement", "shift")}
    same = audit_target(target("clean_context"), reference=target("clean_context"), batches=(1, 4))
    assert same.findings == []
    with pytest.raises(ValueError, match="same architecture"):
        audit_target(target("clean_context"), reference=target("small_unet"), batches=(1,))


@pytest.mark.parametrize("factory", ["small_unet", "mobilenet", "clean_context"])
def test_no_findings_on_clean_models(factory):
    result = audit_target(target(factory))
    assert result.sites and result.findings == [], [f.detail for f in result.findings]
    assert all("?" not in s.signature() for s in result.sites)


def test_inferred_signatures_read_in_named_dims():
    result = audit_target(target("small_unet"), dims={"S": 32})
    signatures = {s.key: s.signature() for s in result.sites}
    assert signatures["skip1"] == "B S S 16, B S S 8 -> B S S 24"
    assert signatures["pool1"] == "B S S 8 -> B 16 16 8"


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_contracts_inferred_on_the_clean_model_refuse_the_merged_batch_in_every_mode(tmp_path):
    import contracts
    from contracts import ShapeContractError

    path = tmp_path / "inferred.py"
    path.write_text(contracts_module(audit_target(target("clean_context"))))
    inferred = _load(path)
    assert {e["layer"]: (e["inputs"], e["outputs"]) for e in inferred.LAYER_CONTRACTS}["context"] == (
        ["B 16"],
        ["B 16"],
    )
    faulty = _load(MODELS).merges_batch()
    assert "context" in contracts.apply_layer_contracts(faulty, inferred)
    x = np.zeros((32, 8), np.float32)
    graph = tf.function(lambda a: faulty(a), input_signature=[tf.TensorSpec([None, 8])])
    xla = tf.function(lambda a: faulty(a), jit_compile=True)
    for mode, run in [("eager", lambda: faulty(x)), ("graph", lambda: graph(x)), ("xla", lambda: xla(x))]:
        with pytest.raises(ShapeContractError) as caught:
            with contracts.raising_contract_errors():
                run()
        text = str(caught.value)
        assert "BatchContext[context].call" in text and "dim B" in text, (mode, text)
    assert faulty(x[:8]).shape == (8, 4)  # below the threshold the contract holds


def test_applying_a_contract_to_a_layer_that_is_not_there_is_refused():
    import contracts

    model = _load(MODELS).clean_context()
    with pytest.raises(contracts.ContractDefinitionError, match="no layer of that name"):
        contracts.apply_layer_contracts(model, [{"layer": "nowhere", "inputs": ["B 8"], "outputs": ["B 8"]}])
    with pytest.raises(contracts.ContractDefinitionError, match="written for class Dense"):
        contracts.apply_layer_contracts(
            model, [{"layer": "context", "class": "Dense", "inputs": [], "outputs": []}]
        )


def test_audit_of_a_callable_with_make_inputs():
    """The factory may return (callable, make_inputs): here a plain function of two tensors."""

    def pairwise(inputs):
        a, b = inputs
        return tf.concat([a, b], axis=0)

    result = audit(lambda xs: pairwise(xs), lambda b: [np.ones((b, 3), "f4"), np.ones((b, 3), "f4")])
    assert result.findings == [] and result.sites == []  # no Keras layer: nothing recorded


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "diagnostics" / "trace_shapes.py"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )


def test_the_command_line_exit_codes_json_and_written_contracts(tmp_path):
    out = tmp_path / "contracts_out.py"
    found = cli(
        "audit",
        target("merges_batch"),
        "--format",
        "json",
        "--batch",
        "2,8,32",
        "--write-contracts",
        str(out),
    )
    assert found.returncode == 3, found.stderr[-2000:]
    data = json.loads(found.stdout)
    assert set(data) >= {"target", "batches", "modes", "dims", "sites", "findings", "exit_code"}
    assert data["batches"] == [2, 8, 32] and data["exit_code"] == 3
    assert {"kind", "layer", "cls", "where", "detail", "batch", "mode"} == set(data["findings"][0])
    assert "LAYER_CONTRACTS = [" in out.read_text()
    assert cli("audit", "no_such_file.py:build").returncode == 1
    assert cli("audit", target("merges_batch"), "--batch", "0,2").returncode == 1


# Our PINN (the only tests here that use the stack)

N, GRIDSIZE = 64, 2


def pinn_inputs(batch: int) -> list[np.ndarray]:
    rng = np.random.default_rng(batch)
    c = GRIDSIZE**2
    return [
        np.abs(rng.standard_normal((batch, N, N, c))).astype(np.float32),
        rng.uniform(-6, 6, (batch, 1, 2, c)).astype(np.float32),  # inside the canvas margin of 7
    ]


def pinn(fault: str | None = None):
    import contextlib

    from diagnostics.faults import FAULTS
    from ptycho.model.factory import create_model_with_gridsize

    with FAULTS[fault].patch() if fault else contextlib.nullcontext():
        model, _ = create_model_with_gridsize(GRIDSIZE, N, "xla", n_filters_scale=1)
    return model


@pytest.fixture(scope="module")
def clean_pinn_audit():
    return audit(pinn(), pinn_inputs, target="ptycho PINN N=64 gridsize 2")


@pytest.mark.slow
def test_our_clean_pinn_has_no_findings(clean_pinn_audit):
    assert clean_pinn_audit.findings == [], [f.detail for f in clean_pinn_audit.findings]
    signatures = {s.key: s.signature() for s in clean_pinn_audit.sites}
    assert signatures["reassemble"] == "B 64 64 4, B 1 2 4 -> B 78 78 1"
    assert signatures["extract"] == "B 78 78 1, B 1 2 4 -> B*4 64 64 1"


@pytest.mark.slow
def test_the_batch_merge_fault_branches_on_batch_at_the_reassembly_from_b_16(monkeypatch):
    """The older codebase merged the batch once B*C >= 64: at gridsize 2, from B = 16."""
    from diagnostics.faults import FAULTS

    monkeypatch.setenv("PTYCHO_CONTRACTS", "off")  # it had no contracts; the audit needs none
    with FAULTS["batch-merge"].patch():
        result = audit(pinn(), pinn_inputs, modes=("eager", "graph"))
    branches = [f for f in result.findings if f.kind == "branches-on-batch"]
    assert [(f.layer, f.cls, f.batch) for f in branches] == [("reassemble", "ReassemblePatchesLayer", 16)]


@pytest.mark.slow
def test_contracts_inferred_on_the_clean_pinn_refuse_the_batch_merge_in_every_mode(
    clean_pinn_audit, tmp_path, monkeypatch
):
    """The stack's own layer contracts removed (the older codebase had none): the inferred ones,
    applied without editing the source, stop the merged batch at the reassembly layer."""
    import contracts
    from diagnostics.faults import FAULTS
    from ptycho.model import layers

    for cls in vars(layers).values():
        if (
            isinstance(cls, type)
            and hasattr(getattr(cls, "call", None), "__wrapped__")
            and "call" in vars(cls)
        ):
            monkeypatch.setattr(cls, "call", cls.call.__wrapped__)
    path = tmp_path / "pinn_contracts.py"
    path.write_text(contracts_module(clean_pinn_audit))
    inferred = _load(path)
    x, offsets = pinn_inputs(32)
    with FAULTS["batch-merge"].patch():
        model = pinn()
        # the U-Net's auto-named convolutions are numbered anew in a second model: skip those
        assert "reassemble" in contracts.apply_layer_contracts(model, inferred, missing="skip")
        signature = [tf.TensorSpec([None, N, N, 4]), tf.TensorSpec([None, 1, 2, 4])]
        graph = tf.function(lambda a, b: model([a, b]), input_signature=signature)
        xla = tf.function(lambda a, b: model([a, b]), jit_compile=True)
        for mode, run in [
            ("eager", lambda: model([x, offsets])),
            ("graph", lambda: graph(x, offsets)),
            ("xla", lambda: xla(x, offsets)),
        ]:
            with pytest.raises(contracts.ShapeContractError) as caught:
                with contracts.raising_contract_errors():
                    run()
            assert "ReassemblePatchesLayer[reassemble].call" in str(caught.value), (mode, str(caught.value))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("fault", "layer", "kind"),
    [
        ("batch-merge-static", "reassemble", "branches-on-batch"),
        ("flat-offsets", "reassemble", "crash"),
        ("modulo-broadcast", "reassemble", "crash"),
        ("output-shape-passthrough", "extract", "static-shape-lie"),
    ],
)
def test_each_fault_of_the_catalogue_is_found_at_the_layer_trace_names(fault, layer, kind, monkeypatch):
    """trace names ReassemblePatchesLayer.call for the first three (translate inside it for
    modulo-broadcast) and ExtractPatchesPositionLayer for the last."""
    from diagnostics.faults import FAULTS

    monkeypatch.setenv("PTYCHO_CONTRACTS", "off")
    with FAULTS[fault].patch():
        result = audit(pinn(), pinn_inputs, batches=(2, 8, 17))
    assert (kind, layer) in kinds(result), [(f.kind, f.layer, f.detail) for f in result.findings]


@pytest.mark.slow
def test_the_sign_flip_is_found_at_the_reassembly_against_the_other_backend(monkeypatch):
    """sign-flip moves content by -t in the V3 translation only; trace finds it by comparing the two
    backends' reassembly. The audit does the same with the XLA-backend model as its reference."""
    from diagnostics.faults import FAULTS
    from ptycho.model.factory import create_model_with_gridsize

    monkeypatch.setenv("PTYCHO_CONTRACTS", "off")
    with FAULTS["sign-flip"].patch():
        v3, _ = create_model_with_gridsize(GRIDSIZE, N, "v3", n_filters_scale=1)
        xla, _ = create_model_with_gridsize(GRIDSIZE, N, "xla", n_filters_scale=1)
        result = audit(v3, pinn_inputs, batches=(2, 5), modes=("eager",), reference=xla)
    assert [(f.kind, f.layer) for f in result.findings] == [("reference-disagreement", "reassemble")]
    v3, _ = create_model_with_gridsize(GRIDSIZE, N, "v3", n_filters_scale=1)  # no fault: they agree
    assert audit(v3, pinn_inputs, batches=(2, 5), modes=("eager",), reference=xla).findings == []
