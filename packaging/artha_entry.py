"""Entry point PyInstaller freezes: the same `artha` command as the console script."""

import sys

from app.cli import main

if __name__ == "__main__":
    sys.exit(main())
