"""The tray icon follows the model; its menu asks the app to act."""

from datetime import UTC, datetime

from desktop_app.core import events as ev
from desktop_app.ui.icons import tray_icon
from desktop_app.ui.tray import Tray


def menu_texts(tray: Tray) -> list[str]:
    return [a.text() for a in tray.menu.actions() if not a.isSeparator()]


def test_menu_has_status_line_and_the_promised_actions(qtbot, model) -> None:
    tray = Tray(model)
    assert menu_texts(tray) == [
        "Not helping yet",
        "Today $0.00 · this period $0.00",
        "Pause helping",
        "Resume helping",
        "Open StreamrP2P",
        "Preview",
        "Settings…",
        "Quit",
    ]
    assert not tray.status_action.isEnabled()
    assert not tray.pause_menu.isEnabled() and not tray.toggle_action.isVisible()
    assert [a.text() for a in tray.pause_actions] == [
        "For 1 hour",
        "Until tomorrow",
        "Until I resume",
    ]


def test_icon_tooltip_and_menu_follow_the_node(qtbot, bridge, model) -> None:
    tray = Tray(model)
    idle_key = tray.icon.icon().cacheKey()
    bridge.publish(ev.RelayStarted("0.0.0.0", 8090, "http://203.0.113.5:8090"))
    bridge.publish(ev.StreamLiveChanged("alex", True))
    bridge.publish(ev.ViewersChanged(2, {"alex": 2}))
    assert tray.icon.icon().cacheKey() == tray_icon("relaying").cacheKey() != idle_key
    assert "Viewers now: 2" in tray.icon.toolTip()
    assert tray.status_action.text() == "You're helping stream alex"
    assert tray.pause_menu.isEnabled() and not tray.toggle_action.isVisible()
    bridge.publish(ev.EarningsUpdated("USD", 125, 4200))
    assert tray.earnings_action.text() == "Today $1.25 · this period $42.00"
    bridge.publish(ev.HeartbeatSent(datetime.now(UTC), "banned", ()))
    assert tray.icon.icon().cacheKey() == tray_icon("error").cacheKey()
    assert not tray.toggle_action.isEnabled()


def test_menu_actions_emit_requests(qtbot, model) -> None:
    tray = Tray(model)
    with qtbot.wait_signal(tray.pause_requested) as blocker:
        tray.pause_actions[0].trigger()
    assert blocker.args == ["hour"]
    for action, signal in (
        (tray.toggle_action, tray.toggle_supporting_requested),
        (tray.open_action, tray.open_window_requested),
        (tray.preview_action, tray.preview_requested),
        (tray.settings_action, tray.settings_requested),
        (tray.quit_action, tray.quit_requested),
    ):
        with qtbot.wait_signal(signal):
            action.trigger()


def test_every_tray_state_has_an_icon(qtbot) -> None:
    for state in ("idle", "relaying", "warning", "error"):
        icon = tray_icon(state)
        assert not icon.isNull()
        assert {16, 22, 32, 64} <= {size.width() for size in icon.availableSizes()}


def test_a_node_that_failed_to_start_offers_no_pause_or_start(qtbot, bridge, model) -> None:
    """Defect 2: with the port taken the menu offered "Start supporting", which paused."""
    tray = Tray(model)
    bridge.publish(ev.NodeFailed("relay port 8090 is not usable", True, "port"))
    assert not tray.pause_menu.isEnabled() and not tray.toggle_action.isVisible()
    assert tray.status_action.text() == "Another program is using this app's port"
