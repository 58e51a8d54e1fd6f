"""Tensor operations of the stack: the dims vocabulary, layouts, translation, reassembly, stitching.

Importing any module of this package registers the vocabulary (``vocabulary``) with ``contracts``
first, so every contract here names its layouts in the stack's words.
"""

from . import vocabulary as vocabulary
