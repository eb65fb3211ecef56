"""HTTP API under /api/v1 built by create_app."""
