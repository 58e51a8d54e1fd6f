"""PtychoPINN's ``ptycho.model.create_compiled_model(gridsize=None, N=None)``.

Called as PtychoPINN's (no config), it builds a fresh model from the legacy dict (``gridsize``,
``N``, ``n_filters_scale``, ``nphotons``, the loss weights and the probe set with
``probe.set_probe``) and returns ``(autoencoder, diffraction_to_obj)``, the autoencoder compiled
as PtychoPINN's was: Adam, amplitude MAE on the predicted amplitude and Poisson NLL on the predicted
intensity, weighted by ``mae_weight`` and ``nll_weight``, so that ``autoencoder.fit`` on
``PtychoDataContainer.as_tf_dataset`` trains it. Given a ``TrainingConfig`` it is this stack's
``create_compiled_model`` (``(autoencoder, diffraction_to_obj, trainer)``). Nothing is written to
the legacy dict and no state is shared between models.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def create_compiled_model(gridsize: Any = None, N: Any = None, probe: Any = None) -> Any:
    from .. import params as _params
    from ..config.config import ModelConfig, TrainingConfig
    from ..model.factory import create_compiled_model as stack_create_compiled_model
    from ..model.factory import create_model_with_gridsize

    if isinstance(gridsize, TrainingConfig):  # this stack's call: (config, probe)
        return stack_create_compiled_model(gridsize, probe=N if probe is None else probe)
    import keras

    from ..physics.losses import amplitude_mae, poisson_nll

    cfg = _params.params()
    g = int(cfg["gridsize"]) if gridsize is None else int(gridsize)
    n = int(cfg["N"]) if N is None else int(N)
    model = ModelConfig(
        N=n,
        gridsize=g,
        n_filters_scale=int(cfg["n_filters_scale"]),
        max_offset=(_params.get_padded_size() - n) / 2,
    )
    mae, nll = float(cfg["mae_weight"]), float(cfg["nll_weight"])
    TrainingConfig(model=model, mae_weight=mae, nll_weight=nll)  # refuses a mixture or no loss, by name
    if probe is None and cfg.get("probe") is not None:
        probe = np.asarray(cfg["probe"])
        probe = probe[..., 0] if probe.ndim == 3 else probe
    autoencoder, diffraction_to_obj = create_model_with_gridsize(
        g,
        n,
        n_filters_scale=model.n_filters_scale,
        max_offset=model.max_offset,
        probe=probe,
        nphotons=float(cfg["nphotons"]),
    )
    autoencoder.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=[None, amplitude_mae if mae > 0 else None, poisson_nll if nll > 0 else None],
        loss_weights=[0.0, mae, nll],
    )
    return autoencoder, diffraction_to_obj
