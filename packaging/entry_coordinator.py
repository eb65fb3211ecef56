"""PyInstaller entry point of the host's service: `streamr-coordinator`."""

import multiprocessing
import sys

from coordinator_service.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main())
