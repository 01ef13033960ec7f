"""``python -m mlratchet`` runs the ``ratchet`` command line."""

from mlratchet.cli import main

raise SystemExit(main())
