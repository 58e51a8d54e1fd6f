# slip: none (a clean run: trace-shapes run must leave this script's behaviour unchanged)
# expect-exit: 0
# expect-stdout: done
import keras
import numpy as np

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
x = rng.normal(size=(64, 8)).astype("float32")
y = rng.integers(0, 3, size=64)

inputs = keras.Input(shape=(8,), name="features")
hidden = keras.layers.Dense(16, activation="relu", name="hidden")(inputs)
outputs = keras.layers.Dense(3, activation="softmax", name="classifier")(hidden)
model = keras.Model(inputs, outputs, name="clean_net")
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
history = model.fit(x, y, batch_size=16, epochs=2, verbose=0)

probabilities = model.predict(x[:5], verbose=0)
print("epochs:", len(history.history["loss"]))
print("input shape:", x.shape)
print("output shape:", probabilities.shape)
print("parameters:", model.count_params())
print("done")
