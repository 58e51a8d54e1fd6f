# slip: a custom loss averages over axis=0 (the batch), not axis=-1: one value per output, not per sample
# expect-exception: ValueError
# expect-message: Dimensions must be equal, but are 3 and 32 for .*weighted_mse.* input shapes: \[3\], \[32\]
# expect-function: weighted_mse
import keras
import numpy as np
import tensorflow as tf


def weighted_mse(y_true, y_pred):
    """Mean squared error per sample, to be weighted by the sample weights."""
    return tf.reduce_mean(tf.square(y_true - y_pred), axis=0)  # <- slip


keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
features = rng.normal(size=(64, 8)).astype("float32")
targets = rng.normal(size=(64, 3)).astype("float32")
weights = rng.uniform(0.5, 2.0, size=64).astype("float32")

inputs = keras.Input(shape=(8,), name="features")
hidden = keras.layers.Dense(16, activation="relu", name="hidden")(inputs)
outputs = keras.layers.Dense(3, name="xyz")(hidden)
model = keras.Model(inputs, outputs, name="locator")
model.compile(optimizer="adam", loss=weighted_mse)
model.fit(features, targets, sample_weight=weights, batch_size=32, epochs=1, verbose=0)
