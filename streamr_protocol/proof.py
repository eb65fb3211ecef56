"""Prove which node served a probed segment: an HMAC over the probe nonce and the body hash."""

import hashlib
import hmac

__all__ = ["NONCE_PARAM", "PROOF_HEADER", "make_proof", "verify_proof"]

NONCE_PARAM = "streamr_nonce"
PROOF_HEADER = "X-Streamr-Proof"


def make_proof(probe_key: str, nonce: str, body: bytes) -> str:
    """Return the hex HMAC-SHA256 of the nonce and the body hash, keyed by the probe key."""
    digest = hashlib.sha256(body).hexdigest()
    message = f"{nonce}:{digest}".encode()
    return hmac.new(probe_key.encode(), message, hashlib.sha256).hexdigest()


def verify_proof(probe_key: str, nonce: str, body: bytes, proof: str | None) -> bool:
    """Check a proof in constant time."""
    if not proof:
        return False
    return hmac.compare_digest(make_proof(probe_key, nonce, body), proof.strip().lower())
