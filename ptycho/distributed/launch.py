"""Run a multi-worker ``tf.distribute.MultiWorkerMirroredStrategy`` job as local processes.

For tests, and for trying multi-worker training without a cluster::

    python -m ptycho.distributed.launch --workers 2 [--timeout SECONDS] [--grace SECONDS] -- \\
        python -m ptycho.cli.train ...

The launcher picks N free TCP ports on 127.0.0.1 and starts N copies of the command, exactly as
given, each with the environment it was started with plus

- ``TF_CONFIG``: ``{"cluster": {"worker": ["127.0.0.1:P0", "127.0.0.1:P1", ...]},
  "task": {"type": "worker", "index": i}}`` (what ``MultiWorkerMirroredStrategy`` reads; worker 0
  is the chief, the one that writes the run's outputs);
- ``PTYCHO_WORKER_INDEX``: ``i``, for scripts that want their index without parsing JSON;
- ``PYTHONUNBUFFERED=1`` unless it is set already, so that a Python worker's lines arrive as it
  prints them rather than when it exits.

Each line a worker writes reaches the launcher's stdout or stderr prefixed by ``[worker i] ``.
The workers must run together: as soon as one fails, the others would wait for it forever in
their next collective. So when any worker exits non-zero or is killed, the launcher stops the
others (SIGTERM to each worker's process group, SIGKILL after ``--grace`` seconds) and exits with
that worker's code (128 + N for signal N, as a shell reports it). ``--timeout`` bounds the whole
job (exit 124); SIGINT, SIGTERM or SIGHUP to the launcher stops every worker (exit 130, 143, 129),
and a second one skips the grace. Processes a worker leaves behind in its group are stopped too,
also after a successful run. Only SIGKILL to the launcher itself leaves its workers running.

On several real machines there is no launcher: every machine sets its own ``TF_CONFIG``, listing
the same ``host:port`` of every worker in the same order and its own ``index`` in it, and runs the
same command, e.g. on the second of two machines::

    export TF_CONFIG='{"cluster": {"worker": ["node0:23456", "node1:23456"]},
                       "task": {"type": "worker", "index": 1}}'
    export PTYCHO_WORKER_INDEX=1
    python -m ptycho.cli.train ...

This module only manages processes; it does not import TensorFlow.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import queue
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, Any, Literal, TextIO, TypeAlias

PROG = "python -m ptycho.distributed.launch"
HOST = "127.0.0.1"
TIMED_OUT = 124  # as coreutils' timeout(1)
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_POLL = 0.05  # seconds between checks that a stopped worker's process group is gone
_TICK = 0.5  # longest wait for an event before looking again
_DRAIN = 2.0  # seconds to wait for the last lines of workers that are gone
_OUTPUT_LOCK = threading.Lock()  # one writer at a time: lines never interleave


def tf_config(ports: list[int], index: int) -> dict[str, Any]:
    """The ``TF_CONFIG`` of worker ``index`` in a cluster of local workers on ``ports``."""
    if not 0 <= index < len(ports):
        raise ValueError(f"worker index must be in [0, {len(ports)}) for {len(ports)} port(s); got {index}")
    return {
        "cluster": {"worker": [f"{HOST}:{port}" for port in ports]},
        "task": {"type": "worker", "index": index},
    }


def free_ports(count: int) -> list[int]:
    """``count`` distinct free ports on 127.0.0.1.

    All are held at once while the kernel picks them (bind to port 0), so none is picked twice.
    They are free again before the workers bind them; a program that takes one in between makes
    that worker fail, which stops the job (it does not hang).
    """
    with contextlib.ExitStack() as stack:
        sockets = [
            stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) for _ in range(count)
        ]
        for s in sockets:
            s.bind((HOST, 0))
        return [int(s.getsockname()[1]) for s in sockets]


@dataclass(frozen=True)
class _Exited:
    index: int
    returncode: int


@dataclass(frozen=True)
class _Signalled:
    signum: int


_Event: TypeAlias = _Exited | _Signalled


@dataclass
class _Worker:
    index: int
    process: subprocess.Popen[bytes]
    threads: list[threading.Thread] = field(default_factory=list)


def launch(command: list[str], workers: int, timeout: float | None = None, grace: float = 10.0) -> int:
    """Run ``workers`` copies of ``command`` as one multi-worker job; the launcher's exit code.

    0 when every worker exits 0; else the first failing worker's code (128 + N for signal N),
    124 on ``timeout`` (seconds), 128 + N when the launcher gets signal N (SIGINT, SIGTERM or
    SIGHUP, handled only when called from the main thread). Returns once every worker is stopped.
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1; got {workers}")
    if not command:
        raise ValueError("command is empty: give the program to run and its arguments")
    if timeout is not None and not (timeout > 0):
        raise ValueError(f"timeout must be a positive number of seconds or None; got {timeout}")
    if not (grace >= 0 and math.isfinite(grace)):
        raise ValueError(f"grace must be a finite number of seconds >= 0; got {grace}")
    # Worker exits and signals to the launcher arrive on one queue; SimpleQueue.put is safe in a
    # signal handler, so a signal never interrupts the launcher halfway through starting a worker.
    events: queue.SimpleQueue[_Event] = queue.SimpleQueue()
    ports = free_ports(workers)
    started: list[_Worker] = []
    with _signals_to(events):
        for index in range(workers):
            try:
                started.append(_start(command, ports, index, events))
            except OSError as exc:
                _stop(started, grace, events)
                stopped = f"; stopped the {index} started before it" if started else ""
                _say(f"cannot start worker {index}, {shlex.join(command)}: {exc}{stopped}")
                return 127 if isinstance(exc, FileNotFoundError) else 126  # as a shell does
        return _supervise(started, timeout, grace, events)


def _supervise(
    workers: list[_Worker], timeout: float | None, grace: float, events: queue.SimpleQueue[_Event]
) -> int:
    """Wait for every worker, or stop them all at the first failure, timeout or signal."""
    deadline = None if timeout is None else time.monotonic() + timeout
    succeeded = 0
    while succeeded < len(workers):
        left = math.inf if deadline is None else deadline - time.monotonic()
        try:
            # Bounded waits: a signal the kernel hands to another thread runs its handler only
            # once this thread is back in Python.
            event = events.get(timeout=max(0.0, min(_TICK, left)))
        except queue.Empty:
            if left > _TICK:
                continue
            _stop(workers, grace, events)
            _say(f"timed out after {timeout:g} s; stopped all {len(workers)} worker(s)")
            return TIMED_OUT
        if isinstance(event, _Signalled):
            _stop(workers, grace, events)
            _say(f"received {_signal_name(event.signum)}; stopped all {len(workers)} worker(s)")
            return 128 + event.signum
        if event.returncode == 0:
            succeeded += 1
            continue
        _stop(workers, grace, events)
        code = _exit_code(event.returncode)
        how = (
            f"was killed by {_signal_name(-event.returncode)} (exit code {code})"
            if event.returncode < 0
            else f"exited with code {code}"
        )
        others = len(workers) - 1
        _say(f"worker {event.index} {how}; stopped the other {others} worker(s)")
        return code
    # Every worker exited 0; what they left running in their groups would outlive the launcher.
    leftovers = [w.index for w in workers if _group_exists(w.process.pid)]
    _stop(workers, grace, events)
    if leftovers:
        _say(f"stopped processes left running by worker(s) {leftovers}")
    return 0


def _start(command: list[str], ports: list[int], index: int, events: queue.SimpleQueue[_Event]) -> _Worker:
    """Start worker ``index`` in its own session, with threads that forward its output and its exit."""
    env = dict(os.environ)
    env["TF_CONFIG"] = json.dumps(tf_config(ports, index))
    env["PTYCHO_WORKER_INDEX"] = str(index)
    env.setdefault("PYTHONUNBUFFERED", "1")
    process = subprocess.Popen(
        command,
        env=env,
        stdin=subprocess.DEVNULL,  # N workers cannot share the launcher's input
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: stopping it reaches its children too
    )
    worker = _Worker(index, process)
    assert process.stdout is not None and process.stderr is not None
    prefix = f"[worker {index}] "
    worker.threads = [
        threading.Thread(target=_forward, args=(process.stdout, prefix, "stdout"), daemon=True),
        threading.Thread(target=_forward, args=(process.stderr, prefix, "stderr"), daemon=True),
    ]
    waiter = threading.Thread(target=lambda: events.put(_Exited(index, process.wait())), daemon=True)
    for thread in [*worker.threads, waiter]:
        thread.start()
    return worker


def _forward(pipe: IO[bytes], prefix: str, stream: Literal["stdout", "stderr"]) -> None:
    """Copy a worker's lines to the launcher's ``stream``, prefixed, until the worker closes it."""
    with pipe:
        for raw in iter(pipe.readline, b""):
            line = raw.decode("utf-8", errors="replace")
            _write(stream, prefix + (line if line.endswith("\n") else line + "\n"))


def _write(stream: Literal["stdout", "stderr"], text: str) -> None:
    """Write whole lines to the launcher's stdout or stderr (looked up now: tests replace them)."""
    out: TextIO = sys.stdout if stream == "stdout" else sys.stderr
    # A closed or broken output must not stop the reading: a worker blocks on a full pipe.
    with _OUTPUT_LOCK, contextlib.suppress(OSError, ValueError):
        out.write(text)
        out.flush()


def _say(message: str) -> None:
    """One line of the launcher's own on stderr."""
    _write("stderr", f"[launch] {message}\n")


def _stop(workers: list[_Worker], grace: float, events: queue.SimpleQueue[_Event]) -> None:
    """SIGTERM every worker's process group, SIGKILL what is left after ``grace`` seconds.

    Also the groups of workers that have exited already: their children may still run. A signal to
    the launcher meanwhile cuts the grace short. Returns once the workers are reaped and their
    last lines forwarded.
    """
    for worker in workers:
        _signal_group(worker.process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while any(_group_exists(w.process.pid) for w in workers):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            if isinstance(events.get(timeout=min(_POLL, left)), _Signalled):
                break
        except queue.Empty:
            pass
    for worker in workers:
        _signal_group(worker.process.pid, signal.SIGKILL)
    drain_until = time.monotonic() + _DRAIN
    for worker in workers:
        with contextlib.suppress(subprocess.TimeoutExpired):
            worker.process.wait(timeout=max(0.0, drain_until - time.monotonic()))
        for thread in worker.threads:
            thread.join(timeout=max(0.0, drain_until - time.monotonic()))


def _signal_group(pgid: int, signum: int) -> None:
    """Send ``signum`` to a process group; a group that is gone is fine."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def _group_exists(pgid: int) -> bool:
    """Whether a live process is left in the group.

    Zombies do not count: a worker's child that died is reaped by whoever adopted it (PID 1 of a
    container may take its time), and waiting for that would cost the whole grace every time.
    """
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):  # gone, or not ours any more: nothing to stop
        return False
    proc = Path("/proc")
    if not proc.is_dir():  # no /proc (not Linux): a zombie counts as alive
        return True
    for stat in proc.glob("[0-9]*/stat"):
        try:
            # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
            state, _, group = stat.read_text().rpartition(")")[2].split()[:3]
        except (OSError, ValueError):  # gone meanwhile
            continue
        if int(group) == pgid and state not in ("Z", "X"):
            return True
    return False


@contextlib.contextmanager
def _signals_to(events: queue.SimpleQueue[_Event]) -> Iterator[None]:
    """Turn SIGINT, SIGTERM and SIGHUP to the launcher into events, while in this block.

    Only the main thread can set handlers; called from another thread the launcher leaves signals
    to its caller.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        events.put(_Signalled(signum))

    previous = {signum: signal.signal(signum, handler) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old if old is not None else signal.SIG_DFL)


def _exit_code(returncode: int) -> int:
    """A shell's exit code for a Popen returncode: 128 + N for a death by signal N."""
    return 128 - returncode if returncode < 0 else returncode


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def _seconds(text: str) -> float:
    """argparse type: a finite number of seconds >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"expected a finite number of seconds >= 0, got {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG,
        usage=f"{PROG} --workers N [--timeout SECONDS] [--grace SECONDS] -- COMMAND [ARG ...]",
        description=(
            "Run N copies of COMMAND as the workers of one MultiWorkerMirroredStrategy job on this "
            "machine, each with its TF_CONFIG and PTYCHO_WORKER_INDEX; stop them all when one fails."
        ),
        epilog=(
            "Exit code: 0 when every worker exits 0; else the first failing worker's (128 + N for "
            "signal N); 124 on --timeout; 130/143 on SIGINT/SIGTERM; 2 for bad arguments."
        ),
    )
    p.add_argument("--workers", type=int, required=True, metavar="N", help="how many workers (>= 1)")
    p.add_argument(
        "--timeout",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help="stop every worker and exit 124 after this long (default: no limit)",
    )
    p.add_argument(
        "--grace",
        type=_seconds,
        default=10.0,
        metavar="SECONDS",
        help="how long stopped workers get between SIGTERM and SIGKILL (default: 10)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    """The command line (see ``--help``); the exit code."""
    args_in: Sequence[str] = sys.argv[1:] if argv is None else argv
    if "--" in args_in:
        split = list(args_in).index("--")
        options, command = list(args_in[:split]), list(args_in[split + 1 :])
    else:
        options, command = list(args_in), []
    parser = _parser()
    args, extra = parser.parse_known_args(options)
    if extra:
        parser.error(f"unrecognized arguments {shlex.join(extra)}: the command to run goes after '--'")
    if args.workers < 1:
        parser.error(f"--workers must be at least 1; got {args.workers}")
    if args.timeout is not None and args.timeout == 0:
        parser.error("--timeout must be more than 0 seconds; leave it out for no limit")
    if not command:
        parser.error("missing the command to run: expected it after '--', e.g. -- python train.py")
    return launch(command, args.workers, timeout=args.timeout, grace=args.grace)


if __name__ == "__main__":
    raise SystemExit(main())
