"""Check a node's certificate signing request: signed, a sound key, and exactly its own name."""

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from coordinator_service.errors import ValidationError

__all__ = ["check_csr"]

_CURVES = (ec.SECP256R1, ec.SECP384R1)


def check_csr(pem: str, name: str) -> str:
    """Return the CSR as clean PEM when it asks for `name` alone; ValidationError otherwise."""
    try:
        csr = x509.load_pem_x509_csr(pem.encode())
    except ValueError as exc:
        raise ValidationError("the CSR is not a PEM certificate signing request") from exc
    if not csr.is_signature_valid:
        raise ValidationError("the CSR's signature does not match its key")
    key = csr.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < 2048:
            raise ValidationError("the CSR's RSA key is shorter than 2048 bits")
    elif not (isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, _CURVES)):
        raise ValidationError("the CSR's key must be ECDSA P-256/P-384 or RSA")
    try:
        san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [n.lower() for n in san.get_values_for_type(x509.DNSName)]
        others = len(list(san)) - len(names)
    except x509.ExtensionNotFound:
        names, others = [], 0
    common = [str(a.value).lower() for a in csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    if names != [name] or others or any(c != name for c in common):
        asked = ", ".join(sorted({*names, *common})) or "no name"
        raise ValidationError(f"the CSR asks for {asked}; this node may only ask for {name}")
    return csr.public_bytes(serialization.Encoding.PEM).decode()
