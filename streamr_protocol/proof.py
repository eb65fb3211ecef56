"""Prove which node served a segment: an HMAC keyed by the node's probe key.

Every segment response of a relay carries `X-Streamr-Segment-Proof`: the HMAC-SHA256 of the
relay's canonical URL and the body's SHA-256, keyed by the node's probe key. It is the same for
every request of that segment (computed once, cached with it), so a probe looks like any viewer
and a node answering for another node's URL still fails: it cannot make the other node's MAC.

The older proof (HMAC of a `?streamr_nonce=` query value and the body hash in `X-Streamr-Proof`)
marked every probe; nodes still answer it for older coordinators, the coordinator no longer
asks for it.
"""

import hashlib
import hmac

from streamr_protocol.relay_url import RelayUrlError, relay_origin

__all__ = [
    "NONCE_PARAM",
    "PROOF_HEADER",
    "SEGMENT_PROOF_HEADER",
    "make_proof",
    "segment_proof",
    "verify_proof",
    "verify_segment_proof",
]

NONCE_PARAM = "streamr_nonce"
PROOF_HEADER = "X-Streamr-Proof"
SEGMENT_PROOF_HEADER = "X-Streamr-Segment-Proof"


def _hmac(probe_key: str, message: str) -> str:
    return hmac.new(probe_key.encode(), message.encode(), hashlib.sha256).hexdigest()


def make_proof(probe_key: str, nonce: str, body: bytes) -> str:
    """Return the older nonce proof: the hex HMAC of the nonce and the body hash."""
    return _hmac(probe_key, f"{nonce}:{hashlib.sha256(body).hexdigest()}")


def verify_proof(probe_key: str, nonce: str, body: bytes, proof: str | None) -> bool:
    """Check an older nonce proof in constant time."""
    if not proof:
        return False
    return hmac.compare_digest(make_proof(probe_key, nonce, body), proof.strip().lower())


def segment_proof(probe_key: str, relay_url: str, sha256_hex: str) -> str:
    """Return the hex HMAC of the relay's canonical origin and a segment's SHA-256 (hex).

    Raises RelayUrlError when `relay_url` is not an http(s) URL.
    """
    return _hmac(probe_key, f"segment:{relay_origin(relay_url)}:{sha256_hex.lower()}")


def verify_segment_proof(probe_key: str, relay_url: str, body: bytes, proof: str | None) -> bool:
    """Check a segment proof for `body` served from `relay_url`, in constant time."""
    if not proof:
        return False
    try:
        expected = segment_proof(probe_key, relay_url, hashlib.sha256(body).hexdigest())
    except RelayUrlError:
        return False
    return hmac.compare_digest(expected, proof.strip().lower())
