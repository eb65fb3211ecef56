"""HTTPS relays: the relay domain's DNS, the relay names, and certificates from an ACME CA."""
