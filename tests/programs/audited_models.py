"""Small Keras models for ``trace-shapes audit``, each with one planted defect that does not crash at
the batch sizes a typical test uses, and clean ones. Factories take no arguments (an audit TARGET is
``tests/programs/audited_models.py:<factory>``). Nothing here uses the ptycho stack."""

import keras
import tensorflow as tf


class BatchContext(keras.layers.Layer):
    """Sums the batch into one row once it has at least ``merge_from`` rows (a tf.cond on the batch
    size); with ``merge_from=None``, what it should have been: per row, whatever the batch."""

    def __init__(self, merge_from=16, **kwargs):
        super().__init__(**kwargs)
        self.merge_from = merge_from

    def call(self, x):
        if self.merge_from is None:
            return x
        merge = tf.shape(x)[0] >= self.merge_from
        return tf.cond(merge, lambda: tf.reduce_sum(x, axis=0, keepdims=True), lambda: x)


class FirstChannel(keras.layers.Layer):
    """Keeps one channel but declares the input's channel count."""

    def call(self, x):
        return x[..., :1]

    def compute_output_shape(self, input_shape):
        return input_shape


class FirstRow(keras.layers.Layer):
    def call(self, x):
        return x[:1]


class NoisyAtInference(keras.layers.Layer):
    """Adds noise whatever the training flag: the values depend on the random stream of each mode."""

    def call(self, x):
        return x + tf.random.uniform(tf.shape(x), seed=1)


class HalfInGraph(keras.layers.Layer):
    """Casts to float16 when traced, as a graph-only 'optimisation' would."""

    def call(self, x):
        return x if tf.executing_eagerly() else tf.cast(x, tf.float16)


def _dense_model(defect, name):
    inputs = keras.Input((8,), name="features")
    x = keras.layers.Dense(16, name="encode")(inputs)
    x = defect(x)
    outputs = keras.layers.Dense(4, name="head")(x)
    return keras.Model(inputs, outputs, name=name)


def merges_batch():
    return _dense_model(BatchContext(name="context"), "merges_batch")


def first_row():
    return _dense_model(FirstRow(name="first_row"), "first_row")


def noisy():
    return _dense_model(NoisyAtInference(name="noise"), "noisy")


def half_in_graph():
    inputs = keras.Input((8,), name="features")
    x = keras.layers.Dense(16, name="encode")(inputs)
    outputs = HalfInGraph(name="half")(x)
    return keras.Model(inputs, outputs, name="half_in_graph")


def channel_lie():
    inputs = keras.Input((12, 12, 3), name="image")
    x = keras.layers.Conv2D(6, 3, padding="same", name="conv")(inputs)
    x = FirstChannel(name="first_channel")(x)
    outputs = keras.layers.Activation("sigmoid", name="probability")(x)
    return keras.Model(inputs, outputs, name="channel_lie")


def small_unet():
    inputs = keras.Input((32, 32, 1), name="image")
    d1 = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="down1")(inputs)
    p1 = keras.layers.MaxPooling2D(name="pool1")(d1)
    d2 = keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="down2")(p1)
    p2 = keras.layers.MaxPooling2D(name="pool2")(d2)
    bottom = keras.layers.Conv2D(32, 3, padding="same", activation="relu", name="bottom")(p2)
    u2 = keras.layers.UpSampling2D(name="up2")(bottom)
    c2 = keras.layers.Concatenate(name="skip2")([u2, d2])
    e2 = keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="up_conv2")(c2)
    u1 = keras.layers.UpSampling2D(name="up1")(e2)
    c1 = keras.layers.Concatenate(name="skip1")([u1, d1])
    e1 = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="up_conv1")(c1)
    outputs = keras.layers.Conv2D(1, 1, name="mask")(e1)
    return keras.Model(inputs, outputs, name="small_unet")


def mobilenet():
    return keras.applications.MobileNetV3Small(
        input_shape=(64, 64, 3), weights=None, classes=10, include_preprocessing=False
    )


def clean_context():
    """merges_batch's architecture with the context layer configured not to merge."""
    return _dense_model(BatchContext(merge_from=None, name="context"), "clean_context")


class Shift(keras.layers.Layer):
    """Moves the features along the row by ``step`` places (a translation whose sign is a convention)."""

    def __init__(self, step=1, **kwargs):
        super().__init__(**kwargs)
        self.step = step

    def call(self, x):
        return tf.roll(x, shift=self.step, axis=1)


def shifted():
    """The same shift written with the other sign convention: shapes agree, values do not."""
    return _dense_model(Shift(step=-1, name="shift"), "shifted")


def shifted_reference():
    return _dense_model(Shift(step=1, name="shift"), "shifted")


class Pairs(keras.layers.Layer):
    """Groups the rows two by two: fine for even batches, a crash for odd ones."""

    def call(self, x):
        return tf.reduce_mean(tf.reshape(x, (-1, 2, x.shape[-1])), axis=1)


def pairs():
    return _dense_model(Pairs(name="pairs"), "pairs")
