# SPDX-License-Identifier: MIT
"""``python -m nncore``: the ``nncore`` command line (see ``nncore.cli``).

``main`` is also the console script's entry point (``nncore = "nncore.__main__:main"``).
"""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
