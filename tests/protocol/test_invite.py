"""Invite links parse from every accepted shape and refuse the rest with a reason."""

import pytest

from streamr_protocol import InviteLinkError, format_invite_link, parse_invite_link

CODE = "abcdefghijklmnopqrstuvwxyz012345"


def test_http_link_round_trips() -> None:
    link = format_invite_link("http://127.0.0.1:8000/", CODE)
    parsed = parse_invite_link(link)
    assert parsed.coordinator_url == "http://127.0.0.1:8000"
    assert parsed.code == CODE
    assert str(parsed) == link


def test_link_under_a_path_prefix_keeps_it() -> None:
    parsed = parse_invite_link(f"https://example.org/streamr/join/{CODE}")
    assert parsed.coordinator_url == "https://example.org/streamr"


def test_streamr_scheme_link_is_accepted() -> None:
    parsed = parse_invite_link(f"streamr://join?coordinator=http://10.0.0.2:8000&code={CODE}")
    assert parsed.coordinator_url == "http://10.0.0.2:8000"
    assert parsed.code == CODE


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "ftp://host/join/" + CODE,
        "http://host/nothing-here",
        "http://host/join/short",
        "http://host/join/" + "x" * 3000,
        "streamr://join?code=" + CODE,
        "not a link at all",
        f"http:///join/{CODE}",
    ],
)
def test_bad_links_are_refused_with_a_reason(text: str) -> None:
    with pytest.raises(InviteLinkError) as info:
        parse_invite_link(text)
    assert str(info.value)
