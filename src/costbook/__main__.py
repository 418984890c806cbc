"""``python -m costbook``: the same as the ``costbook`` command."""

import sys

from .cli._main import main

sys.exit(main())
