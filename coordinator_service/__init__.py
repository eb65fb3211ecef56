"""The host's coordinator: API, storage, prober, ledger, dashboard and CLI."""

__version__ = "0.1.0"
