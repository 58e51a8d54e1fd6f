"""The physics of the forward model: probe, test objects, simulated data and the losses (PHYSICS.md)."""
