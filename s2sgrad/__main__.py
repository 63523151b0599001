"""``python -m s2sgrad``: the same command line as the ``s2sgrad`` script."""

import sys

from s2sgrad.cli import main

if __name__ == "__main__":
    sys.exit(main())
