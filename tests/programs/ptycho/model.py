"""A tiny amplitude-retrieval autoencoder for 8x8 diffraction patterns."""

import keras

N_PIXELS = 64


class TinyPtycho(keras.Model):
    def __init__(self):
        super().__init__(name="tiny_ptycho")
        self.hidden = keras.layers.Dense(32, activation="relu", name="hidden")
        self.amplitude = keras.layers.Dense(N_PIXELS, name="amplitude")

    def call(self, patterns):
        x = self.hidden(patterns)
        x = self.hidden(x)  # <- slip
        return self.amplitude(x)


def build():
    return TinyPtycho()
