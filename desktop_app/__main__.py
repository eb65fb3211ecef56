"""`python -m desktop_app`: the same as `streamr-node`."""

from desktop_app.app import main

raise SystemExit(main())
