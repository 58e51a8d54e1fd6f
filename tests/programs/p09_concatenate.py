# slip: a U-Net skip connection is concatenated on axis=1 (channels-first habit), not the channel axis -1
# expect-exception: ValueError
# expect-message: `Concatenate` layer requires.*\[\(None, 32, 32, 16\), \(None, 32, 32, 32\)\]
# expect-layer: skip_merge Concatenate
import keras
import numpy as np

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
images = rng.random((16, 32, 32, 1), dtype="float32")
masks = rng.integers(0, 2, size=(16, 32, 32, 1)).astype("float32")

inputs = keras.Input(shape=(32, 32, 1), name="image")
skip = keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="enc_conv")(inputs)
down = keras.layers.MaxPooling2D(name="down")(skip)
mid = keras.layers.Conv2D(32, 3, padding="same", activation="relu", name="mid_conv")(down)
up = keras.layers.UpSampling2D(name="up")(mid)
merged = keras.layers.Concatenate(axis=1, name="skip_merge")([skip, up])  # <- slip
outputs = keras.layers.Conv2D(1, 1, activation="sigmoid", name="mask")(merged)
model = keras.Model(inputs, outputs, name="tiny_unet")
model.compile(optimizer="adam", loss="binary_crossentropy")
model.fit(images, masks, batch_size=8, epochs=1, verbose=0)
