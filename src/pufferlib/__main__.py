"""``python -m pufferlib``: the same as the ``puffer`` command."""

from pufferlib.cli import main

raise SystemExit(main())
