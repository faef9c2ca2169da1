"""``python -m tsrnn``: the command line (see :mod:`tsrnn.cli`)."""

import sys

from tsrnn.cli import main

if __name__ == "__main__":
    sys.exit(main())
