"""Diagnostics for shape bugs in the ptycho stack: ``python diagnostics/trace_shapes.py --help``."""
