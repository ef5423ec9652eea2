"""``python -m galileo`` — the command-line interface."""

from galileo._cli import main

raise SystemExit(main())
