# slip: a custom grey-scale layer averages over axis 0 (the batch) instead of the colour axis
# expect-exception: ValueError
# expect-message: layer 'conv1' is incompatible.*min_ndim=4, found ndim=3\. Full shape received: \(32, 32, 3\)
# expect-layer: to_gray ToGray
# crash-layer: conv1 Conv2D
import keras
import numpy as np
import tensorflow as tf


class ToGray(keras.layers.Layer):
    """Average the colour channels of a batch of RGB images."""

    def call(self, images):
        return tf.reduce_mean(images, axis=0)  # <- slip


keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
images = rng.random((32, 32, 32, 3), dtype="float32")
labels = rng.integers(0, 10, size=32)

inputs = keras.Input(shape=(32, 32, 3), name="image")
gray = ToGray(name="to_gray")(inputs)
x = keras.layers.Conv2D(8, 3, activation="relu", name="conv1")(gray)
x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
outputs = keras.layers.Dense(10, name="classifier")(x)
model = keras.Model(inputs, outputs, name="gray_cnn")
model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
model.fit(images, labels, batch_size=16, epochs=1, verbose=0)
