# slip: an LSTM is given 2-D data (n, features) with no time axis; it needs (n, timesteps, features)
# expect-exception: ValueError
# expect-message: layer 'encoder' is incompatible.*ndim=3, found ndim=2\. Full shape received: \(None, 20\)
# expect-layer: encoder LSTM
import keras
import numpy as np

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
readings = rng.normal(size=(64, 20)).astype("float32")  # 20 sensor readings per sample
targets = rng.normal(size=(64, 1)).astype("float32")

inputs = keras.Input(shape=(readings.shape[1],), name="readings")
encoded = keras.layers.LSTM(16, name="encoder")(inputs)  # <- slip
outputs = keras.layers.Dense(1, name="forecast")(encoded)
model = keras.Model(inputs, outputs, name="forecaster")
model.compile(optimizer="adam", loss="mse")
model.fit(readings, targets, batch_size=16, epochs=1, verbose=0)
