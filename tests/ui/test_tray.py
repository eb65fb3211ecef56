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
        "Not supporting yet",
        "Start supporting",
        "Open StreamrP2P",
        "Preview",
        "Settings…",
        "Quit",
    ]
    assert not tray.status_action.isEnabled()


def test_icon_tooltip_and_menu_follow_the_node(qtbot, bridge, model) -> None:
    tray = Tray(model)
    idle_key = tray.icon.icon().cacheKey()
    bridge.publish(ev.RelayStarted("0.0.0.0", 8090, "http://203.0.113.5:8090"))
    bridge.publish(ev.StreamLiveChanged("alex", True))
    bridge.publish(ev.ViewersChanged(2, {"alex": 2}))
    assert tray.icon.icon().cacheKey() == tray_icon("relaying").cacheKey() != idle_key
    assert "Viewers now: 2" in tray.icon.toolTip()
    assert tray.status_action.text() == "Relaying alex to 2 viewers"
    assert tray.toggle_action.text() == "Pause supporting"
    bridge.publish(ev.HeartbeatSent(datetime.now(UTC), "banned", ()))
    assert tray.icon.icon().cacheKey() == tray_icon("error").cacheKey()
    assert not tray.toggle_action.isEnabled()


def test_menu_actions_emit_requests(qtbot, model) -> None:
    tray = Tray(model)
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
