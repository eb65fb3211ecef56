"""Coordinator-supplied words reach the friend as plain text; links only http(s) the app builds."""

import html
import re

from desktop_app.core import events as ev
from desktop_app.core.config import NodeConfig
from desktop_app.core.links import is_plain_http_remote, safe_download_url
from desktop_app.ui.app import LazyJoinBackend
from desktop_app.ui.history import History
from desktop_app.ui.qt import Qt
from desktop_app.ui.settings import TraySettings
from desktop_app.ui.tray_app import TrayApp
from desktop_app.ui.window import MainWindow
from desktop_app.ui.wizard import PLAIN_HTTP_WARNING, JoinWizard
from streamr_protocol.invite import InviteLink

HOSTILE = '<a href="file:///etc/passwd">click to update</a><img src="smb://evil/x">'


def _hrefs(text: str) -> list[str]:
    return re.findall(r'href="([^"]*)"', text)


def _window(qtbot, model) -> MainWindow:
    window = MainWindow(model, TraySettings(display_name="Sam"), has_tray=True)
    qtbot.add_widget(window)
    window.show()
    return window


def test_update_notice_links_only_http_urls_the_app_rebuilds(qtbot, bridge, model) -> None:
    window = _window(qtbot, model)
    detail = window.headline.detail
    bridge.publish(ev.UpdateAvailable("9.9", "file:///etc/passwd"))
    assert _hrefs(detail.text()) == []
    assert "A new version (9.9) is ready" in detail.text()
    bridge.publish(ev.UpdateAvailable("9.9", "smb://evil.example/share/setup.exe"))
    assert _hrefs(detail.text()) == []
    bridge.publish(ev.UpdateAvailable('9.9"><a href="file:///x">', "https://example.org/get?v=9.9"))
    assert _hrefs(detail.text()) == ["https://example.org/get?v=9.9"]
    assert detail.textFormat() == Qt.TextFormat.RichText


def test_error_words_from_the_coordinator_are_shown_as_text(qtbot, bridge, model) -> None:
    window = _window(qtbot, model)
    bridge.publish(ev.NodeFailed(f"the invite was refused: {HOSTILE}", fatal=False))
    assert _hrefs(window.headline.detail.text()) == []
    assert html.escape(HOSTILE) in window.headline.detail.text()
    assert window.banner.textFormat() == Qt.TextFormat.PlainText


def test_controller_errors_in_the_banner_are_escaped(qtbot, tmp_path) -> None:
    def no_node(settings):
        raise AssertionError("no node in this test")

    config = NodeConfig(data_dir=tmp_path / "node", status_port=0)
    app = TrayApp(
        no_node, LazyJoinBackend(config), TraySettings(), None, History(), False, has_tray=False
    )
    qtbot.add_widget(app.window)
    app.window.show()
    app.on_controller_error(f"cannot reach the coordinator: {HOSTILE}")
    detail = app.window.headline.detail.text()
    assert _hrefs(detail) == [] and html.escape(HOSTILE) in detail  # shown as text, never markup


class _AnsweringBackend:
    """The wizard's seam: a coordinator that answers (the real one is tested in test_wizard)."""

    async def check_coordinator(self, invite: InviteLink) -> str:
        return f"The coordinator at {invite.coordinator_url} answers."


def test_wizard_warns_about_a_plain_http_coordinator_on_the_internet(qtbot, qloop) -> None:
    wizard = JoinWizard(_AnsweringBackend())  # type: ignore[arg-type]
    qtbot.add_widget(wizard)
    wizard.show()
    page = wizard.invite_page
    code = "abcdefghijklmnopq"
    for link, warned in (
        (f"http://stream.example.org:8000/join/{code}", True),
        (f"http://93.184.216.34/join/{code}", True),
        (f"https://stream.example.org/join/{code}", False),
        (f"http://192.168.1.20:8000/join/{code}", False),
        (f"http://127.0.0.1:8000/join/{code}", False),
    ):
        page.link.setText(link)
        page.check.click()
        qtbot.wait_until(lambda: "answers" in page.status.text(), timeout=5_000)
        assert (PLAIN_HTTP_WARNING in page.status.text()) == warned, link
        assert page.isComplete()  # a warning, not a refusal
        assert page.status.textFormat() == Qt.TextFormat.PlainText


def test_safe_download_url_and_plain_http_checks() -> None:
    assert safe_download_url("https://example.org/app.exe") == "https://example.org/app.exe"
    assert safe_download_url("HTTP://Example.org:8080") == "http://example.org:8080/"
    for bad in (
        "file:///etc/passwd",
        "smb://host/share",
        "javascript:alert(1)",
        "https://user:pw@example.org/",
        "https:///nohost",
        "https://example.org:99999/",
        "https://exa mple.org/",
        "",
    ):
        assert safe_download_url(bad) is None, bad
    assert is_plain_http_remote("http://example.org")
    assert not is_plain_http_remote("http://localhost:8000")
    assert not is_plain_http_remote("http://10.0.0.2:8000")
    assert not is_plain_http_remote("https://example.org")
