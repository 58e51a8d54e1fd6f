# slip: images stored channels-first (n, 3, 32, 32) are fed to a channels-last CNN built for (32, 32, 3)
# expect-exception: ValueError
# expect-message: layer 'conv1' is incompatible.*value 3, but received input with shape \(16, 3, 32, 32\)
# expect-layer: conv1 Conv2D
import keras
import numpy as np

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
images = rng.random((64, 3, 32, 32), dtype="float32")  # as saved by a PyTorch data pipeline
labels = rng.integers(0, 10, size=64)

model = keras.Sequential(
    [
        keras.Input(shape=(32, 32, 3), name="image"),
        keras.layers.Conv2D(8, 3, activation="relu", name="conv1"),
        keras.layers.MaxPooling2D(name="pool1"),
        keras.layers.Conv2D(16, 3, activation="relu", name="conv2"),
        keras.layers.GlobalAveragePooling2D(name="gap"),
        keras.layers.Dense(10, name="classifier"),
    ],
    name="cifar_cnn",
)
model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
model.fit(images, labels, batch_size=16, epochs=1, verbose=0)  # <- slip
