# Quick diagnostic to check positions shape in model
import tensorflow as tf
from ptycho import params as p
from ptycho.config.config import TrainingConfig, update_legacy_dict

# Setup minimal config
config = TrainingConfig(gridsize=2, N=64)
update_legacy_dict(p.cfg, config)

# Create sample tensors matching expected model input
batch_size = 32
N = p.cfg['N']
C = p.cfg['gridsize'] ** 2

# Check what the model receives
patches = tf.zeros((batch_size, N, N, C))
positions_channel_format = tf.zeros((batch_size, 1, 2, C))  # CORRECT
positions_flat_format = tf.zeros((batch_size, 2))           # WRONG

print(f"patches.shape: {patches.shape}")
print(f"positions (channel): {positions_channel_format.shape}")
print(f"positions (flat): {positions_flat_format.shape}")

# Test flatten_offsets with both formats
from ptycho.tf_helper import flatten_offsets, _channel_to_flat

try:
    flat_correct = flatten_offsets(positions_channel_format)
    print(f"flatten_offsets(channel) → {flat_correct.shape}")  # Should be (128, 2)
except Exception as e:
    print(f"flatten_offsets(channel) ERROR: {e}")

try:
    flat_wrong = flatten_offsets(positions_flat_format)
    print(f"flatten_offsets(flat) → {flat_wrong.shape}")  # Will fail or give wrong shape
except Exception as e:
    print(f"flatten_offsets(flat) ERROR: {e}")
