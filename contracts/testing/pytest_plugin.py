"""A pytest plugin: any test during which AutoGraph logs "could not transform" fails.

Enable it with ``pytest_plugins = ["contracts.pytest_plugin"]`` in a ``conftest.py``. AutoGraph
logs that warning through the ``tensorflow`` logger when it falls back to running a function
unconverted; code that relies on conversion then runs differently from what it says.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

AUTOGRAPH_WARNING = "AutoGraph could not transform"


class _AutoGraphWarnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if AUTOGRAPH_WARNING in message:
            self.messages.append(message.splitlines()[0])


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    handler = _AutoGraphWarnings()
    logger = logging.getLogger("tensorflow")
    logger.addHandler(handler)
    try:
        result = yield
    finally:
        logger.removeHandler(handler)
    if handler.messages:
        pytest.fail(
            "AutoGraph could not transform a function during this test:\n  "
            + "\n  ".join(handler.messages),
            pytrace=False,
        )
    return result
