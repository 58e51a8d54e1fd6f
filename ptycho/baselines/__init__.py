"""Iterative reconstructions of the same data, as baselines for the network (issue 18)."""
