"""The assembled app without a running node: settings, start at login, second launches."""

import os
import subprocess
import sys

from desktop_app.core.config import NodeConfig
from desktop_app.ui.app import LazyJoinBackend as CoreJoinBackend
from desktop_app.ui.app import build_tray_app
from desktop_app.ui.history import History
from desktop_app.ui.node_settings import read_invite
from desktop_app.ui.settings import TraySettings
from desktop_app.ui.tray_app import TrayApp
from desktop_app.ui.wizard import Joined
from streamr_protocol.invite import parse_invite_link


def make_app(qtbot, tmp_path, joined=False) -> TrayApp:
    config = NodeConfig(data_dir=tmp_path / "node", status_port=0)

    def no_node(settings):
        raise AssertionError("no node in these tests")

    app = TrayApp(
        no_node,
        CoreJoinBackend(config),
        TraySettings.load(),
        None,
        History(),
        joined,
        has_tray=False,
    )
    qtbot.add_widget(app.window)
    return app


def test_saved_settings_persist_and_start_at_login_is_written(qtbot, home, tmp_path) -> None:
    app = make_app(qtbot, tmp_path)
    tab = app.window.settings_tab
    tab.display_name.setText("Sam")
    tab.payout_handle.setText("@sam")
    tab.upload_cap.setValue(25)
    tab.start_at_login.setChecked(True)
    tab.save_button.click()
    saved = TraySettings.load()
    assert (saved.display_name, saved.upload_cap_mbit, saved.start_at_login) == ("Sam", 25, True)
    entry = home / ".config" / "autostart" / "streamrp2p.desktop"
    assert "-m desktop_app" in entry.read_text() or "streamr" in entry.read_text()
    tab.start_at_login.setChecked(False)
    tab.save_button.click()
    assert not entry.exists() and TraySettings.load().start_at_login is False
    again = make_app(qtbot, tmp_path)
    assert again.window.settings_tab.display_name.text() == "Sam"


def test_first_start_opens_the_wizard_and_a_link_from_a_second_launch_fills_it(
    qtbot, qloop, home, tmp_path
) -> None:
    app = make_app(qtbot, tmp_path)
    app.start()
    assert app.wizard is not None and app.wizard.isVisible()
    link = "streamr://join?coordinator=http://127.0.0.1:9&code=abcdefghijklmnopq"
    app.on_instance_message(link)
    assert app.wizard.invite_page.link.text() == link
    status = app.wizard.invite_page.status
    qtbot.wait_until(lambda: "does not answer" in status.text(), timeout=10_000)


def test_an_invite_file_from_the_host_is_read(tmp_path) -> None:
    path = tmp_path / "invite.streamr"
    path.write_text("  http://host:8000/join/abcdefghijklmnopq\n")
    assert read_invite(str(path)) == "http://host:8000/join/abcdefghijklmnopq"
    assert read_invite("http://host:8000/join/x") == "http://host:8000/join/x"
    assert read_invite(None) == ""


def test_a_second_invite_while_joined_never_joins_silently(qtbot, home, tmp_path) -> None:
    """Defect 6: a second link registered a duplicate node without a word."""
    app = make_app(qtbot, tmp_path, joined=True)
    app.current_host = lambda: "http://127.0.0.1:8000"
    same = app.ask_about_invite("http://127.0.0.1:8000/join/abcdefghijklmnopq")
    assert same.windowTitle() == "You already help this host" and app.wizard is None
    other = app.ask_about_invite("http://203.0.113.9:8000/join/abcdefghijklmnopq")
    assert other.windowTitle() == "Switch to another host?"
    assert [b.text() for b in other.buttons()] == ["Switch to this host", "Keep my current host"]
    other.buttons()[1].click()
    assert app.wizard is None  # kept: nothing joined, nothing left


def test_without_a_tray_the_window_shows_after_joining(qtbot, qloop, home, tmp_path) -> None:
    """Defect 7: without a tray nothing was visible after the wizard."""
    app = make_app(qtbot, tmp_path)
    app.node_factory = lambda settings: FakeNode()
    invite = parse_invite_link("http://127.0.0.1:9/join/abcdefghijklmnopq")
    app.on_wizard_joined(Joined(invite, "Sam", "@sam", 8090, None))
    assert app.window.isVisible() and app.window.no_tray.isVisible()
    assert "start StreamrP2P again" in app.window.no_tray.text()


class FakeNode:
    """Just enough of a node for the app to hold (no network, never started here)."""

    def subscribe(self, listener):
        return lambda: None

    async def start(self) -> None:
        raise RuntimeError("not in this test")

    async def stop(self) -> None:  # the window's close at the end of a test quits the app
        pass


def test_the_wizard_starts_with_what_the_command_line_gave(qtbot, qloop, home, tmp_path) -> None:
    config = NodeConfig(
        data_dir=tmp_path / "node", name="Sam", payout_handle="@sam", relay_port=9123
    )
    app = build_tray_app(config, TraySettings(), has_tray=False)
    wizard = app.show_wizard()
    qtbot.add_widget(wizard)
    assert wizard.profile_page.display_name.text() == "Sam"
    assert wizard.profile_page.payout_handle.text() == "@sam"
    assert wizard.relay_port == 9123


IDLE_TRAY = """
import sys
import desktop_app.ui.app
from desktop_app.ui.history import History
from desktop_app.ui.model import NodeModel
from desktop_app.ui.qt import QApplication
from desktop_app.ui.tray import Tray

app = QApplication([])
tray = Tray(NodeModel(History()))
print(app.property("streamr_themed"), "desktop_app.ui.window" in sys.modules,
      "desktop_app.ui.wizard" in sys.modules)
tray.menu.aboutToShow.emit()
print(app.property("streamr_themed"), bool(app.styleSheet()))
"""


def test_the_idle_tray_loads_no_window_wizard_or_style_until_its_menu_shows() -> None:
    """Issue 17: the tray's first screen is its icon; the rest loads when first shown."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run(
        [sys.executable, "-c", IDLE_TRAY], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.split() == ["None", "False", "False", "True", "True"]
