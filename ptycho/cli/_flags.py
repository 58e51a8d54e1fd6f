"""Command-line flags generated from the config dataclasses, and a TOML config file equal to them.

One flag per dataclass field, named after it (``--n_groups``, as PtychoPINN's scripts name them),
typed from its annotation, with the field's ``metadata["help"]`` and its default in the help. A flag
that is not given is absent from the parsed namespace, so the dataclass's own default applies
(one source of truth). ``--config run.toml`` holds the same flags as ``key = value`` lines; flags on
the command line win over the file.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


def _unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    args = typing.get_args(annotation)
    if type(None) in args:
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return rest[0], True
    return annotation, False


def _choices(annotation: Any) -> tuple[str, ...] | None:
    if typing.get_origin(annotation) is typing.Literal:
        return tuple(str(a) for a in typing.get_args(annotation))
    return None


def add_dataclass_flags(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    cls: type,
    exclude: Sequence[str] = (),
    defaults: dict[str, str] | None = None,
) -> list[str]:
    """Add ``--<field>`` for every field of ``cls`` whose type is a flag's; the names added.

    ``defaults`` replaces the text of a field's default in the help (for a command that decides
    it from the data when the flag is absent).
    """
    hints = typing.get_type_hints(cls)
    added = []
    for f in dataclasses.fields(cls):
        if f.name in exclude or "help" not in f.metadata:
            continue
        annotation, _ = _unwrap_optional(hints[f.name])
        default = (defaults or {}).get(f.name, repr(f.default) if f.default is not None else "none")
        text = f"{f.metadata['help']} (default: {default})"
        options: dict[str, Any] = {"default": argparse.SUPPRESS, "help": text}
        choices = _choices(annotation)
        if choices is not None:
            options.update(choices=choices, metavar="{" + ",".join(choices) + "}")
        elif annotation is bool:
            options["action"] = argparse.BooleanOptionalAction
        elif annotation in (int, float, str):
            options.update(type=annotation, metavar=annotation.__name__.upper())
        else:
            raise TypeError(f"{cls.__name__}.{f.name}: no flag for type {annotation!r}")
        parser.add_argument(f"--{f.name}", **options)
        added.append(f.name)
    return added


def given(args: argparse.Namespace, cls: type) -> dict[str, Any]:
    """The fields of ``cls`` given as flags (or in the config file); fields without a help text
    have no generated flag, whatever a command's own flag of the same name holds."""
    return {
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(cls)
        if "help" in f.metadata and hasattr(args, f.name)
    }


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE.toml",
        help="read flags from a TOML file of `name = value` lines (the flags' names without --); "
        "flags on the command line win",
    )


def parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse ``argv`` with the flags of ``--config FILE`` (if given) placed before them."""
    argv = list(sys.argv[1:] if argv is None else argv)
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--config", type=Path)
    known, _ = pre.parse_known_args(argv)
    if known.config is not None:
        argv = config_file_args(parser, known.config) + argv
    return parser.parse_args(argv)


def config_file_args(parser: argparse.ArgumentParser, path: Path) -> list[str]:
    """The command-line flags equal to a TOML config file; unknown keys and tables refused."""
    try:
        table = tomllib.loads(path.read_text())
    except FileNotFoundError:
        parser.error(f"--config {str(path)!r}: no such file")
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        parser.error(f"--config {str(path)!r} is not valid TOML: {exc}")
    actions = {
        a.dest: a for a in parser._actions if a.option_strings and a.dest not in ("help", "config", "version")
    }
    tokens: list[str] = []
    for key, value in table.items():
        action = actions.get(key)
        if action is None:
            parser.error(
                f"--config {str(path)!r}: unknown key {key!r}; the keys are the flags' names: "
                + ", ".join(sorted(actions))
            )
        flag = f"--{key}"
        if isinstance(value, bool):
            if isinstance(action, argparse.BooleanOptionalAction):
                tokens.append(flag if value else f"--no-{key}")
            elif action.nargs == 0:  # store_true
                tokens += [flag] if value else []
            else:
                parser.error(f"--config {str(path)!r}: key {key!r} takes a value, not true/false")
        elif isinstance(value, (int, float, str)):
            if action.nargs == 0:
                parser.error(f"--config {str(path)!r}: key {key!r} is a switch: write {key} = true")
            tokens += [flag, str(value)]
        else:
            parser.error(
                f"--config {str(path)!r}: key {key!r} must be a number, a string or true/false; "
                f"received a {type(value).__name__}"
            )
    return tokens
