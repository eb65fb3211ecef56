"""HTTPS relays on the coordinator: relay names, the zone's DNS, CSR checks, and certificates
from pebble (the ACME test CA) through DNS-01 answered by the coordinator's own DNS."""

import hashlib
import json
import random
import time
from ipaddress import ip_address

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from dnslib import QTYPE, RCODE, DNSRecord

from coordinator_service.errors import ValidationError
from coordinator_service.relay_tls.csr import check_csr
from coordinator_service.relay_tls.dns import ChallengeRecords, RelayDns
from coordinator_service.relay_tls.names import parse_relay_name, relay_name, tls_name_for
from desktop_app.core.relay.tls import certificate_names, make_csr
from streamr_protocol.invite import parse_invite_link
from tests.fixtures.relay_tls import ZONE, fetch_certificate, relay_ca

NODE = "0123456789abcdef"


def test_relay_names_carry_the_address_and_read_back():
    v4 = relay_name(ip_address("203.0.113.7"), NODE, ZONE)
    assert v4 == f"203-0-113-7.{NODE}.{ZONE}"
    v6 = relay_name(ip_address("2001:db8::1"), NODE, ZONE)
    assert v6 == f"2001-0db8-0000-0000-0000-0000-0000-0001.{NODE}.{ZONE}"
    for name, address in ((v4, "203.0.113.7"), (v6, "2001:db8::1")):
        parsed = parse_relay_name(name.upper() + ".", ZONE)
        assert parsed is not None and parsed.address == ip_address(address)
        assert parsed.node_id == NODE
    for bad in (
        f"203-0-113.{NODE}.{ZONE}",
        f"203-0-113-07.{NODE}.{ZONE}",
        f"203-0-113-7.{ZONE}",
        f"x.203-0-113-7.{NODE}.{ZONE}",
        f"203-0-113-7.{NODE}.other.test",
        f"2001-db8--1.{NODE}.{ZONE}",
    ):
        assert parse_relay_name(bad, ZONE) is None, bad
    assert tls_name_for("http://203.0.113.7:8090", NODE, ZONE) == v4
    assert tls_name_for(f"https://{v4}:8090", NODE, ZONE) == v4
    assert tls_name_for(f"https://{v4}:8090", "another", ZONE) is None
    assert tls_name_for("https://relay.friend.example:8090", NODE, ZONE) is None
    assert relay_name(ip_address("203.0.113.7"), "Not_A_Label", ZONE) is None


def _ask(dns_port: int, name: str, qtype: str, tcp: bool = False) -> DNSRecord:
    reply = DNSRecord.question(name, qtype).send("127.0.0.1", dns_port, tcp=tcp, timeout=5)
    return DNSRecord.parse(reply)


async def test_the_zone_dns_answers_names_challenges_and_refuses_other_zones():
    challenges = ChallengeRecords()
    dns = RelayDns(ZONE, "coordinator.example.org", challenges)
    await dns.start("127.0.0.1", 0)
    try:
        import asyncio

        async def ask(name: str, qtype: str, tcp: bool = False) -> DNSRecord:
            return await asyncio.to_thread(_ask, dns.port, name, qtype, tcp)

        v4 = f"192-0-2-1.{NODE}.{ZONE}"
        reply = await ask(v4, "A")
        assert reply.header.aa and [str(r.rdata) for r in reply.rr] == ["192.0.2.1"]
        reply = await ask(f"2001-0db8-0000-0000-0000-0000-0000-0001.{NODE}.{ZONE}", "AAAA", True)
        assert [str(r.rdata) for r in reply.rr] == ["2001:db8::1"]
        reply = await ask(v4, "AAAA")
        assert reply.header.rcode == RCODE.NOERROR and not reply.rr and reply.auth
        assert (await ask(f"nothing.{ZONE}", "A")).header.rcode == RCODE.NXDOMAIN
        assert (await ask("example.com", "A")).header.rcode == RCODE.REFUSED
        reply = await ask(ZONE, "NS")
        assert [str(r.rdata) for r in reply.rr] == ["coordinator.example.org."]
        assert (await ask(ZONE, "SOA")).rr[0].rtype == QTYPE.SOA
        challenges.add(f"_acme-challenge.{v4}", "token-value")
        reply = await ask(f"_acme-challenge.{v4}", "TXT")
        assert [str(r.rdata) for r in reply.rr] == ['"token-value"']
        challenges.remove(f"_acme-challenge.{v4}", "token-value")
        assert not (await ask(f"_acme-challenge.{v4}", "TXT")).rr
        assert dns.answer(b"\x00\x01garbage") is None
    finally:
        await dns.stop()


def test_a_csr_is_taken_only_for_the_nodes_own_name():
    name = f"192-0-2-1.{NODE}.{ZONE}"
    key = ec.generate_private_key(ec.SECP256R1())
    assert "CERTIFICATE REQUEST" in check_csr(make_csr(key, name), name)
    other = f"192-0-2-1.fedcba9876543210.{ZONE}"
    with pytest.raises(ValidationError, match="may only ask for"):
        check_csr(make_csr(key, other), name)
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(ValidationError, match="2048"):
        check_csr(make_csr(weak, name), name)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="not a PEM"):
        check_csr("hello", name)


def _register(client: httpx.Client, link: str, relay_port: int) -> dict:
    code = parse_invite_link(link).code
    body = {
        "invite_code": code,
        "display_name": "Bob",
        "payout_handle": "bob@example.org",
        "relay_port": relay_port,
    }
    response = client.post("/api/v1/nodes/register", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def _beat(client: httpx.Client, token: str, relay_url: str, held: str | None = None) -> dict:
    body = {"relay_url": relay_url, "tls_certificate_sha256": held}
    response = client.post(
        "/api/v1/nodes/heartbeat", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.slow
def test_pebble_issues_a_node_certificate_through_the_coordinators_dns(tmp_path):
    with relay_ca(tmp_path, "--heartbeat-interval", "1") as (ca, coord, dns_port):
        with httpx.Client(base_url=coord.url, timeout=10) as client:
            bob = _register(client, coord.invite(), 8090)
            eve = _register(client, coord.invite(), 8091)
            relay_url = "http://127.0.0.1:8090"
            answer = _beat(client, bob["node_token"], relay_url)
            name = answer["tls_name"]
            assert name == f"127-0-0-1.{bob['node_id']}.{ZONE}"
            assert "tls_certificate" not in answer
            auth = {"Authorization": f"Bearer {bob['node_token']}"}
            key = ec.generate_private_key(ec.SECP256R1())

            # Eve asks for Bob's name, and Bob for a name with an extra one: both refused
            eve_name = _beat(client, eve["node_token"], "http://127.0.0.1:8091")["tls_name"]
            refused = client.post(
                "/api/v1/nodes/me/tls",
                json={"csr": make_csr(key, name)},
                headers={"Authorization": f"Bearer {eve['node_token']}"},
            )
            assert refused.status_code == 422
            assert refused.json()["error"]["message"] == (
                f"the CSR asks for {name}; this node may only ask for {eve_name}"
            )
            assert client.post("/api/v1/nodes/me/tls", json={"csr": "x"}).status_code == 401

            started = time.monotonic()
            taken = client.post(
                "/api/v1/nodes/me/tls", json={"csr": make_csr(key, name)}, headers=auth
            )
            assert taken.status_code == 202 and taken.json() == {"name": name, "status": "pending"}
            deadline = time.monotonic() + 60
            while "tls_certificate" not in answer:
                assert time.monotonic() < deadline, coord.log()[-3000:]
                time.sleep(0.2)
                answer = _beat(client, bob["node_token"], relay_url)
            elapsed = time.monotonic() - started
            print(f"certificate from pebble in {elapsed:.2f} s (CSR sent → chain in a heartbeat)")

            chain = answer["tls_certificate"]
            leaf = x509.load_pem_x509_certificate(chain.encode())
            assert certificate_names(leaf) == [name]
            assert leaf.public_key() == key.public_key()
            held = hashlib.sha256(chain.encode()).hexdigest()
            again = _beat(client, bob["node_token"], relay_url, held)
            assert again["tls_name"] == name and "tls_certificate" not in again
            # the same CSR again: already issued
            same = client.post(
                "/api/v1/nodes/me/tls", json={"csr": make_csr(key, name)}, headers=auth
            )
            assert same.json()["status"] in ("issued", "pending")

            # the host sees it: `relay-certs list` (a CSR answered "pending" above is being
            # issued again: wait for that order to finish)
            deadline = time.monotonic() + 60
            while True:
                listed = json.loads(coord.cli("relay-certs", "list", "--json").stdout)
                if [c["state"] for c in listed] != ["pending"] or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            assert [(c["node_id"], c["name"], c["state"]) for c in listed] == [
                (bob["node_id"], name, "issued")
            ]
            assert listed[0]["not_after"] and not listed[0]["last_error"]
            assert name in coord.cli("relay-certs", "list").stdout

            # a banned node gets no certificate, and asks in vain
            coord.cli("nodes", "ban", bob["node_id"])
            assert "tls_certificate" not in _beat(client, bob["node_token"], relay_url)
            banned = client.post(
                "/api/v1/nodes/me/tls", json={"csr": make_csr(key, name)}, headers=auth
            )
            assert banned.status_code == 409 and banned.json()["error"]["code"] == "node_banned"

        # the name resolves through the coordinator's DNS to the address it carries
        assert [str(r.rdata) for r in _ask(dns_port, name, "A").rr] == ["127.0.0.1"]
        # the chain verifies against pebble's root (served by a TLS server holding the key)
        _serve_and_check(tmp_path, chain, key, name, ca.root_pem())
        assert (coord.data_dir / "acme" / "acme-account-key.pem").stat().st_mode & 0o777 == 0o600
        assert (coord.data_dir / "acme" / "acme-account.json").exists()


def _serve_and_check(tmp_path, chain: str, key, name: str, root_pem: str) -> None:
    import socket
    import ssl
    import threading

    from cryptography.hazmat.primitives import serialization

    (tmp_path / "chain.pem").write_text(chain)
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(tmp_path / "chain.pem", tmp_path / "key.pem")
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def accept() -> None:
        conn, _ = listener.accept()
        try:
            with server_context.wrap_socket(conn, server_side=True) as tls:
                tls.recv(1)
        except (OSError, ssl.SSLError):
            pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        cert = fetch_certificate(f"https://127.0.0.1:{port}", name, root_pem)
        assert certificate_names(cert) == [name]
    finally:
        thread.join(10)
        listener.close()


def test_the_zone_dns_never_raises_on_damaged_messages():
    dns = RelayDns(ZONE, "coordinator.example.org", ChallengeRecords())
    names = (f"1-2-3-4.{NODE}.{ZONE}", ZONE, f"_acme-challenge.1-2-3-4.{NODE}.{ZONE}", "x.com")
    valid = [bytes(DNSRecord.question(n, t).pack()) for n in names for t in ("A", "TXT", "ANY")]
    rnd = random.Random(7)
    for _ in range(5000):
        message = bytearray(rnd.choice(valid))
        for _ in range(rnd.randint(1, 4)):
            message[rnd.randrange(len(message))] = rnd.randrange(256)
        if rnd.random() < 0.2:
            message = message[: rnd.randrange(len(message))]
        reply = dns.answer(bytes(message))
        assert reply is None or DNSRecord.parse(reply).header.qr


async def test_without_a_relay_domain_relays_stay_on_plain_http(api):
    node = await api.register(relay_url="http://203.0.113.7:8090")
    beat = await api.beat(node["node_token"], relay_url="http://203.0.113.7:8090")
    assert beat.status_code == 200
    assert "tls_name" not in beat.json() and "tls_certificate" not in beat.json()
    key = ec.generate_private_key(ec.SECP256R1())
    refused = await api.client.post(
        "/api/v1/nodes/me/tls",
        json={"csr": make_csr(key, f"203-0-113-7.{node['node_id']}.{ZONE}")},
        headers={"Authorization": f"Bearer {node['node_token']}"},
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "no_relay_tls"
