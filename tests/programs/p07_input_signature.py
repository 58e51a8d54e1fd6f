# slip: a tf.function's input_signature says [None, 28, 28]; the images carry a channel axis (n, 28, 28, 1)
# expect-exception: TypeError
# expect-message: Binding inputs to tf\.function failed.*shape=\(16, 28, 28, 1\).*shape=\(None, 28, 28\)
# expect-function: normalize
import numpy as np
import tensorflow as tf

tf.random.set_seed(0)
rng = np.random.default_rng(0)
images = tf.constant(rng.integers(0, 256, size=(16, 28, 28, 1)).astype("float32"))


@tf.function(input_signature=[tf.TensorSpec(shape=[None, 28, 28], dtype=tf.float32)])  # <- slip
def normalize(batch):
    mean = tf.reduce_mean(batch, axis=[1, 2], keepdims=True)
    return (batch - mean) / 255.0


print("normalized:", normalize(images).shape)
