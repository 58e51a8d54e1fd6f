"""A ptychography reconstruction stack (PtychoPINN's physics) with a shape contract at every boundary.

Importing this package does nothing observable: no device setup, no printing, no models built.
Layouts, offsets and the translation sign follow shared/CONVENTIONS.md.
"""
