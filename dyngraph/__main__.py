"""``python -m dyngraph``: the ``dyngraph`` command."""

from dyngraph.cli import main

raise SystemExit(main())
