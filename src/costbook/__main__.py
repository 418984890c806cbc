"""``python -m costbook``: the same as the ``costbook`` command."""

import sys

from ._cli.main import main

sys.exit(main())
