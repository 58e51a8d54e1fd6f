"""Entry point of ``trace-shapes`` (console script) and ``python diagnostics/trace_shapes.py``.

Usage, exit codes and JSON schemas: ``diagnostics/cli.py``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

if __name__ == "__main__" and __package__ in (None, ""):
    # Run as a script, Python put diagnostics/ first on the path, where its modules would shadow
    # top-level ones of the same name (the standard library's ``trace``): put the project there.
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from diagnostics.cli import main as main

if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported
    sys.exit(main())
