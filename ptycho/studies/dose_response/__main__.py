"""``python -m ptycho.studies.dose_response``: the study's command line (``cli.main``)."""

from .cli import main

raise SystemExit(main())
