"""The seed's entry point: ``python scripts/studies/dose_response_study.py [--output-dir DIR] [--nepochs N]``.

Runs ``ptycho.studies.dose_response`` (see its ``--help``) from a checkout, installed or not.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from ptycho.studies.dose_response import main

if __name__ == "__main__":
    raise SystemExit(main())
