"""The tray app driven by a real node core, a real coordinator and a live ffmpeg origin."""

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from desktop_app.core.config import NodeConfig
from desktop_app.ui.app import build_tray_app
from desktop_app.ui.model import StreamView, TrayState
from desktop_app.ui.settings import TraySettings
from tests.fixtures.coordinator import run_coordinator
from tests.fixtures.fake_router import fake_router
from tests.fixtures.net import free_port
from tests.fixtures.origin import origin_process

pytestmark = pytest.mark.slow


@pytest.fixture
def router(tmp_path):
    with fake_router(tmp_path) as router:
        yield router


COORD_FLAGS = ("--heartbeat-interval", "1", "--allow-private-relays", "--probe-interval", "1")


def fast_config(tmp_path) -> NodeConfig:
    return NodeConfig(
        data_dir=tmp_path / "node",
        relay_host="127.0.0.1",
        status_port=0,
        heartbeat_backoff_max_s=1,
        offline_grace_s=3,
        earnings_interval_s=2,
    )


def fetch(qtbot, url: str) -> httpx.Response:
    """GET `url` from a worker thread while Qt (and so the relay on its loop) keeps running."""
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(httpx.get, url, timeout=10)
        qtbot.wait_until(future.done, timeout=15_000)
        return future.result()


def join_with_wizard(qtbot, app, link: str, router) -> str:
    """Join through the wizard; return what its reachability check told the friend."""
    app.join_backend.upnp_options = {
        "discover_delay_ms": 50,
        "minissdpd_socket": router.socket_path,
        "multicast_if": "127.0.0.1",
    }
    wizard = app.show_wizard(link)
    qtbot.wait_until(wizard.invite_page.isComplete, timeout=15_000)
    wizard.next()
    wizard.profile_page.display_name.setText("Sam")
    wizard.profile_page.payout_handle.setText("@sam")
    wizard.next()
    with qtbot.wait_signal(app.node_started, timeout=20_000):
        wizard.port_page.join.click()
    assert wizard.port_page.joined.port_mapping.ok
    assert router.mappings[-1]["NewExternalPort"] == str(wizard.port_page.joined.relay_port)
    return wizard.port_page.reach_status.text()


def test_tray_follows_a_real_node_through_its_states(qtbot, qloop, home, router, tmp_path):
    port = free_port()
    relay_port = free_port()
    with origin_process(tmp_path) as urls:
        coord_cm = run_coordinator(tmp_path, "--port", str(port), *COORD_FLAGS)
        coord = coord_cm.__enter__()
        try:
            coord.cli("stream", "add", "demo", "--origin", urls["demo"], "--pool-per-hour", "36")
            app = build_tray_app(fast_config(tmp_path), TraySettings(relay_port=relay_port), False)
            qtbot.add_widget(app.window)
            model = app.model
            assert model.state is TrayState.IDLE

            note = join_with_wizard(qtbot, app, coord.invite(), router)
            assert note.startswith("Reachable: the coordinator fetched your relay")
            qtbot.wait_until(lambda: model.state is TrayState.RELAYING, timeout=30_000)
            qtbot.wait_until(
                lambda: model.streams.get("demo", StreamView("demo")).live, timeout=30_000
            )
            assert model.status_line().startswith("Relaying demo to")
            playlist = fetch(qtbot, f"http://127.0.0.1:{relay_port}/live/demo.m3u8")
            assert playlist.status_code == 200 and "#EXTINF" in playlist.text
            saved = TraySettings.load()
            assert (saved.display_name, saved.relay_port) == ("Sam", relay_port)

            # the coordinator's probes and the node's earnings reach the window
            qtbot.wait_until(lambda: model.probes_passed >= 1, timeout=30_000)
            qtbot.wait_until(lambda: model.today_minor > 0, timeout=30_000)
            app.window.show()
            assert app.window.status_tab.probes.text().startswith(f"{model.probes_passed} passed")
            assert app.window.earnings_tab.today.text() != "$0.00"
            app.window.status_tab.check_now.click()  # the coordinator fetches the relay now
            qtbot.wait_until(
                lambda: model.reachability_text.startswith("Reachable"), timeout=15_000
            )
            assert app.window.status_tab.reach_detail.text() == model.reachability_text

            relay = f"http://127.0.0.1:{relay_port}/live/demo.m3u8"
            app.on_unsupported_changed(["demo"])  # the friend unticks the stream
            qtbot.wait_until(lambda: fetch(qtbot, relay).status_code == 404, timeout=15_000)
            assert TraySettings.load().unsupported_streams == ["demo"]
            app.on_unsupported_changed([])
            qtbot.wait_until(lambda: fetch(qtbot, relay).status_code == 200, timeout=20_000)

            app.controller.toggle_supporting()
            qtbot.wait_until(lambda: model.state is TrayState.IDLE, timeout=10_000)
            assert model.status_line() == "Paused: not supporting"
            assert TraySettings.load().supporting is False
            app.controller.toggle_supporting()
            qtbot.wait_until(lambda: model.state is TrayState.RELAYING, timeout=15_000)

            coord_cm.__exit__(None, None, None)  # the coordinator goes away
            qtbot.wait_until(lambda: model.state is TrayState.WARNING, timeout=20_000)
            assert model.status_line() == "Coordinator unreachable: still relaying"

            coord_cm = run_coordinator(tmp_path, "--port", str(port), *COORD_FLAGS)
            coord = coord_cm.__enter__()
            qtbot.wait_until(lambda: model.state is TrayState.RELAYING, timeout=20_000)

            coord.cli("nodes", "ban", app.controller.node.identity.node_id)
            qtbot.wait_until(lambda: model.state is TrayState.ERROR, timeout=20_000)
            assert "banned" in model.status_line().lower()

            with qtbot.wait_signal(app.finished, timeout=20_000):
                app.on_quit_requested()
            with pytest.raises(httpx.ConnectError):
                httpx.get(f"http://127.0.0.1:{relay_port}/live/demo.m3u8", timeout=2)
        finally:
            coord_cm.__exit__(None, None, None)


def test_quitting_stops_the_relay_and_a_restart_needs_no_wizard(
    qtbot, qloop, home, router, tmp_path
):
    relay_port = free_port()
    with run_coordinator(tmp_path, "--heartbeat-interval", "1") as coord:  # no private relays
        config = fast_config(tmp_path)
        app = build_tray_app(config, TraySettings(relay_port=relay_port), False)
        qtbot.add_widget(app.window)
        note = join_with_wizard(qtbot, app, coord.invite(), router)
        assert note.startswith("Not reachable from outside") and "private address" in note
        assert "Forward the port by hand" in note
        qtbot.wait_until(lambda: app.model.running, timeout=15_000)
        app.window.status_tab.check_now.click()
        qtbot.wait_until(
            lambda: app.model.reachability_text.startswith("Not reachable"), timeout=15_000
        )
        assert app.model.relay_reachable is False and app.window.status_tab.check_now.isEnabled()
        with qtbot.wait_signal(app.finished, timeout=20_000):
            app.window.close()  # no tray: closing the window quits
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{relay_port}/live/demo.m3u8", timeout=2)

        again = build_tray_app(config, TraySettings.load(), False)
        qtbot.add_widget(again.window)
        assert again.joined
        with qtbot.wait_signal(again.node_started, timeout=10_000):
            again.start()
        assert again.wizard is None
        qtbot.wait_until(lambda: again.model.running, timeout=15_000)
        assert again.window.isVisible() and again.window.no_tray.isVisible()

        leave = again.window.settings_tab.leave_button
        leave.click()
        leave.click()  # confirmed: stop, forget this coordinator, offer the wizard
        qtbot.wait_until(
            lambda: again.wizard is not None and again.wizard.isVisible(), timeout=20_000
        )
        assert not config.identity_path.exists() and not again.joined
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{relay_port}/live/demo.m3u8", timeout=2)
        with qtbot.wait_signal(again.finished, timeout=20_000):
            again.on_quit_requested()
