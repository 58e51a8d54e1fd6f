# A user's script written against PtychoPINN's TensorFlow API, as its README and notebooks use it:
# load an NPZ, group, train a few steps, reconstruct and stitch; then the workflow helpers.
# It must run unmodified on ptycho-contracts (tests/test_compat_workflow.py runs it).
import sys
from pathlib import Path

import numpy as np

from ptycho import params as p
from ptycho import loader, train_pinn, nbutils, model_manager
from ptycho import tf_helper as hh
from ptycho.raw_data import RawData
from ptycho.config.config import ModelConfig, TrainingConfig, update_legacy_dict
from ptycho.workflows.components import load_data, run_cdi_example, save_outputs

train_file, test_file, out_dir = sys.argv[1], sys.argv[2], Path(sys.argv[3])

config = TrainingConfig(
    model=ModelConfig(N=32, gridsize=2, n_filters_scale=1),
    train_data_file=Path(train_file),
    test_data_file=Path(test_file),
    batch_size=16,
    nepochs=1,
    n_groups=48,
    nphotons=1e6,
    neighbor_count=4,
    output_dir=out_dir,
)
update_legacy_dict(p.cfg, config)
print("gridsize", p.get("gridsize"), "N", p.get("N"), "padded size", p.get_padded_size())

# the low-level path
raw = RawData.from_file(train_file)
dset = raw.generate_grouped_data(p.get("N"), K=4, nsamples=48)
print("grouped", dset["X_full"].shape, dset["coords_relative"].shape, sorted(dset))
train_container = loader.load(lambda: dset, raw.probeGuess, which=None, create_split=False)
model, history = train_pinn.train(train_container)
print("loss per epoch", [round(v, 3) for v in history.history["loss"]])
obj_tensor_full, global_offsets = nbutils.reconstruct_image(train_container)
print("patches", obj_tensor_full.shape, "offsets", global_offsets.shape)
stitched = hh.reassemble_position(obj_tensor_full, global_offsets, M=20)
print("stitched", stitched.shape, stitched.dtype.name)
assert stitched.shape[-1] == 1 and np.isfinite(np.abs(stitched.numpy())).all()

# the workflow path
train_data = load_data(train_file)
test_data = load_data(test_file, n_subsample=60, subsample_seed=1)
recon_amp, recon_phase, results = run_cdi_example(train_data, test_data, config, do_stitching=True)
model_manager.save(str(out_dir))
save_outputs(recon_amp, recon_phase, results, str(out_dir))
print("amplitude", recon_amp.shape, "epochs", results["history_epochs"])
print("wrote", sorted(f.name for f in out_dir.iterdir()))
