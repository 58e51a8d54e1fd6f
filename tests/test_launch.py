"""``ptycho.distributed.launch``: local multi-worker jobs start with the right TF_CONFIG, forward
their output by line, and never outlive a failure, a timeout or a signal to the launcher.

The workers are small Python scripts (no TensorFlow); a worker that should be stopped writes its
PID (and its child's) to a file, so the test can check that the process is gone afterwards. The
time bounds below are liveness bounds (nothing hangs), not speed tests.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ptycho.distributed.launch import launch, main, tf_config

ROOT = Path(__file__).resolve().parents[1]
LIVENESS = 20.0  # seconds: a stopped job ends well within this, or the launcher hangs

PREAMBLE = """\
import json, os, signal, subprocess, sys, time
from pathlib import Path

INDEX = int(os.environ["PTYCHO_WORKER_INDEX"])
HERE = Path(sys.argv[1])


def write_pid(name, pid=None):
    tmp = HERE / (name + ".tmp")
    tmp.write_text(str(pid or os.getpid()))
    tmp.rename(HERE / name)  # whole or not at all


def wait_for(name):
    deadline = time.monotonic() + 15
    while not (HERE / name).exists():
        if time.monotonic() > deadline:
            sys.exit(99)
        time.sleep(0.02)


def sleep_forever():
    # A grandchild too: stopping a worker must reach its whole process group.
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    write_pid(f"grandchild{INDEX}.pid", child.pid)
    write_pid(f"worker{INDEX}.pid")
    time.sleep(60)
    sys.exit(98)

"""


def _script(tmp_path: Path, body: str) -> list[str]:
    """A worker command: the preamble plus ``body``, run by this interpreter."""
    path = tmp_path / "worker.py"
    path.write_text(PREAMBLE + body)
    return [sys.executable, str(path), str(tmp_path)]


def _pid(tmp_path: Path, name: str) -> int:
    return int((tmp_path / name).read_text())


def _gone(pid: int, within: float = 5.0, zombie: bool = True) -> bool:
    """Whether ``pid`` is gone within ``within`` seconds (the time to be reaped).

    With ``zombie``, a dead process that its adopter (PID 1) has not reaped yet counts as gone.
    """
    deadline = time.monotonic() + within
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:
            if zombie and Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return True
        except (OSError, IndexError):
            pass
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def _our_marks(tmp_path: Path) -> tuple[bytes, ...]:
    """What the command line of a worker (its directory) or of its child (its code) contains."""
    return (os.fsencode(tmp_path), b"time.sleep(60)")


@pytest.fixture
def job_dir(tmp_path: Path) -> Iterator[Path]:
    """``tmp_path``; afterwards, any process a failed test left running from it is killed."""
    yield tmp_path
    for pid_file in tmp_path.glob("*.pid"):
        pid = int(pid_file.read_text())
        try:  # only our own workers and their children, not a process that reused the PID
            ours = any(mark in Path(f"/proc/{pid}/cmdline").read_bytes() for mark in _our_marks(tmp_path))
        except OSError:
            continue
        if ours and not _gone(pid, within=0):
            os.kill(pid, signal.SIGKILL)


def _assert_stopped(tmp_path: Path, index: int) -> None:
    """Worker ``index`` and its child are gone; the worker reaped too, by the launcher."""
    pid = _pid(tmp_path, f"worker{index}.pid")
    assert _gone(pid, zombie=False), f"worker {index} (pid {pid}) still runs after the launcher returned"
    pid = _pid(tmp_path, f"grandchild{index}.pid")
    assert _gone(pid), f"the child of worker {index} (pid {pid}) still runs after the launcher returned"


def test_tf_config_lists_every_worker_and_names_this_one():
    assert tf_config([1234, 5678], 1) == {
        "cluster": {"worker": ["127.0.0.1:1234", "127.0.0.1:5678"]},
        "task": {"type": "worker", "index": 1},
    }
    with pytest.raises(ValueError, match="index"):
        tf_config([1234], 1)


def test_launch_refuses_no_workers_and_no_command():
    with pytest.raises(ValueError, match="at least 1"):
        launch(["true"], 0)
    with pytest.raises(ValueError, match="command"):
        launch([], 2)


def test_two_workers_get_their_tf_config_and_their_lines_are_prefixed(job_dir, capsys):
    command = _script(
        job_dir,
        """
print("TF_CONFIG=" + os.environ["TF_CONFIG"])
print("INDEX=" + os.environ["PTYCHO_WORKER_INDEX"])
for k in range(200):  # many lines from both at once: none may be cut or mixed
    print(f"{INDEX} line {k} " + "x" * 100)
print(f"to stderr from {INDEX}", file=sys.stderr)
""",
    )
    assert launch(command, 2) == 0
    out, err = capsys.readouterr()

    configs = {}
    for line in out.splitlines():
        prefix, _, text = line.partition("] ")
        assert prefix in ("[worker 0", "[worker 1"), line
        index = int(prefix.removeprefix("[worker "))
        if text.startswith("TF_CONFIG="):
            configs[index] = json.loads(text.removeprefix("TF_CONFIG="))
        elif text.startswith("INDEX="):
            assert text == f"INDEX={index}"
        else:
            assert text.startswith(f"{index} line ") and text.endswith(" " + "x" * 100), line
    assert sorted(configs) == [0, 1]
    assert [configs[i]["task"] for i in (0, 1)] == [
        {"type": "worker", "index": 0},
        {"type": "worker", "index": 1},
    ]
    workers = configs[0]["cluster"]["worker"]
    assert configs[1]["cluster"]["worker"] == workers
    assert len(workers) == 2 and len(set(workers)) == 2
    assert all(w.startswith("127.0.0.1:") and 0 < int(w.split(":")[1]) < 65536 for w in workers)
    assert out.count(" line ") == 400
    assert sorted(err.splitlines()) == ["[worker 0] to stderr from 0", "[worker 1] to stderr from 1"]


def test_a_failing_worker_stops_the_other_and_its_code_is_the_launchers(job_dir, capsys):
    command = _script(
        job_dir,
        """
if INDEX == 0:
    wait_for("worker1.pid")
    sys.exit(3)
sleep_forever()
""",
    )
    start = time.monotonic()
    code = launch(command, 2)
    elapsed = time.monotonic() - start

    assert code == 3
    assert elapsed < LIVENESS
    _assert_stopped(job_dir, 1)
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == "[launch] worker 0 exited with code 3; stopped the other 1 worker(s)"


def test_a_worker_killed_by_a_signal_exits_128_plus_the_signal(job_dir, capsys):
    command = _script(
        job_dir,
        """
if INDEX == 1:
    wait_for("worker0.pid")
    os.kill(os.getpid(), signal.SIGKILL)
sleep_forever()
""",
    )
    start = time.monotonic()
    assert launch(command, 2) == 128 + signal.SIGKILL == 137
    assert time.monotonic() - start < LIVENESS
    _assert_stopped(job_dir, 0)
    last = capsys.readouterr().err.splitlines()[-1]
    assert "worker 1 was killed by SIGKILL (exit code 137)" in last and "stopped the other" in last


def test_a_worker_that_ignores_sigterm_is_killed_after_the_grace(job_dir):
    command = _script(
        job_dir,
        """
if INDEX == 0:
    wait_for("worker1.pid")
    sys.exit(1)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
sleep_forever()
""",
    )
    start = time.monotonic()
    assert launch(command, 2, grace=1.0) == 1
    elapsed = time.monotonic() - start
    assert 0.9 < elapsed < LIVENESS  # it waited the grace (SIGTERM did nothing), then SIGKILL
    _assert_stopped(job_dir, 1)


def test_the_timeout_stops_every_worker_and_exits_124(job_dir, capsys):
    command = _script(job_dir, "sleep_forever()\n")
    start = time.monotonic()
    assert launch(command, 2, timeout=1.0) == 124
    assert time.monotonic() - start < LIVENESS
    for index in (0, 1):
        _assert_stopped(job_dir, index)
    assert "timed out after 1 s" in capsys.readouterr().err.splitlines()[-1]


def _cli(*args: str, timeout: float = LIVENESS) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "ptycho.distributed.launch", *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def test_the_command_line_runs_the_job(job_dir):
    command = _script(job_dir, 'print("index", INDEX, os.environ["TF_CONFIG"])\n')
    result = _cli("--workers", "2", "--", *command)
    assert result.returncode == 0, result.stderr
    lines = sorted(result.stdout.splitlines())
    assert [line.split()[:3] for line in lines] == [["[worker", "0]", "index"], ["[worker", "1]", "index"]]
    assert [json.loads(line.split(" ", 4)[4])["task"]["index"] for line in lines] == [0, 1]


def test_the_command_line_passes_a_workers_failure_on(job_dir):
    command = _script(job_dir, "sys.exit(5 if INDEX == 1 else 0)\n")
    result = _cli("--workers", "2", "--grace", "1", "--", *command)
    assert result.returncode == 5
    assert "worker 1 exited with code 5" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--workers", "0", "--", "true"], "--workers must be at least 1; got 0"),
        (["--workers", "2"], "missing the command to run: expected it after '--'"),
        (["--workers", "2", "--"], "missing the command to run: expected it after '--'"),
        (["--workers", "2", "true"], "the command to run goes after '--'"),
        (["--", "true"], "--workers"),
        (["--workers", "2", "--grace", "-1", "--", "true"], "--grace"),
    ],
)
def test_bad_arguments_exit_2_naming_the_problem(args, message, capsys):
    with pytest.raises(SystemExit) as raised:
        main(args)
    assert raised.value.code == 2
    assert message in capsys.readouterr().err


def test_bad_arguments_exit_2_from_the_command_line():
    for args, message in [
        (["--workers", "0", "--", "true"], "--workers must be at least 1"),
        (["--workers", "2"], "missing the command to run"),
    ]:
        result = _cli(*args)
        assert result.returncode == 2
        assert message in result.stderr and "usage:" in result.stderr


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_to_the_launcher_stops_every_worker(job_dir, signum, code):
    command = _script(job_dir, "sleep_forever()\n")
    launcher = subprocess.Popen(
        [sys.executable, "-m", "ptycho.distributed.launch", "--workers", "2", "--", *command],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + LIVENESS
        while not all((job_dir / f"worker{i}.pid").exists() for i in (0, 1)):
            assert launcher.poll() is None and time.monotonic() < deadline, "the workers did not start"
            time.sleep(0.02)
        launcher.send_signal(signum)
        _, err = launcher.communicate(timeout=LIVENESS)
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait()
    assert launcher.returncode == code
    assert f"received {signal.Signals(signum).name}; stopped all 2 worker(s)" in err
    for index in (0, 1):
        _assert_stopped(job_dir, index)


def test_the_launcher_does_not_import_tensorflow():
    check = "import sys, ptycho.distributed.launch; assert 'tensorflow' not in sys.modules, 'imported'"
    result = subprocess.run(
        [sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
