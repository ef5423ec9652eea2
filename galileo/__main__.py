"""``python -m galileo`` — the command-line interface."""

from galileo.cli import main

raise SystemExit(main())
