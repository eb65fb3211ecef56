"""Secrets: random enough, stored hashed, compared in constant time, kept out of files and logs."""

import base64
import hashlib
import hmac
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from coordinator_service.api.app import create_app
from coordinator_service.api.state import context
from coordinator_service.config import Settings
from coordinator_service.services import tokens
from tests.fixtures.coordinator import RunningCoordinator, run_coordinator

NO_LIMITS = {
    "STREAMR_RATE_LIMIT_IP": "100000/minute",
    "STREAMR_RATE_LIMIT_REGISTER": "100000/minute",
    "STREAMR_RATE_LIMIT_NODE": "100000/minute",
    "STREAMR_LOG_LEVEL": "debug",
}


def _bits(secret: str) -> bytes:
    return base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))


@pytest.fixture(scope="module")
def secrets_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A real server at debug log level that made invites and nodes; every secret it showed."""
    tmp_path = tmp_path_factory.mktemp("secrets")
    with run_coordinator(
        tmp_path, "--heartbeat-interval", "1", "--allow-private-relays", env=NO_LIMITS
    ) as coord:
        found: dict[str, Any] = {"coord": coord, "codes": [], "tokens": [], "probe_keys": []}
        with httpx.Client(base_url=coord.url, timeout=10) as client:
            found["codes"].append(coord.invite("--uses", "3").rsplit("/", 1)[1])  # via the CLI
            for _ in range(20):
                made = client.post(
                    "/api/v1/admin/invites", json={"uses": 1}, headers=coord.admin_headers()
                )
                found["codes"].append(made.json()["code"])
            for index, code in enumerate(found["codes"][1:]):
                assert client.get(f"/join/{code}").status_code == 200
                joined = client.post(
                    "/api/v1/nodes/register",
                    json={
                        "invite_code": code,
                        "display_name": f"n{index}",
                        "payout_handle": "@h",
                        "relay_port": 9000 + index,
                    },
                ).json()
                found["tokens"].append(joined["node_token"])
                found["probe_keys"].append(joined["probe_key"])
                auth = {"Authorization": f"Bearer {joined['node_token']}"}
                assert client.post("/api/v1/nodes/heartbeat", json={}, headers=auth).is_success
                assert client.get("/api/v1/nodes/me", headers=auth).is_success
            # wrong secrets of every kind, close to right ones
            near = found["tokens"][0][:-1] + ("A" if found["tokens"][0][-1] != "A" else "B")
            assert (
                client.get(
                    "/api/v1/nodes/me", headers={"Authorization": f"Bearer {near}"}
                ).status_code
                == 401
            )
            assert (
                client.get(
                    "/api/v1/admin/nodes", headers={"Authorization": f"Bearer {coord.admin_token}x"}
                ).status_code
                == 401
            )
            bad = client.post(
                "/api/v1/nodes/register",
                json={
                    "invite_code": found["codes"][1],  # used up
                    "display_name": "late",
                    "payout_handle": "@late",
                    "relay_port": 9999,
                },
            )
            assert bad.status_code == 409
            coord.cli("nodes", "list")
        yield found


def test_tokens_and_invite_codes_carry_at_least_128_random_bits(
    secrets_run: dict[str, Any],
) -> None:
    coord: RunningCoordinator = secrets_run["coord"]
    made = [*secrets_run["codes"], *secrets_run["tokens"], coord.admin_token]
    assert len(set(made)) == len(made)
    for secret in made:
        assert len(_bits(secret)) * 8 >= 128, secret
    # the bits look like coin flips (a counter or a timestamp would not)
    ones = sum(bin(byte).count("1") for secret in made for byte in _bits(secret))
    total = sum(len(_bits(secret)) * 8 for secret in made)
    assert 0.45 < ones / total < 0.55


def test_the_database_keeps_only_hashes_of_tokens_and_codes(secrets_run: dict[str, Any]) -> None:
    coord: RunningCoordinator = secrets_run["coord"]
    files = [p for p in coord.data_dir.iterdir() if p.name.startswith("coordinator.db")]
    stored = b"".join(p.read_bytes() for p in files)
    assert stored
    for secret in [*secrets_run["codes"], *secrets_run["tokens"], coord.admin_token]:
        assert secret.encode() not in stored, "a secret is stored in clear"
    for token in secrets_run["tokens"]:
        assert hashlib.sha256(token.encode()).hexdigest().encode() in stored


def test_no_secret_reaches_the_log_even_at_debug_level(secrets_run: dict[str, Any]) -> None:
    coord: RunningCoordinator = secrets_run["coord"]
    log = coord.log()
    assert "DEBUG" in log or "debug" in log.lower()  # the run really logged at debug level
    leaked = [
        secret
        for secret in [
            *secrets_run["codes"],
            *secrets_run["tokens"],
            *secrets_run["probe_keys"],
            coord.admin_token,
        ]
        if secret in log
    ]
    assert not leaked, f"{len(leaked)} secrets in the log"


def test_admin_token_file_is_0600_and_data_dir_0700_even_if_loosened(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)
    token_path = data_dir / "admin-token"
    token_path.write_text(tokens.new_token() + "\n")
    token_path.chmod(0o644)
    with run_coordinator(tmp_path, "--data-dir", str(data_dir)) as coord:
        assert stat.S_IMODE(coord.data_dir.stat().st_mode) == 0o700
        assert stat.S_IMODE((coord.data_dir / "admin-token").stat().st_mode) == 0o600
        assert coord.admin_token not in coord.log()


def test_fresh_admin_token_file_is_0600(tmp_path: Path) -> None:
    with run_coordinator(tmp_path) as coord:
        assert stat.S_IMODE(coord.data_dir.stat().st_mode) == 0o700
        assert stat.S_IMODE((coord.data_dir / "admin-token").stat().st_mode) == 0o600


def _spy(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> list[tuple[Any, Any]]:
    """Replace `owner.name` (a two-argument comparison) by a wrapper recording its calls."""
    calls: list[tuple[Any, Any]] = []
    real = getattr(owner, name)

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return bool(real(a, b))

    monkeypatch.setattr(owner, name, spy)
    return calls


def test_same_secret_compares_through_hmac_compare_digest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = _spy(monkeypatch, hmac, "compare_digest")
    assert tokens.same_secret("abc", "abc") and not tokens.same_secret("abc", "abd")
    assert calls == [(b"abc", b"abc"), (b"abc", b"abd")]


async def test_admin_token_is_checked_in_constant_time_and_node_tokens_only_as_hashes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import coordinator_service.api.deps as deps

    compared = _spy(monkeypatch, deps, "same_secret")
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'c.db'}",
        public_url="http://coord.test",
    )
    app = create_app(settings)
    parameters: list[str] = []
    async with app.router.lifespan_context(app):
        db = context(app).db
        for engine in {db.reader, db.writer}:

            def record(_c: Any, _cur: Any, _stmt: str, params: Any, *_: Any) -> None:
                parameters.append(repr(params))

            event.listen(engine.sync_engine, "before_cursor_execute", record)
        admin_token = context(app).admin_token
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://coord.test") as client:
            admin = {"Authorization": f"Bearer {admin_token}"}
            code = (await client.post("/api/v1/admin/invites", json={}, headers=admin)).json()[
                "code"
            ]
            wrong = await client.get("/api/v1/admin/nodes", headers={"Authorization": "Bearer x"})
            assert wrong.status_code == 401
            joined = (
                await client.post(
                    "/api/v1/nodes/register",
                    json={
                        "invite_code": code,
                        "display_name": "a",
                        "payout_handle": "@a",
                        "relay_port": 9000,
                    },
                )
            ).json()
            token = joined["node_token"]
            auth = {"Authorization": f"Bearer {token}"}
            assert (await client.post("/api/v1/nodes/heartbeat", json={}, headers=auth)).is_success
            assert (await client.get("/api/v1/nodes/me", headers=auth)).is_success
    assert ("x", admin_token) in compared  # the admin check went through hmac.compare_digest
    sent = "\n".join(parameters)
    assert token not in sent and code not in sent, "a secret reached the database in clear"
    assert tokens.hash_secret(token) in sent  # looked up by its hash: timing tells nothing
