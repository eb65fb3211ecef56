"""The relay's certificate: the node's own key and CSR, the chain the coordinator obtained (or
the friend's own certificate), and one ssl.SSLContext reloaded in place on renewal.

The private key is made here and never leaves the node; the coordinator only sees the CSR.
"""

from __future__ import annotations

import hashlib
import logging
import os
import ssl
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from desktop_app.core.errors import ConfigError, CoordinatorError

if TYPE_CHECKING:  # cryptography costs ~10 MB: loaded only when a certificate is handled
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec

__all__ = ["RelayCertificate", "certificate_names", "make_csr"]

logger = logging.getLogger(__name__)

TLS_DIR = "relay-tls"


def make_csr(key: ec.EllipticCurvePrivateKey, name: str) -> str:
    """A PEM CSR for exactly `name`, signed by `key`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def certificate_names(cert: x509.Certificate) -> list[str]:
    """The host names a certificate is for (DNS subject alt names, then IP addresses)."""
    from cryptography import x509

    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    addresses = [str(a) for a in san.get_values_for_type(x509.IPAddress)]
    return [n.lower() for n in san.get_values_for_type(x509.DNSName)] + addresses


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tls-")
    with os.fdopen(fd, "wb") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(data)
    os.replace(tmp, path)


class RelayCertificate:
    """What the relay serves HTTPS with; `context` is None until there is a certificate."""

    def __init__(
        self, data_dir: Path, own_cert: Path | None = None, own_key: Path | None = None
    ) -> None:
        self.folder = data_dir / TLS_DIR
        self.own = own_cert is not None
        self.context: ssl.SSLContext | None = None
        self.name: str | None = None
        self.held_sha256: str | None = None
        self._requested: str | None = None
        self._refused: str | None = None  # the last chain sent that did not fit this key
        if own_cert is not None or own_key is not None:
            if own_cert is None or own_key is None:
                raise ConfigError("give both --tls-cert and --tls-key")
            self._load_own(own_cert, own_key)
        else:
            self._load_saved()

    @property
    def key_path(self) -> Path:
        return self.folder / "key.pem"

    @property
    def chain_path(self) -> Path:
        return self.folder / "chain.pem"

    # --- loading -----------------------------------------------------------------------------

    def _load_own(self, cert_path: Path, key_path: Path) -> None:
        from cryptography import x509

        try:
            pem = cert_path.read_bytes()
            cert = x509.load_pem_x509_certificate(pem)
        except OSError as exc:
            raise ConfigError(f"cannot read --tls-cert {cert_path}: {exc.strerror}") from exc
        except ValueError as exc:
            raise ConfigError(f"--tls-cert {cert_path} is not a PEM certificate") from exc
        names = certificate_names(cert)
        if not names:
            raise ConfigError(f"--tls-cert {cert_path} names no host (no DNS subject alt name)")
        self._use(cert_path, key_path, names[0], pem)

    def _load_saved(self) -> None:
        """Use the chain the coordinator issued earlier, if it still fits the key."""
        try:
            pem = self.chain_path.read_bytes()
        except OSError:
            return
        from cryptography import x509

        try:
            names = certificate_names(x509.load_pem_x509_certificate(pem))
        except ValueError:
            return
        if names and self._fits_key(pem):
            try:
                self._use(self.chain_path, self.key_path, names[0], pem)
            except ConfigError as exc:
                logger.warning("saved relay certificate not used: %s", exc)

    def _use(self, cert_path: Path, key_path: Path, name: str, pem: bytes) -> None:
        """Load into the one context (new connections get the new chain; a hot swap)."""
        context = self.context or ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            context.load_cert_chain(cert_path, key_path)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                f"cannot use the certificate {cert_path} with the key {key_path}: {exc}"
            ) from exc
        self.context, self.name = context, name
        self.held_sha256 = hashlib.sha256(pem).hexdigest()

    # --- the node's own key --------------------------------------------------------------------

    def _key(self) -> ec.EllipticCurvePrivateKey:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        try:
            key = serialization.load_pem_private_key(self.key_path.read_bytes(), password=None)
            if isinstance(key, ec.EllipticCurvePrivateKey):
                return key
        except (OSError, ValueError):
            pass
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        _write_private(self.key_path, pem)
        return key

    def _fits_key(self, chain_pem: bytes) -> bool:
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        try:
            leaf = x509.load_pem_x509_certificate(chain_pem)
            key = serialization.load_pem_private_key(self.key_path.read_bytes(), password=None)
        except (OSError, ValueError):
            return False
        return leaf.public_key() == key.public_key()

    def _take(self, name: str, pem: bytes) -> bool:
        """Load a chain the coordinator sent, when it is for `name` and this node's key."""
        from cryptography import x509

        try:
            leaf = x509.load_pem_x509_certificate(pem)
        except ValueError:
            logger.warning("the coordinator sent a relay certificate that is not PEM")
            return False
        if name not in certificate_names(leaf) or not self._fits_key(pem):
            logger.warning("relay certificate sent is not for %s with this key", name)
            return False
        _write_private(self.chain_path, pem)
        self._use(self.chain_path, self.key_path, name, pem)
        logger.info("relay certificate for %s loaded (HTTPS)", name)
        return True

    # --- the coordinator's side ------------------------------------------------------------------

    async def on_answer(
        self,
        name: str | None,
        chain: str | None,
        submit_csr: Callable[[str], Awaitable[object]],
    ) -> bool:
        """Act on a heartbeat answer's TLS fields; True when a (new) certificate got loaded."""
        if self.own or name is None:
            return False
        again = False
        if chain is not None:
            if self._take(name, chain.encode()):
                return True
            refused = hashlib.sha256(chain.encode()).hexdigest()
            again, self._refused = refused != self._refused, refused  # once per such chain
        if again or name not in (self.name, self._requested):
            try:
                await submit_csr(make_csr(self._key(), name))
            except CoordinatorError as exc:
                logger.warning("certificate request for %s not taken: %s", name, exc)
                return False
            self._requested = name
            logger.info("asked the coordinator for a certificate for %s", name)
        return False
