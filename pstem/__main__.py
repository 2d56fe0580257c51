"""``python -m pstem``: the same as the ``pstem`` command."""

import sys

from .app import main

sys.exit(main())
