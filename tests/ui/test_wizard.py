"""The first-run wizard against a real coordinator on loopback (and a fake UPnP router)."""

import json
import sqlite3
from collections.abc import Iterator

import pytest

from desktop_app.core.config import NodeConfig
from desktop_app.ui.app import LazyJoinBackend as CoreJoinBackend
from desktop_app.ui.wizard import JoinWizard
from tests.fixtures.coordinator import RunningCoordinator, run_coordinator
from tests.fixtures.fake_router import fake_router
from tests.fixtures.net import free_port, uncontacted_relay_port


@pytest.fixture(scope="module")
def coordinator(tmp_path_factory) -> Iterator[RunningCoordinator]:
    with run_coordinator(tmp_path_factory.mktemp("coord")) as coord:
        yield coord


@pytest.fixture
def wizard(qtbot, qloop, tmp_path) -> Iterator[JoinWizard]:
    with fake_router(tmp_path) as router:
        backend = CoreJoinBackend(NodeConfig(data_dir=tmp_path / "node", status_port=0))
        backend.upnp_options = {
            "discover_delay_ms": 50,
            "minissdpd_socket": router.socket_path,
            "multicast_if": "127.0.0.1",
        }
        wizard = JoinWizard(backend, relay_port=free_port())
        qtbot.add_widget(wizard)
        wizard.show()
        wizard.router = router
        yield wizard


def check(qtbot, wizard: JoinWizard, text: str) -> str:
    """Paste `text`, check it, wait for the verdict; return the status line."""
    page = wizard.invite_page
    page.link.setText(text)

    def settled() -> None:
        assert (
            page.check.isEnabled() and page.status.text() and "Checking" not in page.status.text()
        )

    page.check.click()
    qtbot.wait_until(settled, timeout=10_000)
    return page.status.text()


def join(qtbot, wizard: JoinWizard, name: str = "Sam", handle: str = "@sam") -> str:
    """Fill in the names, press Join, wait for the verdict; return the join line."""
    wizard.next()
    page = wizard.profile_page
    page.display_name.setText(name)
    page.payout_handle.setText(handle)
    assert page.isComplete()
    wizard.next()  # "Join"

    def settled() -> None:
        assert not page.joining and page.join_status.text() != "Joining…"

    qtbot.wait_until(settled, timeout=15_000)
    if page.joined is not None:
        qtbot.wait_until(lambda: wizard.done_page.checked, timeout=15_000)
    return page.join_status.text()


def test_happy_path_joins_opens_the_port_and_says_so_in_one_sentence(
    qtbot, wizard, coordinator
) -> None:
    link = coordinator.invite()
    assert check(qtbot, wizard, link) == "Your host answers: press Next."
    assert wizard.invite_page.isComplete()
    with qtbot.wait_signal(wizard.joined, timeout=20_000) as blocker:
        status = join(qtbot, wizard, "Sam the relay", "@sam-venmo")
    assert status == "Joined as Sam the relay."
    joined = blocker.args[0]
    assert (joined.display_name, joined.payout_handle) == ("Sam the relay", "@sam-venmo")
    assert joined.port_mapping.ok
    assert wizard.router.mappings[0]["NewExternalPort"] == str(joined.relay_port)
    nodes = json.loads(coordinator.cli("nodes", "list", "--json").stdout)
    assert "Sam the relay" in [n["display_name"] for n in nodes]
    assert wizard.currentPage() is wizard.done_page
    summary = wizard.done_page.summary.text()
    assert summary.startswith("All set, Sam the relay") or "cannot reach you yet" in summary
    for word in ("coordinator", "probe", "heartbeat", "UPnP"):
        assert word not in summary


def test_back_keeps_the_name_and_handle(qtbot, wizard, coordinator) -> None:
    check(qtbot, wizard, coordinator.invite())
    wizard.next()
    wizard.profile_page.display_name.setText("Sam")
    wizard.profile_page.payout_handle.setText("@sam")
    wizard.back()
    wizard.next()
    assert wizard.profile_page.display_name.text() == "Sam"
    assert wizard.profile_page.payout_handle.text() == "@sam"


def test_a_taken_port_is_replaced_by_a_free_one_by_itself(qtbot, wizard) -> None:
    import socket

    from desktop_app.ui.wizard import choose_port

    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        chosen = choose_port(port, reserved={port + 1})
    assert chosen not in (port, port + 1)


def test_streamr_link_is_taken_and_checked(qtbot, wizard, coordinator) -> None:
    code = coordinator.invite().rsplit("/", 1)[1]
    link = f"streamr://join?coordinator={coordinator.url}&code={code}"
    wizard.set_invite_text(link)
    qtbot.wait_until(wizard.invite_page.isComplete, timeout=10_000)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "the invite link is empty"),
        ("hello there", "an invite link starts with http://, https:// or streamr://"),
        ("ftp://host/join/abcdefghijklmnopq", "an invite link starts with http://"),
        ("http://127.0.0.1:9/join/short", "the invite code is malformed"),
        ("http://127.0.0.1:9/invite/abcdefghijklmnopq", "looks like http://HOST:PORT/join/CODE"),
        ("streamr://join?code=abcdefghijklmnopq", "a streamr:// link needs coordinator= and code="),
    ],
)
def test_malformed_links_are_refused_with_the_reason(qtbot, wizard, text, reason) -> None:
    status = check(qtbot, wizard, text)
    assert status.startswith("Not an invite link: ") and reason in status
    assert not wizard.invite_page.isComplete()


def test_coordinator_not_answering_is_one_clear_line(qtbot, wizard) -> None:
    status = check(qtbot, wizard, f"http://127.0.0.1:{free_port()}/join/abcdefghijklmnopq")
    assert status == "Your host's computer does not answer: is the link complete, and is it on?"
    assert not wizard.invite_page.isComplete()


def test_unknown_invite_code_is_refused_at_once(qtbot, wizard, coordinator) -> None:
    """Smaller defect: "Check invite" said the same green sentence for an unknown code."""
    status = check(qtbot, wizard, f"{coordinator.url}/join/abcdefghijklmnopqrstuvwxyz")
    assert status == "This invite is not known to your host: check the link, or ask for a new one."
    assert not wizard.invite_page.isComplete()


def test_used_up_invite_is_refused_at_once(qtbot, wizard, coordinator) -> None:
    link = coordinator.invite()
    coordinator_join(coordinator, link)
    assert check(qtbot, wizard, link).startswith("This invite has been used already")
    assert not wizard.invite_page.isComplete()


def test_expired_invite_is_refused_at_once(qtbot, wizard, coordinator) -> None:
    invite_id, link = create_invite(coordinator, "--expires", "1m")
    with sqlite3.connect(coordinator.data_dir / "coordinator.db") as db:  # let the minute pass
        db.execute(
            "UPDATE invites SET expires_at = '2000-01-01 00:00:00.000000' WHERE id = ?",
            (invite_id,),
        )
    assert check(qtbot, wizard, link).startswith("This invite has expired")


def test_revoked_invite_is_refused_at_once(qtbot, wizard, coordinator) -> None:
    invite_id, link = create_invite(coordinator)
    coordinator.cli("invite", "revoke", invite_id)
    assert check(qtbot, wizard, link).startswith("Your host took this invite back")


def test_an_invite_used_up_between_check_and_join_is_refused_at_join(
    qtbot, wizard, coordinator
) -> None:
    link = coordinator.invite()
    check(qtbot, wizard, link)
    coordinator_join(coordinator, link)
    status = join(qtbot, wizard)
    assert "Go back and paste a new invite." in status and "\n" not in status
    assert wizard.profile_page.joined is None


def create_invite(coordinator: RunningCoordinator, *args: str) -> tuple[str, str]:
    """Create an invite; return its id and link."""
    lines = coordinator.cli("invite", "create", *args).stdout.strip().splitlines()
    invite_id = next(line for line in lines if line.startswith("invite ")).split()[1].rstrip(":")
    return invite_id, lines[-1]


def coordinator_join(coordinator: RunningCoordinator, link: str) -> None:
    import httpx

    code = link.rsplit("/", 1)[1]
    response = httpx.post(
        f"{coordinator.url}/api/v1/nodes/register",
        # a relay port of its own: one relay URL belongs to one active node
        json={
            "invite_code": code,
            "display_name": "first",
            "payout_handle": "x",
            "relay_port": uncontacted_relay_port(),
        },
    )
    assert response.status_code == 201, response.text
