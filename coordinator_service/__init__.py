"""The host's coordinator: API, storage, prober, ledger, dashboard and CLI."""
