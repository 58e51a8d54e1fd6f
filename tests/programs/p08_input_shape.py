# slip: the model's Input says shape=(28, 28) but the data were flattened to (n, 784)
# expect-exception: ValueError
# expect-message: name 'pixels' of layer .*expected shape=\(None, 28, 28\), found shape=\(32, 784\)
# expect-layer: pixels InputLayer
import keras
import numpy as np

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
x_train = rng.random((64, 784), dtype="float32")
y_train = rng.integers(0, 10, size=64)

inputs = keras.Input(shape=(28, 28), name="pixels")  # <- slip
x = keras.layers.Flatten(name="flatten")(inputs)
x = keras.layers.Dense(32, activation="relu", name="hidden")(x)
outputs = keras.layers.Dense(10, activation="softmax", name="classifier")(x)
model = keras.Model(inputs, outputs, name="mnist_classifier")
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
model.fit(x_train, y_train, batch_size=32, epochs=1, verbose=0)
