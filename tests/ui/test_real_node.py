"""The tray app driven by a real node core, a real coordinator and a live ffmpeg origin."""

import json
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
    with qtbot.wait_signal(app.node_started, timeout=30_000):
        wizard.next()  # "Join": joins, opens the port, checks from outside
    joined = wizard.profile_page.joined
    assert joined.port_mapping.ok
    assert router.mappings[-1]["NewExternalPort"] == str(joined.relay_port)
    done = wizard.done_page
    return done.summary.text() + ("\n" + done.how.text() if done.how.isVisibleTo(wizard) else "")


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
            assert note.startswith("All set, Sam: viewers can reach you")
            qtbot.wait_until(lambda: model.state is TrayState.RELAYING, timeout=30_000)
            qtbot.wait_until(
                lambda: model.streams.get("demo", StreamView("demo")).live, timeout=30_000
            )
            assert model.status_line() == "You're helping stream demo"
            playlist = fetch(qtbot, f"http://127.0.0.1:{relay_port}/live/demo.m3u8")
            assert playlist.status_code == 200 and "#EXTINF" in playlist.text
            saved = TraySettings.load()
            assert (saved.display_name, saved.relay_port) == ("Sam", relay_port)

            # a new name in Settings reaches the host (PATCH /api/v1/nodes/me)
            tab = app.window.settings_tab
            tab.display_name.setText("Sam R")
            tab.save_button.click()
            qtbot.wait_until(lambda: "Your host now sees" in tab.message.text(), timeout=15_000)
            assert '"Sam R"' in coord.cli("nodes", "list", "--json").stdout
            assert TraySettings.load().display_name == "Sam R"

            # the coordinator's probes and the node's earnings reach the window
            qtbot.wait_until(lambda: model.probes_passed >= 1, timeout=30_000)
            qtbot.wait_until(lambda: model.today_minor > 0, timeout=30_000)
            app.window.show()
            assert app.window.overview_tab.trust.value.text().endswith("passed")
            assert app.window.overview_tab.today.value.text() != "$0.00"
            app.controller.check_reachability()  # the host fetches the relay now
            qtbot.wait_until(lambda: model.reachability_text.startswith("Viewers can reach"))

            relay = f"http://127.0.0.1:{relay_port}/live/demo.m3u8"
            app.on_unsupported_changed(["demo"])  # the friend unticks the stream
            qtbot.wait_until(lambda: fetch(qtbot, relay).status_code == 404, timeout=15_000)
            assert TraySettings.load().unsupported_streams == ["demo"]
            app.on_unsupported_changed([])
            qtbot.wait_until(lambda: fetch(qtbot, relay).status_code == 200, timeout=20_000)

            qtbot.wait_until(lambda: model.state is TrayState.RELAYING, timeout=20_000)
            app.controller.pause_for("hour")
            qtbot.wait_until(lambda: model.paused, timeout=10_000)
            assert model.state is TrayState.IDLE
            assert model.status_line().startswith("Paused until ")
            assert TraySettings.load().supporting is False
            assert TraySettings.load().paused_until is not None
            node_id = app.controller.node.identity.node_id
            beats = model.last_heartbeat_at
            qtbot.wait_until(lambda: model.last_heartbeat_at != beats, timeout=10_000)
            nodes = coord.cli("nodes", "list", "--json").stdout
            assert '"state": "healthy"' in nodes or '"state":"healthy"' in nodes, nodes
            assert node_id in nodes  # paused, and still known to the host: not silent
            app.controller.toggle_supporting()
            qtbot.wait_until(lambda: model.state is TrayState.RELAYING, timeout=15_000)

            coord_cm.__exit__(None, None, None)  # the coordinator goes away
            qtbot.wait_until(lambda: model.state is TrayState.WARNING, timeout=20_000)
            assert model.status_line() == "Can't reach your host"

            coord_cm = run_coordinator(tmp_path, "--port", str(port), *COORD_FLAGS)
            coord = coord_cm.__enter__()
            qtbot.wait_until(lambda: model.state is TrayState.RELAYING, timeout=20_000)

            coord.cli("nodes", "ban", app.controller.node.identity.node_id)
            qtbot.wait_until(lambda: model.state is TrayState.ERROR, timeout=20_000)
            assert model.status_line() == "The host removed this app"

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
        assert "viewers cannot reach you yet" in note and "home-network address" in note
        assert "Port forwarding" in note
        qtbot.wait_until(lambda: app.model.running, timeout=15_000)
        assert app.window.isVisible()  # no tray: the window shows after the wizard (defect 7)
        app.controller.check_reachability()
        qtbot.wait_until(lambda: app.model.relay_reachable is False, timeout=15_000)
        assert app.window.headline.button.text() == "Fix it"
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
        nodes = json.loads(coord.cli("nodes", "list", "--json").stdout)
        assert [n["state"] for n in nodes] == ["left"]  # the host was told
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{relay_port}/live/demo.m3u8", timeout=2)
        with qtbot.wait_signal(again.finished, timeout=20_000):
            again.on_quit_requested()


def test_a_taken_port_is_fixed_with_one_click_and_never_saved_as_paused(
    qtbot, qloop, home, tmp_path
):
    """Defect 2: with the port taken, the menu offered "Start supporting" and saved a pause."""
    import socket

    with run_coordinator(tmp_path, *COORD_FLAGS) as coord, socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        config = fast_config(tmp_path)
        settings = TraySettings(relay_port=busy, display_name="Sam", payout_handle="@sam")
        settings.save()
        import asyncio

        from desktop_app.core.node import join

        with ThreadPoolExecutor(1) as pool:  # joined beforehand, on a loop of its own
            pool.submit(asyncio.run, join(config, coord.invite(), "Sam", "@sam", busy)).result()
        app = build_tray_app(config, settings, False)
        qtbot.add_widget(app.window)
        app.start()
        qtbot.wait_until(
            lambda: app.model.headline().action_text == "Use another port", timeout=20_000
        )
        assert TraySettings.load().supporting is True
        app.window.show()
        with qtbot.wait_signal(app.node_started, timeout=20_000):
            app.window.headline.button.click()
        qtbot.wait_until(lambda: app.model.running, timeout=20_000)
        assert app.model.relay_port != busy and TraySettings.load().relay_port != busy
        assert TraySettings.load().supporting is True
        with qtbot.wait_signal(app.finished, timeout=20_000):
            app.on_quit_requested()  # soon after the start: its timers must not outlive the quit
        controller = app.controller
        assert controller is not None
        timers = (controller.poll, controller.earnings_poll, controller.limits_timer)
        assert not any(t.isActive() for t in timers)
