"""ACME DNS-01 with the `acme` library: one account kept in the data dir, a chain per CSR.

Blocking (the library uses requests): the service runs `issue` in a worker thread. The TXT
values of the challenges go into `ChallengeRecords`, which the zone's DNS server answers from.
"""

import datetime
import json
import logging
import os
from pathlib import Path

from acme import challenges, client, errors, messages
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from josepy.jwk import JWKRSA

from coordinator_service.relay_tls.dns import ChallengeRecords

__all__ = ["AcmeIssuer", "IssueError"]

logger = logging.getLogger(__name__)

KEY_FILE = "acme-account-key.pem"
ACCOUNT_FILE = "acme-account.json"


class IssueError(Exception):
    """The CA did not issue; the message is one line for the host."""


class AcmeIssuer:
    """Obtain certificates from the ACME CA at `directory_url` through DNS-01."""

    def __init__(
        self,
        directory_url: str,
        state_dir: Path,
        challenges_out: ChallengeRecords,
        *,
        email: str | None = None,
        ca_bundle: Path | None = None,
        timeout_s: float = 90.0,
    ) -> None:
        self.directory_url = directory_url
        self.state_dir = state_dir
        self.challenges = challenges_out
        self.email = email
        self.ca_bundle = ca_bundle
        self.timeout_s = timeout_s
        self._client: client.ClientV2 | None = None
        self._key: JWKRSA | None = None

    def issue(self, csr_pem: str) -> str:
        """Return the full chain (PEM) for the CSR; IssueError when the CA refuses or fails."""
        try:
            return self._issue(csr_pem)
        except (errors.Error, messages.Error, OSError) as exc:
            self._client = None  # start over with a fresh directory and nonce next time
            raise IssueError(" ".join(str(exc).split()) or type(exc).__name__) from exc

    def _issue(self, csr_pem: str) -> str:
        acme, key = self._account()
        order = acme.new_order(csr_pem.encode())
        published: list[tuple[str, str]] = []
        try:
            answers = []
            for authz in order.authorizations:
                if authz.body.status == messages.STATUS_VALID:
                    continue
                challenge = next(
                    (c for c in authz.body.challenges if isinstance(c.chall, challenges.DNS01)),
                    None,
                )
                if challenge is None:
                    raise IssueError("the CA offers no DNS-01 challenge")
                response, validation = challenge.response_and_validation(key)
                name = challenge.chall.validation_domain_name(authz.body.identifier.value)
                self.challenges.add(name, validation)
                published.append((name, validation))
                answers.append((challenge, response))
            for challenge, response in answers:
                acme.answer_challenge(challenge, response)
            deadline = datetime.datetime.now() + datetime.timedelta(seconds=self.timeout_s)
            order = acme.poll_and_finalize(order, deadline)
        finally:
            for name, validation in published:
                self.challenges.remove(name, validation)
        if not order.fullchain_pem:
            raise IssueError("the CA finalized the order without a certificate")
        return str(order.fullchain_pem)

    def _account(self) -> tuple[client.ClientV2, JWKRSA]:
        """The ACME client with this coordinator's account, registered once and kept on disk."""
        key = self._key or self._load_key()
        self._key = key
        if self._client is not None:
            return self._client, key
        verify: bool | str = str(self.ca_bundle) if self.ca_bundle else True
        net = client.ClientNetwork(key, user_agent="streamrp2p-coordinator")
        net.verify_ssl = verify  # type: ignore[assignment]  # requests takes a CA file too
        directory = client.ClientV2.get_directory(self.directory_url, net)
        acme = client.ClientV2(directory, net)
        saved = self._load_account()
        if saved is not None:
            net.account = saved
        else:
            try:
                regr = acme.new_account(
                    messages.NewRegistration.from_data(
                        email=self.email, terms_of_service_agreed=True
                    )
                )
            except errors.ConflictError as exc:  # the key has an account already
                regr = acme.query_registration(
                    messages.RegistrationResource(uri=exc.location, body=messages.Registration())
                )
            self._save_account(regr)
            logger.info("ACME account registered at %s", self.directory_url)
        self._client = acme
        return acme, key

    def _load_key(self) -> JWKRSA:
        path = self.state_dir / KEY_FILE
        if path.exists():
            private = serialization.load_pem_private_key(path.read_bytes(), password=None)
        else:
            private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
        if not isinstance(private, rsa.RSAPrivateKey):
            raise IssueError(f"{path} is not an RSA key; move it away to make a new account")
        return JWKRSA(key=private)

    def _load_account(self) -> messages.RegistrationResource | None:
        path = self.state_dir / ACCOUNT_FILE
        try:
            saved = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        if saved.get("directory") != self.directory_url:
            return None  # another CA: register there
        account: messages.RegistrationResource = messages.RegistrationResource.json_loads(
            json.dumps(saved["account"])
        )
        return account

    def _save_account(self, regr: messages.RegistrationResource) -> None:
        path = self.state_dir / ACCOUNT_FILE
        body = {"directory": self.directory_url, "account": json.loads(regr.json_dumps())}
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(body, indent=2))
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
