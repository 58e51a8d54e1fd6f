"""The private TensorFlow/XLA names the XLA translation kernel needs, and why, in one place.

``tf.gather`` cannot take a run of consecutive elements per index: XLA's own Gather can (a slice
size per index), and the row-window kernel reads each source row as one such run, a contiguous
copy. TensorFlow exposes XlaGather only through ``tensorflow.compiler.tf2xla.python.xla`` and its
dimension numbers through the XLA protobuf. ``tests/test_translation_compat.py`` pins both against
the installed TensorFlow (``pyproject.toml`` pins its minor version).
"""

from __future__ import annotations

from typing import Any

from tensorflow.compiler.tf2xla.python import xla as _tf2xla
from tensorflow.compiler.xla import xla_data_pb2 as _xla_data


def gather_dimension_numbers(**fields: Any) -> Any:
    """``xla.GatherDimensionNumbers(**fields)``: offset_dims, collapsed_slice_dims, start_index_map,
    index_vector_dim."""
    return _xla_data.GatherDimensionNumbers(**fields)


def xla_gather(operand: Any, start_indices: Any, dimension_numbers: Any, slice_sizes: Any) -> Any:
    """XLA's Gather: for each index, the slice of ``slice_sizes`` starting there (start clamped inside)."""
    return _tf2xla.gather(operand, start_indices, dimension_numbers, slice_sizes, indices_are_sorted=False)
