"""Invite links use HTTPS when the host names a public address without a scheme."""

from coordinator_service.config import Settings
from streamr_protocol.invite import format_invite_link


def test_a_bare_public_name_becomes_an_https_public_url(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path, public_url="stream.example.org")
    assert settings.public_url == "https://stream.example.org"
    link = format_invite_link(settings.public_url, "abcdefghijklmnopq")
    assert link.startswith("https://stream.example.org/join/")


def test_explicit_schemes_and_the_local_default_are_kept(tmp_path) -> None:
    assert Settings(data_dir=tmp_path, public_url="http://10.0.0.2:8000/").public_url == (
        "http://10.0.0.2:8000"
    )
    assert Settings(data_dir=tmp_path, port=8123).public_url == "http://127.0.0.1:8123"


def test_serve_warns_about_a_plain_http_public_url() -> None:
    from streamr_protocol.addresses import plain_http_public

    assert plain_http_public("http://stream.example.org:8000")
    assert plain_http_public("http://93.184.216.34:8000")
    for fine in ("https://stream.example.org", "http://127.0.0.1:8000", "http://10.0.0.2:8000"):
        assert not plain_http_public(fine), fine
