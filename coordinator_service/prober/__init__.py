"""Fraud probing of node relays and the reputation it feeds."""
