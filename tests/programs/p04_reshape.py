# slip: clips of 100 samples are cut into frames of 16 with Reshape((-1, 16)), but 16 does not divide 100
# expect-exception: ValueError
# expect-message: total size of the tensor must be unchanged.*input_shape=\(100,\), target_shape=\(-1, 16\)
# expect-layer: frames Reshape
import keras
import numpy as np

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
clips = rng.normal(size=(48, 100)).astype("float32")
targets = rng.integers(0, 2, size=48)

inputs = keras.Input(shape=(100,), name="clip")
frames = keras.layers.Reshape((-1, 16), name="frames")(inputs)  # <- slip
hidden = keras.layers.GRU(8, name="frame_rnn")(frames)
outputs = keras.layers.Dense(1, activation="sigmoid", name="is_speech")(hidden)
model = keras.Model(inputs, outputs, name="vad")
model.compile(optimizer="adam", loss="binary_crossentropy")
model.fit(clips, targets, batch_size=16, epochs=1, verbose=0)
