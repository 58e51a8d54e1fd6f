"""A pytest plugin: with it switched on, any test during which AutoGraph logs "could not transform" fails.

Installed with the package (``pytest11`` entry point) and inert until a project opts in, with
``contracts_autograph_guard = true`` in its pytest ini options or ``--contracts-autograph-guard``
on the command line. AutoGraph logs that warning through the ``tensorflow`` logger when it falls
back to running a function unconverted; code that relies on conversion then runs differently
from what it says.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Literal

import pytest

AUTOGRAPH_WARNING = "AutoGraph could not transform"
INI_OPTION = "contracts_autograph_guard"
FLAG = "--contracts-autograph-guard"


class _AutoGraphWarnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if AUTOGRAPH_WARNING in message:
            self.messages.append(message.splitlines()[0])


def pytest_addoption(parser: pytest.Parser) -> None:
    what = "fail a test during which AutoGraph could not transform a function"
    kind: Literal["bool"] = "bool"
    parser.addini(INI_OPTION, what, type=kind, default=False)
    parser.addoption(FLAG, action="store_true", default=False, help=what)


def _enabled(config: pytest.Config) -> bool:
    return bool(config.getoption(FLAG) or config.getini(INI_OPTION))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    if not _enabled(item.config):
        return (yield)
    handler = _AutoGraphWarnings()
    logger = logging.getLogger("tensorflow")
    logger.addHandler(handler)
    try:
        result = yield
    finally:
        logger.removeHandler(handler)
    if handler.messages:
        pytest.fail(
            "AutoGraph could not transform a function during this test:\n  " + "\n  ".join(handler.messages),
            pytrace=False,
        )
    return result
