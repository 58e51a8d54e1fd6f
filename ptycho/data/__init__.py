"""Scan data: ``raw`` (``RawData`` and its NPZ form), ``grouping`` (groups of C positions) and
``container`` (``PtychoDataContainer``: normalised tensors checked against a model)."""
