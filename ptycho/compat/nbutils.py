"""PtychoPINN's ``ptycho.nbutils.reconstruct_image``: predict every group's object patch."""

from __future__ import annotations

import keras
import numpy as np

from . import model_manager
from .loader import PtychoDataContainer


def object_model(model: keras.Model | None) -> keras.Model:
    """``model`` as the object model: an autoencoder becomes its ``object`` output; None is the
    model the last ``train_pinn.train`` trained."""
    if model is None:
        if not model_manager._last:
            raise ValueError(
                "reconstruct_image: pass diffraction_to_obj; no model has been trained in this process"
            )
        model = model_manager._last["autoencoder"]
    if len(model.outputs) > 1:
        model = keras.Model(model.inputs, model.get_layer("object").output, name="diffraction_to_obj")
    return model


def reconstruct_image(
    test_data: PtychoDataContainer, diffraction_to_obj: keras.Model | None = None, batch_size: int = 32
) -> tuple[np.ndarray, np.ndarray]:
    """``(patches (B, N, N, 1) complex64, global_offsets (B, 1, 2, 1) float64)``: the model's
    object patch for each group, fed ``[s X, coords_nominal]`` with the container's own scale
    ``s`` and the same offsets as training (PtychoPINN fed ``local_offsets``, training
    ``coords_start_relative``)."""
    model = object_model(diffraction_to_obj)
    inputs = [np.asarray(test_data.X) * test_data.intensity_scale, np.asarray(test_data.coords_nominal)]
    patches = model.predict(inputs, batch_size=batch_size, verbose=0)
    if test_data.global_offsets is None:
        raise ValueError("reconstruct_image: the container has no global_offsets to place the patches at")
    return np.asarray(patches), np.asarray(test_data.global_offsets, np.float64)
