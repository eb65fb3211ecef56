"""The node's relay certificate logic: one CSR per name, a chain taken only for its own key and
name, kept across restarts, renewals loaded into the same SSLContext (hot swap), a chain for a
lost key answered with a new CSR."""

import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from desktop_app.core.relay.tls import RelayCertificate, certificate_names

NAME = "127-0-0-1.0123456789abcdef.relays.test"


class TestCa:
    """Signs CSRs like an ACME CA would (leaf + the CA's own certificate as the chain)."""

    __test__ = False

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
        now = datetime.datetime.now(datetime.UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )

    def sign(self, csr_pem: str) -> str:
        csr = x509.load_pem_x509_csr(csr_pem.encode())
        san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        now = datetime.datetime.now(datetime.UTC)
        leaf = (
            x509.CertificateBuilder()
            .subject_name(csr.subject)
            .issuer_name(self.cert.subject)
            .public_key(csr.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(san, critical=False)
            .sign(self.key, hashes.SHA256())
        )
        return "".join(
            c.public_bytes(serialization.Encoding.PEM).decode() for c in (leaf, self.cert)
        )


async def test_one_csr_per_name_then_https_kept_across_restarts_and_swapped_on_renewal(tmp_path):
    ca = TestCa()
    sent: list[str] = []

    async def submit(csr: str) -> None:
        sent.append(csr)

    relay = RelayCertificate(tmp_path)
    assert relay.context is None and relay.name is None
    assert not await relay.on_answer(None, None, submit)  # no relay domain: nothing
    assert not await relay.on_answer(NAME, None, submit)
    assert not await relay.on_answer(NAME, None, submit)
    assert len(sent) == 1  # asked once, waits for the chain
    assert certificate_names(x509.load_pem_x509_csr(sent[0].encode())) == [NAME]  # type: ignore[arg-type]
    assert (tmp_path / "relay-tls" / "key.pem").stat().st_mode & 0o777 == 0o600

    assert await relay.on_answer(NAME, ca.sign(sent[0]), submit)
    context = relay.context
    assert context is not None and relay.name == NAME and relay.held_sha256
    first = relay.held_sha256

    renewed = ca.sign(sent[0])  # same key, new serial
    assert await relay.on_answer(NAME, renewed, submit)
    assert relay.context is context  # reloaded in place: new connections get the new chain
    assert relay.held_sha256 != first

    again = RelayCertificate(tmp_path)  # a restart serves the saved chain at once
    assert again.name == NAME and again.context is not None
    assert again.held_sha256 == relay.held_sha256
    assert not await again.on_answer(NAME, None, submit)
    assert len(sent) == 1


async def test_a_chain_for_another_key_or_name_is_refused_and_a_new_csr_sent(tmp_path):
    ca = TestCa()
    sent: list[str] = []

    async def submit(csr: str) -> None:
        sent.append(csr)

    old = RelayCertificate(tmp_path / "old")
    await old.on_answer(NAME, None, submit)
    stale_chain = ca.sign(sent[0])  # the coordinator still holds this (the key was lost)
    relay = RelayCertificate(tmp_path / "new")
    assert not await relay.on_answer(NAME, stale_chain, submit)
    assert relay.context is None and len(sent) == 2  # asked again with its own key
    assert not await relay.on_answer(NAME, stale_chain, submit)
    assert len(sent) == 2  # once per refused chain, not every beat
    other = NAME.replace("127-0-0-1", "10-0-0-1")
    assert not await relay.on_answer(other, ca.sign(sent[1]), submit)  # not for that name
    assert await relay.on_answer(NAME, ca.sign(sent[1]), submit)
