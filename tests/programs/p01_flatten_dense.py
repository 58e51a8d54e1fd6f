# slip: an MLP trained on 28x28 images predicts 32x32 images; its first Dense was built for 784 inputs
# expect-exception: ValueError
# expect-message: layer 'hidden' is incompatible.*value 784, but received input with shape \(8, 1024\)
# expect-layer: hidden Dense
import keras
import numpy as np

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
train_images = rng.random((32, 28, 28), dtype="float32")
train_labels = rng.integers(0, 10, size=32)

model = keras.Sequential(
    [
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(16, activation="relu", name="hidden"),
        keras.layers.Dense(10, name="classifier"),
    ],
    name="mnist_mlp",
)
model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
model.fit(train_images, train_labels, epochs=1, verbose=0)

new_images = rng.random((8, 32, 32), dtype="float32")
predictions = model.predict(new_images, verbose=0)  # <- slip
print(predictions.argmax(axis=-1))
