"""A real node serving HTTPS on its relay port: with a certificate the coordinator obtained from
pebble for the node's CSR (hot-swapped on renewal), or with the friend's own certificate."""

import json
import subprocess
import sys
import time

import httpx
import pytest

from tests.fixtures.coordinator import REPO_ROOT, run_coordinator
from tests.fixtures.net import free_port
from tests.fixtures.node import node_command, node_env, run_node
from tests.fixtures.pebble import self_signed
from tests.fixtures.relay_tls import ZONE, fetch_certificate, relay_ca, trusting

pytestmark = pytest.mark.slow


def _relay_url(coord, node_id: str | None = None, *, scheme: str, timeout: float = 60) -> str:
    """Wait until the coordinator lists the node's relay URL with this scheme."""
    deadline = time.monotonic() + timeout
    while True:
        nodes = coord.admin_get("/api/v1/admin/nodes")
        urls = [n["relay_url"] for n in nodes if node_id in (None, n["node_id"])]
        if urls and urls[0].startswith(scheme + "://"):
            return str(urls[0])
        assert time.monotonic() < deadline, f"relay URLs: {urls}\n{coord.log()[-3000:]}"
        time.sleep(0.2)


def test_a_node_gets_a_certificate_serves_https_and_swaps_in_the_renewed_one(tmp_path):
    # renew-before longer than pebble's certificates live: every check renews (hot swap test)
    env = {"STREAMR_RELAY_CERT_RENEW_DAYS": "36500"}
    with (
        relay_ca(tmp_path, "--heartbeat-interval", "1", "--allow-private-relays", env=env) as (
            ca,
            coord,
            _,
        ),
        run_node(tmp_path, coord.invite()) as node,
    ):
        url = _relay_url(coord, scheme="https")
        name = url.split("//", 1)[1].rsplit(":", 1)[0]
        assert name.startswith("127-0-0-1.") and name.endswith("." + ZONE)
        assert url == f"https://{name}:{node.relay_port}"
        root = ca.root_pem()
        first = fetch_certificate(url, name, root)
        # an httpx client that trusts pebble's root accepts the relay (no such stream: 404)
        address = f"https://127.0.0.1:{node.relay_port}/live/nothing.m3u8"
        with httpx.Client(verify=trusting(root)) as client:
            answer = client.get(address, extensions={"sni_hostname": name})
        assert answer.status_code == 404
        with httpx.Client() as client, pytest.raises(httpx.ConnectError):  # without it: refused
            client.get(address, extensions={"sni_hostname": name})
        # the coordinator reaches it too: the name's address pinned, the name checked (SNI)
        token = json.loads((node.data_dir / "identity.json").read_text())["node_token"]
        reach = httpx.post(
            f"{coord.url}/api/v1/nodes/me/reachability",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        ).json()
        assert reach["reachable"] and reach["relay_url"] == url, reach
        deadline = time.monotonic() + 60
        while (renewed := fetch_certificate(url, name, root)).serial_number == first.serial_number:
            assert time.monotonic() < deadline, node.log()[-3000:]
            time.sleep(0.3)
        assert renewed.public_key() == first.public_key()  # the node's key never changed
        assert node.process.poll() is None
        key = (node.data_dir / "relay-tls" / "key.pem").stat()
        assert key.st_mode & 0o777 == 0o600
        assert "PRIVATE KEY" not in coord.log()


def test_a_friend_serves_their_own_name_and_certificate(tmp_path):
    cert, key = self_signed(tmp_path, "friend", ["relay.friend.test"])
    with (
        run_coordinator(tmp_path, "--heartbeat-interval", "1") as coord,
        run_node(tmp_path, coord.invite(), "--tls-cert", str(cert), "--tls-key", str(key)) as node,
    ):
        url = _relay_url(coord, scheme="https")
        assert url == f"https://relay.friend.test:{node.relay_port}"
        served = fetch_certificate(url, "relay.friend.test", cert.read_text())
        assert served.subject.rfc4514_string() == "CN=relay.friend.test"


def test_the_prober_trusts_the_hosts_relay_ca_file(tmp_path):
    cert, key = self_signed(tmp_path, "friend", ["127.0.0.1"])
    port = free_port()
    flags = ["--relay-port", str(port), "--public-url", f"https://127.0.0.1:{port}"]
    with (
        run_coordinator(tmp_path, "--allow-private-relays", "--relay-ca-file", str(cert)) as coord,
        run_node(
            tmp_path, coord.invite(), "--tls-cert", str(cert), "--tls-key", str(key), *flags
        ) as node,
    ):
        token = json.loads((node.data_dir / "identity.json").read_text())["node_token"]
        answer = httpx.post(
            f"{coord.url}/api/v1/nodes/me/reachability",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        ).json()
        assert answer["reachable"], answer  # without --relay-ca-file: CERTIFICATE_VERIFY_FAILED
        assert answer["relay_url"] == f"https://127.0.0.1:{port}"


def test_own_certificate_flags_are_checked_in_one_line(tmp_path):
    cert, key = self_signed(tmp_path, "friend", ["relay.friend.test"])
    cases = [
        (["--tls-cert", str(cert)], "give both --tls-cert and --tls-key"),
        (
            ["--tls-cert", str(cert), "--tls-key", str(key), "--public-url", "http://x:1"],
            "public URL must be https",
        ),
        (["--tls-cert", str(key), "--tls-key", str(key)], "is not a PEM certificate"),
    ]
    for flags, message in cases:
        result = subprocess.run(
            node_command(
                "http://127.0.0.1:9/join/abcdefghijklmnopqrstuvwxyz", tmp_path / "n", *flags
            ),
            capture_output=True,
            text=True,
            env=node_env(),
            cwd=REPO_ROOT,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        assert result.returncode != 0, result
        assert message in result.stderr + result.stdout
        assert "Traceback" not in result.stderr, result.stderr
    assert sys.executable
