"""Wire format shared by the node and the coordinator: pydantic models only."""

from streamr_protocol.invite import (
    InviteLink,
    InviteLinkError,
    format_invite_link,
    parse_invite_link,
)
from streamr_protocol.models import *  # noqa: F403
from streamr_protocol.models import __all__ as _models_all
from streamr_protocol.proof import (
    NONCE_PARAM,
    PROOF_HEADER,
    SEGMENT_PROOF_HEADER,
    make_proof,
    segment_proof,
    verify_proof,
    verify_segment_proof,
)
from streamr_protocol.relay_url import RelayUrlError, canonical_relay_url

__all__ = [
    "NONCE_PARAM",
    "PROOF_HEADER",
    "SEGMENT_PROOF_HEADER",
    "RelayUrlError",
    "canonical_relay_url",
    "InviteLink",
    "InviteLinkError",
    "format_invite_link",
    "make_proof",
    "segment_proof",
    "parse_invite_link",
    "verify_proof",
    "verify_segment_proof",
    *_models_all,
]
