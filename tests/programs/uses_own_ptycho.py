# slip: the user's own ptycho package reuses one Dense as two hidden layers: built for 64 inputs, then fed 32
# expect-exception: ValueError
# expect-message: layer 'hidden' is incompatible.*value 64, but received input with shape \(16, 32\)
# expect-layer: hidden Dense
# expect-slip-file: ptycho/model.py
import keras
import numpy as np

import ptycho.model

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
patterns = rng.random((48, ptycho.model.N_PIXELS), dtype="float32")

model = ptycho.model.build()
print("model:", model.name)
model.compile(optimizer="adam", loss="mse")
model.fit(patterns, patterns, batch_size=16, epochs=1, verbose=0)
