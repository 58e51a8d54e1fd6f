"""PtychoPINN's public TensorFlow API, implemented on this stack: the compatibility layer.

Each module here carries the signatures, defaults, argument orders, return keys and shapes of the
PtychoPINN module of the same name, and is re-exported at that module's old path (``ptycho.tf_helper``,
``ptycho.raw_data``, ``ptycho.projective_warp_xla``, ...). What PtychoPINN computed silently wrong is
not reproduced: a call that relied on it gets an error naming the old behaviour (docs/migrating.md).

At this edge, and only here:

* relative offsets have PtychoPINN's sign, ``centroid - position`` (the stack's is the opposite);
  functions that hand them to the stack negate them;
* PtychoPINN's legacy dict ``ptycho.params.cfg`` is read where PtychoPINN's function read it
  (``N``, ``gridsize``, ``offset``, ``max_position_jitter``, ...).

Nothing else inside ``ptycho`` imports this package.
"""
