"""`python -m coordinator_service`: the same as `streamr-coordinator`."""

import sys

from coordinator_service.entry import main

sys.exit(main())
