# slip: a custom linear layer computes tf.matmul(self.w, x) instead of tf.matmul(x, self.w)
# expect-exception: ValueError
# expect-message: Dimensions must be equal, but are 4 and 32 for .*MatMul.* input shapes: \[8,4\], \[32,8\]
# expect-layer: project Linear
import keras
import numpy as np
import tensorflow as tf


class Linear(keras.layers.Layer):
    """A bias-free linear projection to `units` features."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="glorot_uniform", name="w")

    def call(self, x):
        return tf.matmul(self.w, x)  # <- slip


keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
features = rng.normal(size=(64, 8)).astype("float32")
targets = rng.normal(size=(64, 1)).astype("float32")

inputs = keras.Input(shape=(8,), name="features")
projected = Linear(4, name="project")(inputs)
outputs = keras.layers.Dense(1, name="regress")(projected)
model = keras.Model(inputs, outputs, name="regressor")
model.compile(optimizer="adam", loss="mse")
model.fit(features, targets, batch_size=32, epochs=1, verbose=0)
