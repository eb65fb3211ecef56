"""PyInstaller entry point of the friend's app: `streamr-node` (GUI, or `--headless`)."""

import multiprocessing
import sys

from desktop_app.app import main

if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main())
