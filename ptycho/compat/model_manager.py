"""PtychoPINN's ``ptycho.model_manager``: a trained model saved as ``<dir>/wts.h5.zip`` and loaded back.

The archive holds this stack's model bundle (``model.keras``, ``model.json`` with the training
config and intensity scale, ``check.npz``: ``ptycho.model.bundle``) and ``params.json``, the legacy
dict's plain values when it was saved. Loading re-runs the bundle's check and restores nothing
into the legacy dict (PtychoPINN's ``load_model`` overwrote ``params.cfg``). Archives that
PtychoPINN wrote (dill pickles) are refused: unpickling runs code from the file.

``save(out_prefix)`` saves the model the last ``train_pinn.train`` in this process trained, as
PtychoPINN's did (one slot, replaced by each training).
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import keras
import numpy as np

from .. import params as _params
from ..config.config import TrainingConfig
from ..files import atomic_path
from ..model.bundle import Bundle, BundleError, load_bundle, save_bundle

ARCHIVE = "wts.h5.zip"
_last: dict[str, Any] = {}  # the last trained model: "autoencoder", "config", "inputs" (one slot)


def remember(autoencoder: keras.Model, config: TrainingConfig, inputs: list[np.ndarray]) -> None:
    """The model ``save`` will write (what ``train_pinn.train`` calls)."""
    _last.update(autoencoder=autoencoder, config=config, inputs=[np.asarray(a[:4]) for a in inputs])


def _plain(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


def save(out_prefix: str | Path) -> Path:
    """Write the last trained model to ``<out_prefix>/wts.h5.zip`` (atomically); its path."""
    if not _last:
        raise ValueError("model_manager.save: no model has been trained in this process (train_pinn.train)")
    return save_model(out_prefix, _last["autoencoder"], _last["config"], _last["inputs"])


def save_model(
    out_prefix: str | Path, autoencoder: keras.Model, config: TrainingConfig, inputs: list[np.ndarray]
) -> Path:
    out = Path(out_prefix)
    out.mkdir(parents=True, exist_ok=True)
    legacy = {k: v for k, v in _params.cfg.items() if _plain(v)}
    with tempfile.TemporaryDirectory() as tmp:
        save_bundle(tmp, autoencoder, config, inputs)
        Path(tmp, "params.json").write_text(json.dumps(legacy, indent=1, sort_keys=True))
        with (
            atomic_path(out / ARCHIVE) as target,
            zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive,
        ):
            for file in sorted(Path(tmp).iterdir()):
                archive.write(file, file.name)
    return out / ARCHIVE


def archive_path(path: str | Path) -> Path:
    """``path`` itself, ``path/wts.h5.zip``, or ``path + ".zip"``: the archive that exists."""
    path = Path(path)
    for candidate in (path / ARCHIVE, path, Path(f"{path}.zip")):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{path}: no model archive here; expected {ARCHIVE} written by ptycho_train")


def load_bundle_archive(path: str | Path) -> tuple[Bundle, dict[str, Any]]:
    """The bundle inside the archive at ``path`` (checked) and its saved legacy values."""
    archive = archive_path(path)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            with zipfile.ZipFile(archive) as z:
                names = z.namelist()
                if any(n.endswith(".dill") for n in names):
                    raise BundleError(
                        f"{archive}: written by PtychoPINN (dill pickles); this stack does not unpickle "
                        "model files (that runs code from the file): train again with ptycho_train"
                    )
                if any(Path(n).is_absolute() or ".." in Path(n).parts for n in names):
                    raise BundleError(f"{archive}: an archive member points outside the archive")
                z.extractall(tmp)
        except zipfile.BadZipFile as exc:
            raise BundleError(f"{archive}: not a zip archive ({exc})") from None
        bundle = load_bundle(tmp)
        legacy = (
            json.loads(Path(tmp, "params.json").read_text()) if Path(tmp, "params.json").is_file() else {}
        )
    return bundle, legacy


def load_multiple_models(
    base_path: str | Path, model_names: list[str] | None = None
) -> dict[str, keras.Model]:
    """``{"autoencoder": ..., "diffraction_to_obj": ...}`` (or the names asked for) from the archive
    ``base_path`` (``wts.h5`` is read as ``wts.h5.zip``)."""
    bundle, _ = load_bundle_archive(base_path)
    models = {"autoencoder": bundle.autoencoder, "diffraction_to_obj": bundle.diffraction_to_obj}
    unknown = sorted(set(model_names or models) - set(models))
    if unknown:
        raise ValueError(f"load_multiple_models: unknown model names {unknown}; known: {sorted(models)}")
    return {name: models[name] for name in (model_names or models)}
