# slip: a custom layer merges the batch into one row once it reaches 16 rows: batch 8 works, batch 32 crashes
# expect-exception: InvalidArgumentError
# expect-message: Dimension 0 in both shapes must be equal: shape\[0\] = \[32,16\] vs\. shape\[1\] = \[1,16\]
# expect-layer: context BatchContext
# crash-layer: join Concatenate
import keras
import numpy as np
import tensorflow as tf


class BatchContext(keras.layers.Layer):
    """A context vector from the whole batch, used once the batch is big enough for stable statistics."""

    def call(self, x):
        big_enough = tf.shape(x)[0] >= 16
        return tf.cond(big_enough, lambda: tf.reduce_sum(x, axis=0, keepdims=True), lambda: x)  # <- slip


keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
features = rng.normal(size=(64, 8)).astype("float32")

inputs = keras.Input(shape=(8,), name="features")
hidden = keras.layers.Dense(16, activation="relu", name="encode")(inputs)
context = BatchContext(name="context")(hidden)
joined = keras.layers.Concatenate(name="join")([hidden, context])
outputs = keras.layers.Dense(1, name="score")(joined)
model = keras.Model(inputs, outputs, name="scorer")

print("batch 8:", model.predict(features[:8], batch_size=8, verbose=0).shape)
print("batch 32:", model.predict(features, batch_size=32, verbose=0).shape)
