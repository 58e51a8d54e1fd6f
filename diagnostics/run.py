"""``trace-shapes run``: run anyone's program with recording on, and localise the shape error it dies of.

``run_program("train.py", ["--epochs", "1"])`` runs the script as ``python train.py --epochs 1``
would (``sys.argv``, ``__main__``, ``sys.path[0]`` the script's folder, the working directory left
alone; ``module=True`` for ``python -m``), inside a ``Recorder``. It returns a ``RunResult``: the
program's exit code, the recorded calls and, when the program raised, a ``Localisation``:

- the layer call or ``tf.function`` the exception was raised in (the innermost one it passed
  through); for an error raised when a graph runs (no Python frame of the layer is live then), the
  layer whose graph name scope holds the node the message names; for a broken ``@contract``, the
  check that failed;
- the innermost line of the user's own code in the traceback, and where TensorFlow says the
  failing node was defined;
- the last calls recorded before the failure;
- each number and shape of the message matched against the recorded tensors (``numbers.matches``),
  the failing call's own tensors first, then the most recent.

Nothing here imports the ``ptycho`` stack.
"""

from __future__ import annotations

import os
import re
import runpy
import sys
import time
import traceback
import types
from dataclasses import asdict, dataclass, field
from typing import Any

from . import numbers
from .recorder import FunctionCall, LayerCall, Recorder, TensorInfo, is_user_file

EXIT_SHAPE_FAILURE = 3
RECENT_SHOWN = 8

_SHAPE_WORDS = re.compile(
    r"shape|dimension|ndim|rank|reshape|incompatible|size-incompatible|depth|must be equal|axis", re.I
)
_LAYER_NAMES = re.compile(r"(?:layer|name) [\"']([^\"'\s]+)[\"']")
_NODE = re.compile(r"(?:Detected at node|\{\{node) '?([\w/.\-]+)'?")
_DEFINED_AT = re.compile(r'File "([^"]+)", line (\d+), in (\S+)')


@dataclass
class Localisation:
    exception: str  # the exception's class name
    message: str
    where: str  # "layer 'x' (Dense)", "tf.function 'f'", "contract f", or "line"
    layer: LayerCall | None = None
    function: FunctionCall | None = None
    contract: dict[str, Any] | None = None  # the refuted check (contracts.CheckEvent as a dict)
    node: str | None = None  # the graph node the message names
    node_defined_at: str | None = None  # the user's line TensorFlow says the node was created at
    raised_at: str | None = None  # innermost user frame of the traceback: "file:line in function"
    recent: list[LayerCall | FunctionCall] = field(default_factory=list)
    batch_changes: list[LayerCall] = field(default_factory=list)  # calls that returned another batch size
    named_layers: list[LayerCall] = field(default_factory=list)  # layers the message names, as created
    quantities: list[numbers.Quantity] = field(default_factory=list)
    matches: dict[str, list[numbers.Match]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["recent"] = [_call_dict(c) for c in self.recent]
        out["batch_changes"] = [_call_dict(c) for c in self.batch_changes]
        out["named_layers"] = [_call_dict(c) for c in self.named_layers]
        out["layer"] = _call_dict(self.layer) if self.layer else None
        out["function"] = _call_dict(self.function) if self.function else None
        return out


@dataclass
class RunResult:
    program: list[str]  # as python would be given it: ["train.py", "--epochs", "1"] or ["-m", "pkg.mod", ...]
    exit_code: int  # what ``trace-shapes run`` exits with
    program_exit_code: int  # what ``python`` would have exited with
    exception: str | None  # "Type: message" when the program raised
    traceback: str | None  # the traceback as Python prints it, the program's frames only
    localisation: Localisation | None
    record: dict[str, Any]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["localisation"] = self.localisation.to_dict() if self.localisation else None
        return out


def _call_dict(call: LayerCall | FunctionCall) -> dict[str, Any]:
    return {"kind": "layer" if isinstance(call, LayerCall) else "function", **asdict(call)}


def _exit_code(e: SystemExit) -> int:
    if e.code is None:
        return 0
    if isinstance(e.code, int):
        return e.code
    print(e.code, file=sys.stderr)  # as Python does with sys.exit("message")
    return 1


_OWN = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _program_traceback(exc: BaseException) -> str:
    """The traceback as Python would print it for the program, less this tool's and runpy's frames."""
    out: list[str] = []
    for e in reversed(list(_chain(exc))):
        frames = [
            f
            for f in traceback.extract_tb(e.__traceback__)
            if not f.filename.startswith((_OWN, "<frozen runpy"))
            and os.path.basename(f.filename) != "runpy.py"
        ]
        if out:
            out.append(
                "\nThe above exception was the direct cause of the following exception:\n\n"
                if e.__cause__ is not None
                else "\nDuring handling of the above exception, another exception occurred:\n\n"
            )
        out.append("Traceback (most recent call last):\n")
        out += traceback.format_list(frames)
        out += [_without_own_frames(line) for line in traceback.format_exception_only(type(e), e)]
    return "".join(out)


_OWN_FRAME = re.compile(r'  File "(?:[^"]*runpy[^"]*|' + re.escape(_OWN) + r'[^"]*)", line \d+, in \S+\n\n?')


def _without_own_frames(text: str) -> str:
    """TensorFlow's 'defined at' traceback inside a graph-execution message, less this tool's frames."""
    return _OWN_FRAME.sub("", text)


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from or during, outermost (the last raised) first."""
    chain: list[BaseException] = []
    e: BaseException | None = exc
    while e is not None and all(e is not c for c in chain):
        chain.append(e)
        e = e.__cause__ if e.__cause__ is not None else (None if e.__suppress_context__ else e.__context__)
    return chain


def run_program(target: str, args: list[str], *, module: bool = False) -> RunResult:
    """Run ``target`` (a script path, or a module name with ``module=True``) with ``args``, recording."""
    started = time.perf_counter()
    saved_argv, saved_path = sys.argv[:], sys.path[:]
    exception: BaseException | None = None
    code = 0
    recorder = Recorder()
    with recorder:
        try:
            sys.argv = [target, *args]
            if module:
                sys.path[0] = os.getcwd()
                runpy.run_module(target, run_name="__main__", alter_sys=True)
            else:
                if not os.path.exists(target):
                    raise FileNotFoundError(f"no such script: {target!r}")
                sys.path[0] = os.path.dirname(os.path.abspath(target))
                runpy.run_path(target, run_name="__main__")
        except SystemExit as e:
            code = _exit_code(e)
        except KeyboardInterrupt:
            raise
        except Exception as e:
            exception = e
            code = 1
        finally:
            sys.argv[:] = saved_argv
            sys.path[:] = saved_path
    recorder.read_run_shapes()
    localisation = localise(exception, recorder) if exception is not None else None
    shape_failure = localisation is not None and is_shape_error(exception)
    return RunResult(
        program=["-m", target, *args] if module else [target, *args],
        exit_code=EXIT_SHAPE_FAILURE if shape_failure else code,
        program_exit_code=code,
        exception=f"{type(exception).__name__}: {exception}" if exception is not None else None,
        traceback=_program_traceback(exception) if exception is not None else None,
        localisation=localisation,
        record=recorder.to_dict(),
        seconds=time.perf_counter() - started,
    )


def is_shape_error(exc: BaseException | None) -> bool:
    """A shape error: a broken contract, or an exception whose message is about shapes, dims or ranks."""
    if exc is None:
        return False
    if type(exc).__name__ == "ShapeContractError":
        return True
    return bool(_SHAPE_WORDS.search(str(exc))) or any(p.search(str(exc)) for p, _ in numbers.PATTERNS)


def _raised_at(exc: BaseException) -> str | None:
    tb: types.TracebackType | None = exc.__traceback__
    last = None
    while tb is not None:
        code = tb.tb_frame.f_code
        if is_user_file(code.co_filename):
            last = f"{code.co_filename}:{tb.tb_lineno} in {code.co_name}"
        tb = tb.tb_next
    return last


def _node_layer(node: str, recorder: Recorder) -> LayerCall | None:
    """The graph-mode layer call whose name scope holds ``node`` (the innermost, then the latest)."""
    best: LayerCall | None = None
    for call in recorder.layer_calls.values():
        inside = call.scope and (node == call.scope or node.startswith(call.scope + "/"))
        if inside and (
            best is None or (len(call.scope or ""), call.last_seq) > (len(best.scope or ""), best.last_seq)
        ):
            best = call
    return best


def _node_defined_at(message: str) -> str | None:
    """The innermost user line of the 'defined at' traceback TensorFlow adds to a graph-execution error."""
    lines = [f"{f}:{n} in {fn}" for f, n, fn in _DEFINED_AT.findall(message) if is_user_file(f)]
    return lines[-1] if lines else None


def _shapes(tensors: list[TensorInfo] | None) -> list[tuple[int | None, ...] | None]:
    return [t.shape for t in tensors or []]


def _tensor_refs(loc: Localisation, recorder: Recorder) -> list[numbers.TensorRef]:
    """Recorded tensors, most relevant first: the failing call's, the recent ones (newest first), the rest."""
    ordered: list[LayerCall | FunctionCall] = []
    for call in [loc.layer, loc.function, *reversed(loc.recent), *reversed(recorder.calls_in_order())]:
        if call is not None and all(call is not c for c in ordered):
            ordered.append(call)
    refs: list[numbers.TensorRef] = []
    for call in ordered:
        if isinstance(call, LayerCall):
            for kind, tensors, note in [
                ("output", call.outputs, ""),
                ("input", call.inputs, ""),
                ("output", call.run_outputs, "at run time"),
                ("input", call.run_inputs, "at run time"),
            ]:
                refs += numbers.tensor_refs(
                    call.label, kind, _shapes(tensors), call.called_at, call.seq, note
                )
        else:
            refs += numbers.tensor_refs(
                call.label, "argument", _shapes(call.inputs), call.called_at, call.seq
            )
    return refs


def batch_changes(calls: list[LayerCall | FunctionCall]) -> list[LayerCall]:
    """Layer calls that returned another batch size than all their inputs had, latest first.

    Either every input had one known number of rows and an output has another, or the inputs' batch
    was unknown (traced as ``None``) and an output's first dim is a fixed number (the batch dim was
    dropped or reduced away). No built-in Keras layer does either; a custom one that does (the
    778752 incident's reassembly merged the batch into one canvas) is the first suspect of a later
    shape error.
    """
    out = []
    for call in calls:
        if not isinstance(call, LayerCall) or call.kind != "layer" or call.error or not call.outputs:
            continue
        inputs = call.run_inputs if call.run_inputs is not None else call.inputs
        outputs = call.run_outputs if call.run_outputs is not None else call.outputs
        rows_in = {t.shape[0] if t.shape else -1 for t in inputs}
        rows_out = {t.shape[0] if t.shape else -1 for t in outputs}
        if len(rows_in) != 1 or -1 in rows_in | rows_out:
            continue
        (rows,) = rows_in
        if (rows is not None and None not in rows_out and rows_out != rows_in) or (
            rows is None and any(r is not None for r in rows_out)
        ):
            out.append(call)
    return sorted(out, key=lambda c: -c.last_seq)


def localise(exc: BaseException, recorder: Recorder) -> Localisation:
    message = str(exc)
    loc = Localisation(exception=type(exc).__name__, message=message.strip(), where="line")
    loc.raised_at = _raised_at(exc)
    failed, layer = recorder.failure(), recorder.failed_layer()
    if isinstance(failed, FunctionCall):
        loc.function, loc.where = failed, failed.label
    if layer is not None:  # the layer around a tf.function that raised names the place better
        loc.layer, loc.where = layer, layer.label
    nodes = _NODE.findall(message)
    if nodes:
        loc.node = nodes[0]
        loc.node_defined_at = _node_defined_at(message)
        if loc.layer is None:
            layer = _node_layer(loc.node, recorder)
            if layer is not None:
                loc.layer, loc.where = layer, layer.label
    refuted = [c for c in recorder.checks if c.outcome == "refuted"]
    if refuted:
        loc.contract = asdict(refuted[-1])
        if loc.layer is None and loc.function is None:
            loc.where = f"contract {refuted[-1].function}"
    failing = loc.layer or loc.function
    recent = list(recorder.recent)
    if failing is not None and any(c is failing for _, c in recent):
        last = max(i for i, (_, c) in enumerate(recent) if c is failing)
        recent = recent[: last + 1]
    loc.recent = [c for _, c in recent[-RECENT_SHOWN:]]
    loc.batch_changes = batch_changes(recorder.calls_in_order())
    for name in dict.fromkeys(_LAYER_NAMES.findall(message)):
        if name != "None" and (loc.layer is None or name != loc.layer.name):
            loc.named_layers += recorder.layers_named(name)
    loc.quantities = numbers.quantities(message)
    loc.matches = numbers.matches(loc.quantities, _tensor_refs(loc, recorder))
    return loc
