"""Explicit, validated configuration (``config.py``)."""
