"""A study's finished entries kept on disk as they finish, so that a long sweep can be resumed.

``--checkpoint-dir DIR``: every arm seed and baseline run, once finished, is saved in ``DIR`` as
``<key>.npz`` (its stitched reconstruction) and ``<key>.json`` (everything else; written last, so an
entry without its JSON does not exist). A later run with the same ``DIR`` and the same run
configuration (``DIR/run.json``: the preset with its overrides, the object's phase, the strategy)
takes those entries as they are and runs only the others. A different configuration is refused,
naming the fields that differ, before anything is run. The sanity gate is applied again to every
entry taken back; nothing else is re-validated against the code: after changing the model or the
training, start a new directory.

The results themselves still go to ``--output-dir`` only when the study ends; ``DIR`` is the
caller's, and is never removed by the study.
"""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import numpy as np

from ...files import read_npz, save_json, save_npz
from .presets import Arm
from .run import ArmResult, BaselineResult, arm_key, baseline_key

RUN_FILE = "run.json"


class Checkpoint:
    """The finished entries of one run configuration in ``path``."""

    def __init__(self, path: str | Path, run: dict[str, Any]) -> None:
        self.path = Path(path)
        self.run = json.loads(json.dumps(run))  # as it reads back from the file
        if self.path.exists() and not self.path.is_dir():
            raise ValueError(f"checkpoint directory {str(self.path)!r} is a file; expected a directory")
        if not self.path.parent.resolve().is_dir():
            raise ValueError(
                f"checkpoint directory {str(self.path)!r}: "
                f"its parent {str(self.path.parent)!r} does not exist"
            )
        saved = self.path / RUN_FILE
        if saved.exists():
            try:
                before = json.loads(saved.read_text())
            except (OSError, ValueError) as exc:
                raise ValueError(f"checkpoint settings {str(saved)!r} are unreadable: {exc}") from exc
            if not isinstance(before, dict):
                raise ValueError(
                    f"checkpoint settings {str(saved)!r} hold a {type(before).__name__}; expected an object"
                )
            differ = _differences(before, self.run)
            if differ:
                raise ValueError(
                    f"checkpoint directory {str(self.path)!r} holds entries of another run configuration "
                    f"({'; '.join(differ)}); use a new directory, or the same settings"
                )
        elif self.path.is_dir() and (held := _own_files(self.path)):
            raise ValueError(
                f"checkpoint directory {str(self.path)!r} holds files but no {RUN_FILE} "
                f"(holds {', '.join(held[:5])}); "
                "expected a new or empty directory, or one a study wrote"
            )

    def open(self) -> None:
        """Create the directory and record the configuration (after every input has been checked)."""
        self.path.mkdir(exist_ok=True)
        if not (self.path / RUN_FILE).exists():
            save_json(self.path / RUN_FILE, self.run)

    def keys(self) -> list[str]:
        # Not the temporary files a killed save may leave (".<key>.<random>.json").
        return sorted(p.stem for p in self.path.glob("[!.]*.json") if p.name != RUN_FILE)

    def save(self, result: ArmResult | BaselineResult) -> None:
        entry = {f.name: getattr(result, f.name) for f in fields(result) if f.name != "reconstruction"}
        if isinstance(result, ArmResult):
            entry["arm"] = asdict(result.arm)
        save_npz(self.path / f"{result.key}.npz", reconstruction=result.reconstruction)
        save_json(self.path / f"{result.key}.json", entry)  # last: the entry exists from here on

    def arm(self, arm: Arm, seed: int) -> ArmResult | None:
        key = arm_key(arm, seed)
        entry = self._load(key)
        if entry is None:
            return None
        values, reconstruction = entry
        self._check(key, {"arm": values["arm"], "seed": values["seed"]}, {"arm": asdict(arm), "seed": seed})
        values["arm"] = Arm(**values["arm"])
        return ArmResult(reconstruction=reconstruction, **values)

    def baseline(self, engine: str, nphotons: float, seed: int) -> BaselineResult | None:
        key = baseline_key(engine, nphotons, seed)
        entry = self._load(key)
        if entry is None:
            return None
        values, reconstruction = entry
        asked = {"engine": engine, "nphotons": nphotons, "seed": seed}
        self._check(key, {k: values[k] for k in asked}, asked)
        return BaselineResult(reconstruction=reconstruction, **values)

    def _check(self, key: str, found: dict[str, Any], asked: dict[str, Any]) -> None:
        """An entry is found by its name, which rounds the dose: it must be the one asked for."""
        if found != asked:
            raise ValueError(
                f"checkpoint entry {key} in {str(self.path)!r} is {found}, not the {asked} asked for; "
                "use a new checkpoint directory"
            )

    def _load(self, key: str) -> tuple[dict[str, Any], np.ndarray] | None:
        meta = self.path / f"{key}.json"
        if not meta.exists():
            return None
        try:
            values = json.loads(meta.read_text())
            if not isinstance(values, dict):
                raise ValueError(f"it holds a {type(values).__name__}; expected an object")
            reconstruction = read_npz(self.path / f"{key}.npz", ("reconstruction",))["reconstruction"]
        except (OSError, ValueError) as exc:  # DataFileError is a ValueError
            raise ValueError(f"checkpoint entry {key} in {str(self.path)!r} is unreadable: {exc}") from exc
        return values, reconstruction


def _own_files(path: Path) -> list[str]:
    """What ``path`` holds, but not the temporary files a killed save leaves (``.<name>.<random>``):
    a study killed while it first wrote ``run.json`` leaves only such a file, and may start again."""
    return sorted(p.name for p in path.iterdir() if not p.name.startswith("."))


def _differences(before: dict[str, Any], now: dict[str, Any], prefix: str = "") -> list[str]:
    """``field: was X, now Y`` for every field (nested by dots) that differs."""
    out = []
    for key in sorted(set(before) | set(now)):
        a, b = before.get(key), now.get(key)
        name = f"{prefix}{key}"
        if isinstance(a, dict) and isinstance(b, dict):
            out += _differences(a, b, f"{name}.")
        elif a != b:
            out.append(f"{name}: was {a!r}, now {b!r}")
    return out
