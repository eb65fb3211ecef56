"""PostgreSQL advisory-lock keys, all in one place so no two uses share a key."""

__all__ = ["MIGRATIONS", "PAYOUTS"]

MIGRATIONS = 0x5354524D  # "STRM": replicas starting together migrate one at a time
PAYOUTS = 0x53545250  # "STRP": payout computations, one at a time across replicas
