"""``trace-shapes audit``: run a model at several batch sizes and modes, and find the layer whose shapes
depend on the batch size in a way a correct layer's do not.

``audit_target("model.py:build", batches=(1, 2, 3, 8, 17, 32))`` loads the factory, builds the
model once (one set of weights for every run) and:

- **eager**: calls it at each batch size under a ``Recorder``; every layer call site (a layer, and
  which of its calls within one model call) gets its concrete input and output shapes and dtypes,
  and the output shape its ``compute_output_shape`` declares;
- **graph**: calls it through one ``tf.function`` (traced with the batch unknown), recording every
  layer's traced static shapes and, through the recorder's run-time table, the concrete shapes
  each run had;
- **xla**: calls each leaf layer (one that calls no other layer) alone under ``jit_compile=True``
  on the inputs it had in eager mode, and compares shapes, dtypes and values with eager;
- **fit**: one training step per batch size through Keras' ``fit`` (learning rate 0, so the
  weights stay; the model is compiled for it), recording each layer's run-time shapes in the step.

Every dim of every tensor is then fitted, across batch sizes, as a constant or ``k*B``; a site's
inferred signature reads like jaxtyping (``B 64 64 4 -> B*4 64 64 1``). Findings, each naming the
layer, its class and source line (``KINDS``):

- ``branches-on-batch``: an output dim follows one formula of B below some batch size and another
  from it on (found by bisection between the sizes given), while the inputs follow one formula;
- ``batch-not-preserved``: the inputs carry the batch (``k*B`` rows) and an output's rows are not
  ``k*B`` at some batch size (merged, dropped or constant);
- ``static-shape-lie``: ``compute_output_shape``, or the static shape traced in graph mode, gives a
  dim the layer does not return (which dim, both values);
- ``mode-disagreement``: graph, XLA or fit gives another shape or dtype than eager at a layer, or
  values beyond ``RTOL`` of the eager ones (per leaf layer under XLA; the model's outputs in graph
  mode), for the same weights and inputs;
- ``crash``: a call raised at some batch size or mode;
- ``reference-disagreement`` (with ``reference=``, ``--reference TARGET``): a second model of the same
  architecture (another implementation, another backend), given the audited model's weights, returns
  other values at this layer, on inputs that still agree.

Only the origin is reported: a site whose inputs already vary in the way its outputs do inherits
the change and is not a finding. Nothing here imports the ``ptycho`` stack.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import os
import sys
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .numbers import TensorRef, matches, quantities, shape_text
from .recorder import LayerCall, Recorder, TensorInfo, error_line, tensors_of

DEFAULT_BATCHES = (1, 2, 3, 8, 17, 32)  # 1, primes, and a power of two above 30
MODES = ("eager", "graph", "xla", "fit")
RTOL = 1e-4  # values agree when max |a - b| <= RTOL * max |eager| + ATOL
ATOL = 1e-6
KINDS = (
    "branches-on-batch",
    "batch-not-preserved",
    "static-shape-lie",
    "mode-disagreement",
    "crash",
    "reference-disagreement",
)


@dataclass
class Observation:
    """One call site at one batch size in one mode."""

    batch: int
    mode: str
    inputs: list[TensorInfo]
    outputs: list[TensorInfo]
    declared: list[TensorInfo] | None = None  # compute_output_shape, eager
    static_outputs: list[TensorInfo] | None = None  # graph: as traced
    error: str | None = None


@dataclass
class Site:
    """A layer call site: ``name`` and, when the layer is called more than once per model call, ``#k``."""

    key: str
    name: str
    cls: str
    created_at: str | None
    called_at: str | None
    source: str | None
    depth: int
    leaf: bool = True
    is_model: bool = False  # the audited model itself
    observations: list[Observation] = field(default_factory=list)
    input_specs: list[str] = field(default_factory=list)
    output_specs: list[str] = field(default_factory=list)
    input_dtypes: list[str] = field(default_factory=list)
    output_dtypes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"layer '{self.key}' ({self.cls})"

    @property
    def where(self) -> str | None:
        return self.source or self.created_at or self.called_at

    def signature(self) -> str:
        ins = ", ".join(self.input_specs) or "-"
        outs = ", ".join(self.output_specs) or "-"
        return f"{ins} -> {outs}"


@dataclass
class Finding:
    kind: str
    layer: str
    cls: str
    where: str | None
    detail: str
    batch: int | None = None  # the smallest batch size it shows at (a threshold for branches-on-batch)
    mode: str | None = None


@dataclass
class AuditResult:
    target: str
    batches: list[int]
    modes: list[str]
    dims: dict[str, int]
    sites: list[Site] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for site, d in zip(self.sites, out["sites"]):
            d["signature"] = site.signature()
        return out


# Loading


def load_target(target: str) -> Callable[[], Any]:
    """``path/to/file.py:factory`` or ``package.module:factory`` -> the factory."""
    path, sep, attr = target.rpartition(":")
    if not sep or not path or not attr.isidentifier():
        raise ValueError(f"TARGET must be path/to/file.py:factory or package.module:factory, got {target!r}")
    if path.endswith(".py") or os.sep in path:
        if not os.path.exists(path):
            raise ValueError(f"TARGET {target!r}: no such file {path!r}")
        name = "_audited_" + os.path.splitext(os.path.basename(path))[0]
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ValueError(f"TARGET {target!r}: cannot load {path!r} as Python")
        module = importlib.util.module_from_spec(spec)
        folder = os.path.dirname(os.path.abspath(path))
        sys.path.insert(0, folder)
        try:
            spec.loader.exec_module(module)
        finally:
            sys.path.remove(folder)
    else:
        module = importlib.import_module(path)
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise ValueError(f"TARGET {target!r}: {path} has no callable {attr!r}")
    return factory  # type: ignore[no-any-return]


def synthesised_inputs(model: Any, seed: int = 0) -> Callable[[int], Any]:
    """``make_inputs(batch)`` from ``model.inputs``: random values of each input's dtype and static dims."""
    specs = [
        (tuple(t.shape), str(t.dtype), getattr(t, "name", f"input {i}")) for i, t in enumerate(model.inputs)
    ]
    for shape, _, name in specs:
        if any(d is None for d in shape[1:]):
            raise ValueError(
                f"model input {name!r} has shape {shape}: only the batch dim may be unknown to synthesise "
                "inputs; return (model, make_inputs) from the factory instead"
            )

    def make_inputs(batch: int) -> Any:
        rng = np.random.default_rng(seed + batch)
        arrays = []
        for shape, dtype, _ in specs:
            full = (batch, *shape[1:])
            if "int" in dtype:
                arrays.append(rng.integers(0, 8, full).astype(dtype))
            elif "bool" in dtype:
                arrays.append(rng.random(full) < 0.5)
            elif "complex" in dtype:
                arrays.append((rng.standard_normal(full) + 1j * rng.standard_normal(full)).astype(dtype))
            else:
                arrays.append(rng.standard_normal(full).astype(dtype))
        return arrays[0] if len(arrays) == 1 else arrays

    return make_inputs


def check_input_memory(model: Any, batch: int, memory: int | None = None) -> None:
    """Refuse a batch size whose synthesised inputs alone exceed ``memory`` (default: this machine's)."""
    from .limits import bytes_text, physical_memory

    memory = physical_memory() if memory is None else memory
    per_example = 0
    for t in model.inputs:
        try:
            itemsize = np.dtype(str(t.dtype)).itemsize
        except TypeError:
            itemsize = 8
        per_example += int(np.prod([d or 1 for d in tuple(t.shape)[1:]])) * itemsize
    if memory is None or per_example == 0 or batch * per_example <= memory:
        return
    raise ValueError(
        f"--batch {batch}: the model's synthesised inputs at batch {batch} take "
        f"{bytes_text(batch * per_example)} ({bytes_text(per_example)} per example), more than this "
        f"machine's {bytes_text(memory)} of memory; expected batch sizes up to {memory // per_example}"
    )


# Running


class _Collector:
    """The recorder's hook: one entry per layer call of the model call under way, keyed by site."""

    def __init__(self, names: dict[int, str]) -> None:
        self.calls: list[tuple[str, Any, tuple[Any, ...], dict[str, Any], Any, LayerCall]] = []
        self._seen: dict[int, int] = {}
        self._names = names  # id(layer) -> its site name, shared by every run of one audit

    def __call__(
        self, layer: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any, call: LayerCall
    ) -> None:
        if call.kind != "layer":
            return
        name = self._names.get(id(layer))
        if name is None:  # two layers of one name (a model named like one of its layers) stay apart
            taken = set(self._names.values())
            name, n = layer.name, 2
            while name in taken:
                name, n = f"{layer.name}~{n}", n + 1
            self._names[id(layer)] = name
        k = self._seen.get(id(layer), 0)
        self._seen[id(layer)] = k + 1
        key = name if k == 0 else f"{name}#{k}"
        self.calls.append((key, layer, args, kwargs, out, call))

    def restart(self) -> None:
        """A new model call begins: count each layer's calls from the first again."""
        self._seen.clear()

    def descendants(self) -> dict[str, set[str]]:
        """Site -> the sites called inside it (post-order: the deeper calls just before it)."""
        out: dict[str, set[str]] = {}
        for i, (key, *_, call) in enumerate(self.calls):
            inner = out.setdefault(key, set())
            j = i - 1
            while j >= 0 and self.calls[j][-1].depth > call.depth:
                inner.add(self.calls[j][0])
                j -= 1
        return out

    def leaves(self) -> set[str]:
        """Sites whose call completed with no deeper call just before it (post-order: no children)."""
        out = set()
        for i, (key, *_, call) in enumerate(self.calls):
            if i == 0 or self.calls[i - 1][-1].depth <= call.depth:
                out.add(key)
        return out


def _invoke(model: Any, inputs: Any) -> Any:
    import keras

    if isinstance(model, keras.layers.Layer):
        return model(inputs, training=False)
    return model(inputs)


def _values(out: Any) -> list[np.ndarray]:
    import keras

    return [np.asarray(t) for t in keras.tree.flatten(out) if hasattr(t, "shape")]


def _differs(a: list[np.ndarray], b: list[np.ndarray]) -> str | None:
    """Why two lists of outputs disagree (shape, dtype or values beyond the tolerance), or None."""
    if len(a) != len(b):
        return f"{len(a)} outputs vs {len(b)}"
    for i, (x, y) in enumerate(zip(a, b)):
        if x.shape != y.shape:
            return f"output {i} shape {x.shape} vs {y.shape}"
        if x.dtype != y.dtype:
            return f"output {i} dtype {x.dtype} vs {y.dtype}"
        if x.size and np.issubdtype(x.dtype, np.number):
            diff = float(np.max(np.abs(x.astype(np.complex128) - y.astype(np.complex128))))
            scale = float(np.max(np.abs(x)))
            if diff > RTOL * scale + ATOL:
                return f"output {i} values differ by up to {diff:.3g} (|eager| up to {scale:.3g})"
    return None


class _Audit:
    def __init__(
        self,
        model: Any,
        make_inputs: Callable[[int], Any],
        modes: Sequence[str],
        created: weakref.WeakKeyDictionary[Any, str | None],
    ) -> None:
        self.model = model
        self.created = created  # layer -> creation site, recorded while the factory built the model
        self.make_inputs = make_inputs
        self.modes = list(modes)
        self.sites: dict[str, Site] = {}
        self.eager_calls: dict[
            int, list[tuple[str, Any, tuple[Any, ...], dict[str, Any], Any, LayerCall]]
        ] = {}
        self.leaves: set[str] = set()
        self.names: dict[int, str] = {}
        self.descendants: dict[str, set[str]] = {}
        self._graph_fn: Any = None
        self._traced: dict[str, LayerCall] = {}  # site key -> its graph-mode record (the latest trace)
        self.xla_differences: dict[str, tuple[int, str]] = {}  # site key -> (batch, why)
        self.thresholds: dict[tuple[str, int, int], int] = {}  # (site, output, axis) -> batch size
        self.eager_outputs: dict[int, Any] = {}  # batch -> the model's eager output
        self._fit_traced: dict[str, LayerCall] = {}  # site key -> its record in the traced train step
        self.model_differences: dict[str, tuple[int, str]] = {}  # mode -> (batch, why): whole-model values
        self.reference_differences: dict[str, tuple[int, str]] = {}  # site key -> (batch, why)

    def site(self, key: str, call: LayerCall) -> Site:
        site = self.sites.get(key)
        if site is None:
            site = self.sites[key] = Site(
                key, call.name, call.cls, call.created_at, call.called_at, call.source, call.depth
            )
        return site

    def eager(self, batch: int, keep: bool = True) -> dict[str, Observation]:
        collector = _Collector(self.names)
        observed: dict[str, Observation] = {}
        with Recorder(on_layer_call=collector, run_shapes=False, created=self.created):
            try:
                out = _invoke(self.model, self.make_inputs(batch))
                error = None
            except Exception as e:
                out, error = None, error_line(e)
        if keep and out is not None:
            self.eager_outputs[batch] = out
        for key, _layer, _args, _kwargs, _out, call in collector.calls:
            observed[key] = Observation(
                batch, "eager", call.inputs, call.outputs, call.declared_outputs, None, call.error
            )
            if keep:
                self.site(key, call).observations.append(observed[key])
        if keep:
            self.eager_calls[batch] = collector.calls
            self.leaves |= collector.leaves()
            for key, inner in collector.descendants().items():
                self.descendants.setdefault(key, set()).update(inner)
            if error and not any(c[-1].error for c in collector.calls):
                self._model_crash(batch, "eager", error)
        return observed

    def find_thresholds(self) -> None:
        """For every output dim whose formula changes with B: the batch size it changes at."""
        for site in self.sites.values():
            eager = [o for o in site.observations if o.mode == "eager" and o.error is None]
            for i in range(min((len(o.outputs) for o in eager), default=0)):
                for axis, points in _dims_points(eager, "outputs", i).items():
                    groups = regimes(points)
                    if len(groups) > 1:
                        (low, f_low), (high, _) = groups[0], groups[1]
                        self.thresholds[(site.key, i, axis)] = self.threshold(
                            site.key, i, axis, low[-1], high[0], f_low
                        )

    def threshold(self, key: str, index: int, axis: int, low: int, high: int, formula: str | None) -> int:
        """The smallest batch in (low, high] at which output ``index`` axis ``axis`` stops following
        ``formula`` (bisection, one eager call per step)."""
        while high - low > 1:
            mid = (low + high) // 2
            obs = self.eager(mid, keep=False).get(key)
            shape = obs.outputs[index].shape if obs is not None and index < len(obs.outputs) else None
            size = shape[axis] if shape is not None and axis < len(shape) else None
            if formula is not None and size is not None and follows(formula, mid, size):
                low = mid
            else:
                high = mid
        return high

    def _model_crash(self, batch: int, mode: str, error: str) -> None:
        site = self.sites.setdefault(
            "<model>",
            Site(
                "<model>",
                getattr(self.model, "name", "model"),
                type(self.model).__name__,
                None,
                None,
                None,
                0,
            ),
        )
        site.observations.append(Observation(batch, mode, [], [], error=error))

    def graph(self, batches: Sequence[int]) -> None:
        """One tf.function, traced once with the batch unknown, run at every batch size; the recorder's
        run-time table gives each layer's concrete shapes after each run."""
        import keras
        import tensorflow as tf

        collector = _Collector(self.names)
        with Recorder(on_layer_call=collector, created=self.created) as recorder:
            first = self.make_inputs(batches[0])
            signature = keras.tree.map_structure(
                lambda a: tf.TensorSpec([None, *np.shape(a)[1:]], tf.as_dtype(np.asarray(a).dtype)), first
            )
            fn = tf.function(lambda x: _invoke(self.model, x), input_signature=[signature])
            for batch in batches:
                error = None
                collector.restart()  # occurrences count within one model call
                try:
                    got = fn(self.make_inputs(batch))
                    if batch in self.eager_outputs:
                        why = _differs(_values(self.eager_outputs[batch]), _values(got))
                        if why is not None:
                            self.model_differences.setdefault("graph", (batch, why))
                except Exception as e:
                    error = error_line(e)
                recorder.read_run_shapes()
                traced = {key: call for key, _l, _a, _k, _o, call in collector.calls if call.mode == "graph"}
                self._observe_runs(traced, batch, "graph")
                if error and not any(c[-1].error for c in collector.calls):
                    self._model_crash(batch, "graph", error)

    def _observe_runs(self, traced: dict[str, LayerCall], batch: int, mode: str) -> None:
        """One observation per traced layer call that ran: the run-time shapes the graph had (then
        cleared, so the next batch size's run cannot be mistaken for this one's)."""
        for key, call in traced.items():
            if call.run_inputs is None and call.error is None:
                continue  # did not run (the run stopped before it)
            self.site(key, call).observations.append(
                Observation(
                    batch,
                    mode,
                    list(call.run_inputs or []),
                    list(call.run_outputs or []),
                    static_outputs=call.outputs if mode == "graph" else None,
                    error=call.error,
                )
            )
            call.run_inputs = call.run_outputs = None

    def compare(self, reference: Any, batch: int) -> None:
        """Run ``reference`` (same architecture, same weights) eagerly on this batch's inputs and
        compare each leaf layer call with the model's, in call order: values that differ on inputs
        that agree are this layer's own (kept per site: the first batch it shows at)."""
        collector = _Collector({})
        with Recorder(on_layer_call=collector, run_shapes=False):
            try:
                _invoke(reference, self.make_inputs(batch))
            except Exception as e:
                raise ValueError(f"the reference model failed at batch {batch}: {error_line(e)}") from None
        mine = self.eager_calls.get(batch, [])
        theirs = collector.calls
        if [type(c[1]).__name__ for c in mine] != [type(c[1]).__name__ for c in theirs]:
            raise ValueError(
                "the reference model calls other layers, or in another order, than the audited one: "
                "it must have the same architecture"
            )
        for (key, _l, args, kwargs, out, _call), (_, _rl, r_args, r_kwargs, r_out, _rc) in zip(mine, theirs):
            if key not in self.leaves or out is None or r_out is None or key in self.reference_differences:
                continue
            if _differs(_values((args, kwargs)), _values((r_args, r_kwargs))) is not None:
                continue  # inherited: the inputs already differ
            why = _differs(_values(out), _values(r_out))
            if why is not None:
                self.reference_differences[key] = (batch, why)

    def fit(self, batches: Sequence[int]) -> None:
        """One training step per batch size through Keras' ``fit`` (its own traced train function),
        with a learning rate of 0 so the weights stay those of every other mode; the recorder's
        run-time table gives each layer's concrete shapes in the step."""
        import keras
        import tensorflow as tf

        if not isinstance(self.model, keras.Model):
            raise ValueError("--mode fit needs a Keras model (the factory returned another callable)")

        def no_loss(y_true: Any, y_pred: Any) -> Any:
            return tf.reduce_mean(tf.abs(y_pred)) * 0.0  # a loss of any output dtype, zero

        self.model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss=no_loss)
        collector = _Collector(self.names)
        with Recorder(on_layer_call=collector, created=self.created) as recorder:
            for batch in batches:
                if batch not in self.eager_outputs:
                    continue  # the model did not run eagerly at this size: nothing to fit to
                collector.restart()
                error = None
                targets = keras.tree.map_structure(np.asarray, self.eager_outputs[batch])
                try:
                    self.model.fit(
                        self.make_inputs(batch), targets, batch_size=batch, epochs=1, verbose=0, shuffle=False
                    )
                except Exception as e:
                    error = error_line(e)
                recorder.read_run_shapes()
                traced: dict[str, LayerCall] = {}
                for key, _l, _a, _k, _o, call in collector.calls:
                    if call.mode == "graph" and call.kind == "layer":
                        traced[key] = call
                self._fit_traced.update(traced)
                self._observe_runs(self._fit_traced, batch, "fit")
                if error and not any(c[-1].error for c in collector.calls):
                    self._model_crash(batch, "fit", error)

    def xla(self, batch: int) -> None:
        import tensorflow as tf

        for key, layer, args, kwargs, out, call in self.eager_calls.get(batch, []):
            if key not in self.leaves or call.error or out is None:
                continue
            fn = tf.function(lambda a, k, layer=layer: layer(*a, **k), jit_compile=True)
            site = self.sites[key]
            try:
                got = fn(args, kwargs)
            except Exception as e:
                text = str(e).strip().splitlines()
                site.observations.append(
                    Observation(
                        batch, "xla", call.inputs, [], error=f"{type(e).__name__}: {text[-1] if text else ''}"
                    )
                )
                continue
            site.observations.append(Observation(batch, "xla", call.inputs, tensors_of(got)))
            why = _differs(_values(out), _values(got))
            if why is not None:
                self.xla_differences.setdefault(key, (batch, why))


# Formulas


def fit(points: dict[int, int | None]) -> str | None:
    """A constant, or ``B`` / ``B*k``, that every ``batch -> size`` point follows, else None."""
    values = set(points.values())
    if None in values or not points:
        return None if None in values else ""
    if len(values) == 1:
        (v,) = values
        return str(v)
    ks = {v / b for b, v in points.items() if v is not None}
    if len(ks) == 1:
        (k,) = ks
        if k == int(k) and k > 0:
            return "B" if k == 1 else f"B*{int(k)}"
    return None


def follows(formula: str, batch: int, size: int) -> bool:
    if formula.startswith("B"):
        k = int(formula[2:]) if formula.startswith("B*") else 1
        return size == k * batch
    return formula != "" and size == int(formula)


def regimes(points: dict[int, int | None]) -> list[tuple[list[int], str | None]]:
    """Consecutive batch sizes (ascending) grouped so that each group follows one formula."""
    out: list[tuple[list[int], str | None]] = []
    group: list[int] = []
    for b in sorted(points):
        trial = fit({x: points[x] for x in [*group, b]})
        if group and trial is None:
            out.append((group, fit({x: points[x] for x in group})))
            group = [b]
        else:
            group.append(b)
    if group:
        out.append((group, fit({x: points[x] for x in group})))
    return out


def _dims_points(
    observations: Iterable[Observation], attr: str, index: int
) -> dict[int, dict[int, int | None]]:
    """axis -> {batch: size} for tensor ``index`` of ``attr`` ("inputs"/"outputs"), same rank only."""
    per_axis: dict[int, dict[int, int | None]] = {}
    for obs in observations:
        tensors = getattr(obs, attr)
        if index >= len(tensors) or tensors[index].shape is None:
            continue
        for axis, d in enumerate(tensors[index].shape):
            per_axis.setdefault(axis, {})[obs.batch] = d
    return per_axis


def _name(formula: str | None, dims: dict[str, int]) -> str:
    if formula is None:
        return "?"
    if formula.isdigit():
        named = [n for n, v in dims.items() if v == int(formula)]
        return named[0] if named else formula
    if formula.startswith("B*"):
        k = int(formula[2:])
        named = [n for n, v in dims.items() if v == k]
        return f"B*{named[0]}" if named else formula
    return formula


def infer_specs(site: Site, dims: dict[str, int]) -> None:
    """Fill the site's inferred specs from its eager observations (one spec per tensor)."""
    eager = [o for o in site.observations if o.mode == "eager" and o.error is None]
    if not eager:
        return
    for attr, specs, dtypes in (
        ("inputs", site.input_specs, site.input_dtypes),
        ("outputs", site.output_specs, site.output_dtypes),
    ):
        count = min(len(getattr(o, attr)) for o in eager)
        for i in range(count):
            ranks = {len(getattr(o, attr)[i].shape or ()) for o in eager}
            if len(ranks) != 1:
                specs.append("?")
                dtypes.append(getattr(eager[0], attr)[i].dtype)
                continue
            axes = _dims_points(eager, attr, i)
            specs.append(" ".join(_name(fit(axes[a]), dims) for a in sorted(axes)) or "")
            dtypes.append(getattr(eager[0], attr)[i].dtype)


# Findings


def _carries_batch(site: Site) -> bool:
    eager = [o for o in site.observations if o.mode == "eager" and o.error is None]
    for i in range(min((len(o.inputs) for o in eager), default=0)):
        axes = _dims_points(eager, "inputs", i)
        formula = fit(axes.get(0, {}))
        if formula and formula.startswith("B"):
            return True
    return False


def _input_regimes(site: Site) -> bool:
    """True when some input dim changes formula across the batch sizes (the change is inherited)."""
    eager = [o for o in site.observations if o.mode == "eager" and o.error is None]
    for i in range(min((len(o.inputs) for o in eager), default=0)):
        for points in _dims_points(eager, "inputs", i).values():
            if len(regimes(points)) > 1:
                return True
    return False


def _explain_crash(site: Site, obs: Observation, audit: _Audit | None) -> list[str]:
    """The message's numbers as recorded tensors, as ``run`` explains them: the crashing call's own
    inputs first, then every layer's outputs at that batch size and mode."""
    refs = [
        TensorRef(f"{site.label} input {i}", t.shape) for i, t in enumerate(obs.inputs) if t.shape is not None
    ]
    for other in audit.sites.values() if audit is not None else ():
        for o in other.observations:
            if o.batch == obs.batch and o.mode == obs.mode and other is not site:
                refs += [
                    TensorRef(f"{other.label} output", t.shape) for t in o.outputs if t.shape is not None
                ]
    found = matches(quantities(obs.error or ""), refs, per_quantity=1)
    return [m[0].text for m in found.values() if m][:2]


def findings_for(site: Site, audit: _Audit | None = None) -> list[Finding]:
    out: list[Finding] = []

    def add(kind: str, detail: str, batch: int | None = None, mode: str | None = None) -> None:
        out.append(Finding(kind, site.key, site.cls, site.where, detail, batch, mode))

    for obs in site.observations:
        if obs.error and not any(f.kind == "crash" and f.mode == obs.mode for f in out):
            explained = _explain_crash(site, obs, audit)
            detail = f"raised at batch {obs.batch} in {obs.mode} mode: {obs.error}"
            add("crash", detail + (f" ({'; '.join(explained)})" if explained else ""), obs.batch, obs.mode)
    eager = sorted(
        (o for o in site.observations if o.mode == "eager" and o.error is None), key=lambda o: o.batch
    )
    inherited = _input_regimes(site)
    carries = _carries_batch(site)
    for i in range(min((len(o.outputs) for o in eager), default=0)):
        axes = _dims_points(eager, "outputs", i)
        for axis, points in sorted(axes.items()):
            groups = regimes(points)
            if len(groups) > 1 and not inherited:
                (_, f_low), (high, f_high) = groups[0], groups[1]
                threshold = audit.thresholds.get((site.key, i, axis), high[0]) if audit else high[0]
                sizes = ", ".join(f"{b}->{points[b]}" for b in sorted(points))
                add(
                    "branches-on-batch",
                    f"output {i} axis {axis} is {f_low} for B < {threshold} and {f_high} "
                    f"from B = {threshold} (sizes {sizes})",
                    threshold,
                    "eager",
                )
            if axis == 0 and carries and not inherited:
                bad = [b for b in sorted(points) if points[b] is None or points[b] % b != 0]  # type: ignore[operator]
                if bad:
                    add(
                        "batch-not-preserved",
                        f"output {i} has {points[bad[0]]} rows for a batch of {bad[0]} (not a multiple of B; "
                        f"rows by batch: {', '.join(f'{b}->{points[b]}' for b in sorted(points))})",
                        bad[0],
                        "eager",
                    )
    for obs in eager:
        if obs.declared is None:
            continue
        for i, (declared, actual) in enumerate(zip(obs.declared, obs.outputs)):
            if declared.shape is None or actual.shape is None or len(declared.shape) != len(actual.shape):
                continue
            for axis, (d, a) in enumerate(zip(declared.shape, actual.shape)):
                if d is not None and d != a:
                    add(
                        "static-shape-lie",
                        f"compute_output_shape says output {i} axis {axis} is {d}; the call returns {a} "
                        f"(declared {shape_text(declared.shape)}, returned {shape_text(actual.shape)})",
                        obs.batch,
                        "eager",
                    )
                    break
            if out and out[-1].kind == "static-shape-lie":
                break
        if out and out[-1].kind == "static-shape-lie":
            break
    eager_by_batch = {o.batch: o for o in eager}
    for obs in site.observations:
        if obs.mode not in ("graph", "xla", "fit") or obs.error:
            continue
        ref = eager_by_batch.get(obs.batch)
        if obs.mode == "graph" and obs.static_outputs:
            for i, (static, ran) in enumerate(zip(obs.static_outputs, obs.outputs)):
                if static.shape and ran.shape and len(static.shape) == len(ran.shape):
                    lie = [
                        (ax, s, r)
                        for ax, (s, r) in enumerate(zip(static.shape, ran.shape))
                        if s is not None and s != r
                    ]
                    if lie and not any(f.kind == "static-shape-lie" for f in out):
                        ax, s, r = lie[0]
                        add(
                            "static-shape-lie",
                            f"traced static shape says output {i} axis {ax} is {s}; it ran with {r}",
                            obs.batch,
                            "graph",
                        )
        if ref is None:
            continue
        same_inputs = [(t.shape, t.dtype) for t in ref.inputs] == [(t.shape, t.dtype) for t in obs.inputs]
        for i, (want, got) in enumerate(zip(ref.outputs, obs.outputs)):
            differs = want.shape != got.shape or bool(want.dtype and got.dtype and want.dtype != got.dtype)
            if (
                differs
                and same_inputs
                and not any(f.kind == "mode-disagreement" and f.mode == obs.mode for f in out)
            ):
                add(
                    "mode-disagreement",
                    f"output {i} is {want.text()} in eager mode and {got.text()} in {obs.mode} mode "
                    f"at batch {obs.batch}",
                    obs.batch,
                    obs.mode,
                )
        if obs.mode == "graph" and obs.static_outputs:
            for i, (want, static) in enumerate(zip(ref.outputs, obs.static_outputs)):
                if (
                    want.dtype
                    and static.dtype
                    and want.dtype != static.dtype
                    and same_inputs
                    and not any(f.kind == "mode-disagreement" and f.mode == "graph" for f in out)
                ):
                    add(
                        "mode-disagreement",
                        f"output {i} is {want.dtype} in eager mode and {static.dtype} in graph mode",
                        obs.batch,
                        "graph",
                    )
    if audit is not None and site.is_model:
        for mode, (batch, why) in audit.model_differences.items():
            add(
                "mode-disagreement", f"the model's values in {mode} mode at batch {batch}: {why}", batch, mode
            )
    if audit is not None and site.key in audit.reference_differences:
        batch, why = audit.reference_differences[site.key]
        add("reference-disagreement", f"against the reference at batch {batch}: {why}", batch, "eager")
    if audit is not None and site.key in audit.xla_differences:
        batch, why = audit.xla_differences[site.key]
        if not any(f.kind == "mode-disagreement" and f.mode == "xla" for f in out):
            add("mode-disagreement", f"under XLA at batch {batch}: {why}", batch, "xla")
    return out


# Entry


def _share_weights(model: Any, reference: Any) -> None:
    mine, theirs = model.get_weights(), reference.get_weights()
    if [w.shape for w in mine] != [w.shape for w in theirs]:
        raise ValueError(
            f"the reference model's weights do not match the audited model's ({len(theirs)} arrays vs "
            f"{len(mine)}, or other shapes): it must have the same architecture"
        )
    reference.set_weights(mine)


def audit(
    model: Any,
    make_inputs: Callable[[int], Any] | None = None,
    *,
    batches: Sequence[int] = DEFAULT_BATCHES,
    modes: Sequence[str] = ("eager", "graph"),
    dims: dict[str, int] | None = None,
    target: str = "",
    created: weakref.WeakKeyDictionary[Any, str | None] | None = None,
    reference: Any = None,
) -> AuditResult:
    """Audit ``model`` (a Keras model, or any callable with ``make_inputs``) at ``batches`` in ``modes``;
    with ``reference``, a model of the same architecture given ``model``'s weights, compare each layer's
    values with it too."""
    for b in batches:
        if not isinstance(b, int) or b < 1:
            raise ValueError(f"batch sizes must be positive integers, got {b!r}")
    unknown = [m for m in modes if m not in MODES]
    if unknown or "eager" not in modes:
        raise ValueError(
            f"modes are {', '.join(MODES)} and must include eager (the reference); got {', '.join(modes)}"
        )
    if make_inputs is None:
        make_inputs = synthesised_inputs(model)
        check_input_memory(model, max(batches, default=1))
    result = AuditResult(target, sorted(set(batches)), list(modes), dict(dims or {}))
    run = _Audit(model, make_inputs, modes, weakref.WeakKeyDictionary() if created is None else created)
    if reference is not None:
        _share_weights(model, reference)
    for b in result.batches:
        run.eager(b)
        if reference is not None:
            run.compare(reference, b)
    run.find_thresholds()  # before graph mode traces anything the eager runs could reuse
    if "graph" in modes:
        run.graph(result.batches)
    if "xla" in modes:
        for b in result.batches:
            run.xla(b)
    if "fit" in modes:
        run.fit(result.batches)
    found: dict[str, list[Finding]] = {}
    model_key = run.names.get(id(model))
    for site in run.sites.values():
        site.leaf = site.key in run.leaves
        site.is_model = site.key == model_key
        infer_specs(site, result.dims)
        found[site.key] = findings_for(site, run)
        result.sites.append(site)
    for site in result.sites:  # a model or composite layer inherits its inner layers' findings
        inner = {f.kind for key in run.descendants.get(site.key, ()) for f in found.get(key, [])}
        result.findings += [f for f in found[site.key] if f.kind not in inner]
    return result


def audit_target(target: str, **kwargs: Any) -> AuditResult:
    """Load ``target`` (``file.py:factory`` or ``module:factory``) and audit what the factory returns
    (``reference`` may be a target string too)."""
    factory = load_target(target)
    created: weakref.WeakKeyDictionary[Any, str | None] = weakref.WeakKeyDictionary()
    with Recorder(run_shapes=False, created=created):  # to know where each layer was created
        made = factory()
    model, make_inputs = made if isinstance(made, tuple) and len(made) == 2 else (made, None)
    if isinstance(kwargs.get("reference"), str):
        other = load_target(kwargs["reference"])()
        kwargs["reference"] = other[0] if isinstance(other, tuple) else other
    return audit(model, make_inputs, target=target, created=created, **kwargs)


def _bindable(inputs: list[str], outputs: list[str]) -> tuple[list[str], list[str]]:
    """Specs a contract can bind: when no axis is ``B`` itself, ``B*k`` axes are written over a named
    dim ``B<g>`` = B*g, g the gcd of the k's (``B*4 64 64 1`` -> ``B4 64 64 1``)."""
    tokens = [t for spec in [*inputs, *outputs] for t in spec.split()]
    ks = [int(t[2:]) for t in tokens if t.startswith("B*") and t[2:].isdigit()]
    if "B" in tokens or not ks:
        return inputs, outputs
    g = math.gcd(*ks)

    def rewrite(spec: str) -> str:
        out = []
        for t in spec.split():
            if t.startswith("B*") and t[2:].isdigit():
                k = int(t[2:]) // g
                t = f"B{g}" if k == 1 else f"B{g}*{k}"
            out.append(t)
        return " ".join(out)

    return [rewrite(s) for s in inputs], [rewrite(s) for s in outputs]


def contracts_module(result: AuditResult) -> str:
    """The inferred signatures as a Python module for ``contracts.apply_layer_contracts``.

    One entry per layer called once per model call, whose every dim fitted one formula over the
    batch sizes audited (a layer with a finding, or called more than once, is left out and listed
    in a comment).
    """
    entries, left = [], []
    keys = {s.key for s in result.sites}
    flagged = {f.layer for f in result.findings}
    for site in result.sites:
        called_again = f"{site.key}#1" in keys or "#" in site.key
        complete = (
            site.input_specs
            and site.output_specs
            and not any("?" in spec for spec in [*site.input_specs, *site.output_specs])
        )
        if site.key == "<model>" or site.is_model:
            continue  # the model itself: contracts are applied to the layers inside it
        if called_again or not complete or site.key in flagged:
            left.append(site.key)
            continue
        inputs, outputs = _bindable(site.input_specs, site.output_specs)
        entries.append(
            f"    {{'layer': {site.name!r}, 'class': {site.cls!r}, "
            f"'inputs': {inputs!r}, 'outputs': {outputs!r}}},"
        )
    header = [
        f'"""Layer contracts inferred by trace-shapes audit from {result.target or "a model"}.',
        "",
        f"Batch sizes {', '.join(map(str, result.batches))}; modes {', '.join(result.modes)}. Apply them",
        "without editing the model's source:",
        "",
        "    import contracts",
        "    contracts.apply_layer_contracts(model, LAYER_CONTRACTS)",
        '"""',
        "",
    ]
    if left:
        header.append(
            f"# left out (a finding, several calls per model call, or no single formula): {', '.join(left)}"
        )
    return "\n".join([*header, "LAYER_CONTRACTS = [", *entries, "]", ""])
