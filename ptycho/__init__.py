"""A ptychography reconstruction stack (PtychoPINN's physics) with a shape contract at every boundary.

Grouped by kind: ``tensors`` (the dims vocabulary, layouts, translation, reassembly, stitching),
``physics`` (probe, objects, simulation, losses), ``data`` (raw data, grouping, the container),
``model`` (the custom layers and the model factory), ``training``, ``evaluation``, ``config``
(``params``: the legacy dict view) and ``studies``. The module names PtychoPINN users know
(``tf_helper``, ``custom_layers``, ``raw_data``, ``loader``, ``train_pinn``, ...) are thin
re-exports of these.

Importing this package does nothing observable: no device setup, no printing, no models built.
Layouts, offsets and the translation sign follow shared/CONVENTIONS.md.
"""
