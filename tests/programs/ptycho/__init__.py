"""The user's own tiny package, which happens to be called ``ptycho``."""
