# slip: integer labels (n,) are fit with categorical_crossentropy, which wants one-hot labels (n, 10)
# expect-exception: ValueError
# expect-message: must have the same rank \(ndim\)\. Received: target\.shape=\(32,\), output\.shape=\(32, 10\)
# expect-function: categorical_crossentropy
import keras
import numpy as np

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
features = rng.normal(size=(64, 20)).astype("float32")
labels = rng.integers(0, 10, size=64)

inputs = keras.Input(shape=(20,), name="features")
hidden = keras.layers.Dense(32, activation="relu", name="hidden")(inputs)
outputs = keras.layers.Dense(10, activation="softmax", name="classifier")(hidden)
model = keras.Model(inputs, outputs, name="digits")
model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
model.fit(features, labels, batch_size=32, epochs=1, verbose=0)  # <- slip
