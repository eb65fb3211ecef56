"""A friend's first hour with the node: flags and links carried, ports found, problems said."""

import logging
import socket
from datetime import UTC, datetime

import httpx
import pytest

from desktop_app.app import PROBE_HINTS, HeadlessLog, build_config, parse_args
from desktop_app.core.events import (
    Credit,
    CreditLoss,
    EarningsUpdated,
    ProbeObserved,
    StreamLiveChanged,
)
from desktop_app.core.status_page import StatusPage
from streamr_protocol.invite import InviteLinkError, parse_invite_link

LINK = (
    "streamr://join?coordinator=http://127.0.0.1:8000&code=abcdefghijklmnop1234"
    "&name=Sam%20R&payout_handle=%40sam&relay_port=8181"
)


def test_a_streamr_link_carries_name_handle_and_relay_port_into_the_config(tmp_path) -> None:
    config = build_config(parse_args(["--invite", LINK, "--data-dir", str(tmp_path)]))
    assert (config.name, config.payout_handle, config.relay_port) == ("Sam R", "@sam", 8181)
    flags = ["--name", "Sam", "--relay-port", "9000", "--payout-handle", "venmo:sam"]
    config = build_config(parse_args(["--invite", LINK, *flags, "--data-dir", str(tmp_path)]))
    assert (config.name, config.payout_handle, config.relay_port) == ("Sam", "venmo:sam", 9000)
    plain = build_config(parse_args(["--name", "Kim", "--relay-port", "8282"]))
    assert (plain.name, plain.relay_port) == ("Kim", 8282)


def test_bad_prefills_in_a_link_are_refused_in_one_line() -> None:
    base = "streamr://join?coordinator=http://c.test&code=abcdefghijklmnop1234"
    assert parse_invite_link(base).name is None
    with pytest.raises(InviteLinkError, match="relay_port must be a port"):
        parse_invite_link(base + "&relay_port=99999")
    with pytest.raises(InviteLinkError, match="name is not a short line"):
        parse_invite_link(base + "&name=a%0Ab")


async def test_a_taken_status_port_falls_back_to_a_free_one_and_says_where(caplog) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        page = StatusPage(lambda: {"state": "running", "streams": [], "viewers": 0,
                                   "bytes_served": 0}, port=port)  # fmt: skip
        with caplog.at_level(logging.WARNING):
            await page.start()
        try:
            assert page.port not in (0, port)
            async with httpx.AsyncClient() as client:
                answer = await client.get(f"http://127.0.0.1:{page.port}/status.json")
            assert answer.status_code == 200
        finally:
            await page.stop()
    said = [r.getMessage() for r in caplog.records if "status port" in r.getMessage()]
    assert said == [
        f"status port {port} is not usable (taken by another node?): the status page is on "
        f"http://127.0.0.1:{page.port}/ instead (choose one with --status-port)"
    ]


def test_headless_log_says_what_to_do_about_failing_probes_once(caplog) -> None:
    log = HeadlessLog()
    now = datetime.now(UTC)
    with caplog.at_level(logging.INFO, logger="streamr_node"):
        for _ in range(3):
            log(ProbeObserved(now, False, "private_address"))
        log(ProbeObserved(now, True, "ok"))
        log(StreamLiveChanged("demo", False, stopped=True))  # shutdown or unassigned: quiet
        log(StreamLiveChanged("demo", False))
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        f"a probe of this relay failed (private_address): {PROBE_HINTS['private_address']}",
        "probes of this relay pass again",
        "stream demo is not live",
    ]
    assert "--public-url" in PROBE_HINTS["private_address"]
    assert "forward the relay port" in PROBE_HINTS["timeout"]


def test_headless_log_says_what_was_credited_and_why_not(caplog) -> None:
    credit = Credit(
        3600,
        1800,
        (
            CreditLoss("unverified", 1500, "your relay was not reachable", "forward the port"),
            CreditLoss("not_live", 300, "the stream was not live"),
        ),
    )
    with caplog.at_level(logging.INFO, logger="streamr_node"):
        HeadlessLog()(EarningsUpdated("USD", 5, 10, credit))
        HeadlessLog()(EarningsUpdated("USD", 6, 11))  # an older host: amounts only
    assert [r.getMessage() for r in caplog.records] == [
        "earned today 5, this period 10 (USD minor units)",
        "Credited this period: 30 min of 1 h 0 min online; 25 min not credited: your relay was "
        "not reachable (forward the port); 5 min not credited: the stream was not live",
        "earned today 6, this period 11 (USD minor units)",
    ]
