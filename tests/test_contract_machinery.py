"""Modes, the registry and recorder, the ops a contract adds, the strategies and the pytest plugin."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given
from hypothesis import strategies as st
from jaxtyping import Float

import contracts
from contracts import ShapeContractError, contract
from contracts.testing.strategies import arrays_for, shape_for
from tests.strategies import stack_dims

pytestmark = pytest.mark.contracts

ChannelImages = Float[tf.Tensor, "B N N C"]
ChannelOffsets = Float[tf.Tensor, "B 1 2 C"]
FlatImages = Float[tf.Tensor, "B*C N N 1"]
FlatOffsets = Float[tf.Tensor, "B*C 2"]


@contract
def channel_to_flat(images: ChannelImages) -> FlatImages:
    n = tf.shape(images)[1]
    return tf.reshape(tf.transpose(images, [0, 3, 1, 2]), [-1, n, n, 1])


@contract
def offsets_to_flat(offsets: ChannelOffsets) -> FlatOffsets:
    return tf.reshape(tf.transpose(offsets, [0, 3, 1, 2]), [-1, 2])


@contract
def pair(images: ChannelImages, offsets: ChannelOffsets) -> FlatImages:
    return channel_to_flat(images)


def _plain_pair(images, offsets):
    n = tf.shape(images)[1]
    return tf.reshape(tf.transpose(images, [0, 3, 1, 2]), [-1, n, n, 1])


def _op_count(fn, *specs) -> int:
    return len(tf.function(fn).get_concrete_function(*specs).graph.get_operations())


class TestModes:
    bad = (tf.zeros([8, 4, 4, 4]), tf.zeros([2, 1, 2, 4]))

    def test_full_is_the_default_and_refutes(self):
        assert contracts.get_mode() == "full"
        with pytest.raises(ShapeContractError):
            pair(*self.bad)

    def test_off_at_call_time_skips_the_check(self):
        with contracts.mode("off"):
            assert pair(*self.bad).shape == (32, 4, 4, 1)

    def test_decorated_while_off_checks_once_the_mode_is_on(self):
        def f(x: Float[tf.Tensor, " B"], y: Float[tf.Tensor, " B"]) -> Float[tf.Tensor, " B"]:
            return x

        with contracts.mode("off"):
            checked = contract(f)
            assert checked(tf.zeros([2]), tf.zeros([3])).shape == (2,)
        with pytest.raises(ShapeContractError, match="dim B is 3 at y axis 0"):
            checked(tf.zeros([2]), tf.zeros([3]))
        assert f"{f.__module__}.{f.__qualname__}" in contracts.REGISTRY

    def test_environment_set_after_import_turns_checking_off_and_on(self, monkeypatch):
        monkeypatch.setenv("PTYCHO_CONTRACTS", "off")
        assert contracts.get_mode() == "off"
        assert pair(*self.bad).shape == (32, 4, 4, 1)
        monkeypatch.setenv("PTYCHO_CONTRACTS", "full")
        with pytest.raises(ShapeContractError):
            pair(*self.bad)
        monkeypatch.delenv("PTYCHO_CONTRACTS")
        with pytest.raises(ShapeContractError):
            pair(*self.bad)

    def test_a_mode_block_wins_over_the_environment_and_set_mode(self, monkeypatch):
        monkeypatch.setenv("PTYCHO_CONTRACTS", "off")
        with contracts.mode("full"), pytest.raises(ShapeContractError):
            pair(*self.bad)
        previous = contracts.set_mode("full")
        try:
            with pytest.raises(ShapeContractError):
                pair(*self.bad)
            with contracts.mode("off"):
                assert pair(*self.bad).shape == (32, 4, 4, 1)
        finally:
            contracts.set_mode(previous)
        assert contracts.get_mode() == "off"

    def test_static_mode_adds_no_run_time_ops_and_defers(self):
        specs = (tf.TensorSpec([None, 4, 4, 4]), tf.TensorSpec([None, 1, 2, 4]))
        with contracts.mode("static"):
            assert _op_count(pair, *specs) == _op_count(_plain_pair, *specs)
            fn = tf.function(pair, input_signature=specs)
            assert fn(*self.bad).shape == (32, 4, 4, 1)  # nothing checks B at run time

    def test_full_mode_adds_ops_only_for_unknown_dims(self):
        static = (tf.TensorSpec([8, 4, 4, 4]), tf.TensorSpec([8, 1, 2, 4]))
        dynamic = (tf.TensorSpec([None, 4, 4, 4]), tf.TensorSpec([None, 1, 2, 4]))
        assert _op_count(pair, *static) == _op_count(_plain_pair, *static)
        assert _op_count(pair, *dynamic) > _op_count(_plain_pair, *dynamic)

    def test_bad_mode_value_is_named(self, monkeypatch):
        with pytest.raises(ValueError, match="must be one of off, static, full; received: 'loud'"):
            contracts.set_mode("loud")
        monkeypatch.setenv("PTYCHO_CONTRACTS", "sometimes")
        with pytest.raises(ValueError, match="PTYCHO_CONTRACTS: .* received: 'sometimes'"):
            contracts.get_mode()


class TestRegistryAndRecorder:
    def test_registry_holds_specs(self):
        spec = contracts.REGISTRY[f"{__name__}.pair"]
        assert [p.name for p in spec.params] == ["images", "offsets"]
        assert [p.spec.text for p in spec.params] == ["B N N C", "B 1 2 C"]
        assert [r.text for r in spec.returns] == ["B*C N N 1"]

    def test_recorder_sees_proved_deferred_and_refuted(self):
        good = (tf.zeros([2, 4, 4, 4]), tf.zeros([2, 1, 2, 4]))
        specs = (tf.TensorSpec([None, 4, 4, 4]), tf.TensorSpec([None, 1, 2, 4]))
        with contracts.recording() as events:
            pair(*good)
            tf.function(pair, input_signature=specs).get_concrete_function()
            with pytest.raises(ShapeContractError):
                pair(tf.zeros([2, 4, 4, 4]), tf.zeros([3, 1, 2, 4]))
        outcomes = [(e.function, e.argument, e.exec_mode, e.outcome) for e in events]
        assert outcomes[:3] == [
            ("pair", "images", "eager", "proved"),
            ("pair", "offsets", "eager", "proved"),
            ("channel_to_flat", "images", "eager", "proved"),
        ]
        traced = [o for o in outcomes if o[2] == "graph"]
        assert ("pair", "offsets", "graph", "deferred") in traced
        assert outcomes[-1] == ("pair", "offsets", "eager", "refuted")
        deferred = next(e for e in events if e.exec_mode == "graph" and e.argument == "offsets")
        assert deferred.deferred == ("B: offsets axis 0 == images axis 0",)
        assert deferred.static_shape == (None, 1, 2, 4)
        assert deferred.bindings == {"B": None, "N": 4, "C": 4}
        assert events[-1].message and "dim B is 3" in events[-1].message


class TestStrategiesAndProperties:
    @given(dims=stack_dims(), data=st.data())
    def test_drawn_tensors_satisfy_their_spec_and_flatten_like_numpy(self, dims, data):
        images = data.draw(arrays_for(ChannelImages, dims))
        offsets = data.draw(arrays_for(ChannelOffsets, dims))
        assert images.shape == (dims["B"], dims["N"], dims["N"], dims["C"])
        flat = channel_to_flat(tf.constant(images)).numpy()
        flat_offsets = offsets_to_flat(tf.constant(offsets)).numpy()
        c = dims["C"]
        for b in range(dims["B"]):
            for k in range(c):
                np.testing.assert_array_equal(flat[b * c + k, :, :, 0], images[b, :, :, k])
                np.testing.assert_array_equal(flat_offsets[b * c + k], offsets[b, 0, :, k])

    @given(dims=stack_dims(), other=st.integers(0, 16), data=st.data())
    def test_any_batch_mismatch_is_refused_naming_B(self, dims, other, data):
        if other == dims["B"]:
            other += 1
        images = data.draw(arrays_for(ChannelImages, dims))
        offsets = data.draw(arrays_for(ChannelOffsets, {**dims, "B": other}))
        with pytest.raises(
            ShapeContractError, match=f"dim B is {other} at offsets axis 0, but B = {dims['B']}"
        ):
            pair(tf.constant(images), tf.constant(offsets))

    def test_shape_for_evaluates_expressions(self):
        assert shape_for(FlatImages, {"B": 3, "C": 4, "N": 8}) == (12, 8, 8, 1)


PLUGIN_TEST = """
import logging

def test_logs_an_autograph_fallback():
    logging.getLogger("tensorflow").warning(
        "AutoGraph could not transform <function f at 0x1> and will run it as-is.")

def test_quiet():
    logging.getLogger("tensorflow").warning("something else")
"""


def test_pytest_plugin_is_installed_and_inert_until_a_project_opts_in(pytester):
    from importlib.metadata import entry_points

    assert "contracts.testing.pytest_plugin" in [e.value for e in entry_points(group="pytest11")]
    pytester.makepyfile(PLUGIN_TEST)
    pytester.runpytest_subprocess("-q").assert_outcomes(passed=2)
    result = pytester.runpytest_subprocess("-q", "--contracts-autograph-guard")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*AutoGraph could not transform <function f at 0x1>*"])
    pytester.makeini("[pytest]\ncontracts_autograph_guard = true\n")
    pytester.runpytest_subprocess("-q").assert_outcomes(passed=1, failed=1)
