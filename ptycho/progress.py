"""Progress of long steps (simulation, grouping, training, stitching): one mechanism for all.

A bar on stderr when it is a terminal and progress is not switched off (``quiet()``); nothing
otherwise, so logs and CI output stay clean. The switch is a ``ContextVar``.
"""

from __future__ import annotations

import contextlib
import contextvars
import sys
from collections.abc import Callable, Iterator
from typing import Any

_QUIET: contextvars.ContextVar[bool] = contextvars.ContextVar("ptycho_progress_quiet", default=False)


def set_quiet(value: bool) -> None:
    """Switch progress bars off (``True``) for this context (a command's ``--quiet``)."""
    _QUIET.set(value)


def shown() -> bool:
    return not _QUIET.get() and sys.stderr.isatty()


def _nothing(n: int = 1) -> None:
    pass


@contextlib.contextmanager
def progress(description: str, total: int) -> Iterator[Callable[[int], None]]:
    """``with progress("stitching", n) as advance: ... advance(k)``; a no-op off a terminal."""
    if not shown() or total <= 0:
        yield _nothing
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=total)

        def advance(n: int = 1) -> None:
            bar.advance(task, n)

        yield advance


def keras_callback(epochs: int) -> Any:
    """A Keras callback that shows training's progress in steps over all epochs (no-op off a terminal)."""
    import keras

    class _Progress(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self._stack = contextlib.ExitStack()
            self._advance: Callable[[int], None] = _nothing

        def on_train_begin(self, logs: dict | None = None) -> None:
            steps = (self.params or {}).get("steps") or 0
            self._advance = self._stack.enter_context(progress("training", epochs * steps))

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            self._advance(1)

        def on_train_end(self, logs: dict | None = None) -> None:
            self._stack.close()

    return _Progress()
