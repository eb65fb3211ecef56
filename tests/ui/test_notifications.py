"""Notifications only for what matters, and only when the friend wants them."""

from datetime import UTC, datetime

from desktop_app.core import events as ev
from desktop_app.ui.notifications import Notifier
from desktop_app.ui.tray import Tray

NOW = datetime.now(UTC)


def test_notifies_live_stream_unreachable_relay_and_failing_probes(qtbot, bridge, model) -> None:
    notifier = Notifier(model, Tray(model))
    bridge.publish(ev.RelayStarted("0.0.0.0", 8090, "http://203.0.113.5:8090"))
    with qtbot.wait_signal(notifier.notified) as blocker:
        bridge.publish(ev.StreamLiveChanged("alex", True))
    assert blocker.args[0] == "alex is live"
    with qtbot.wait_signal(notifier.notified) as blocker:
        bridge.publish(ev.ProbeObserved(NOW, False, "unreachable", "connection timed out"))
    assert blocker.args[0] == "Viewers can't reach you"
    assert "could not be reached" in blocker.args[1]
    with qtbot.wait_signal(notifier.notified) as blocker:
        bridge.publish(ev.ProbeObserved(NOW, False, "unreachable", "connection timed out"))
    assert blocker.args[0] == "Your host's checks fail"


def test_routine_events_do_not_notify(qtbot, bridge, model) -> None:
    notifier = Notifier(model, None)
    with qtbot.assert_not_emitted(notifier.notified):
        bridge.publish(ev.RelayStarted("0.0.0.0", 8090, "http://203.0.113.5:8090"))
        bridge.publish(ev.ViewersChanged(5, {"alex": 5}))
        bridge.publish(ev.HeartbeatSent(NOW, "healthy", ("alex",)))
        bridge.publish(ev.EarningsUpdated("USD", 5, 10))
        bridge.publish(ev.ProbeObserved(NOW, True, "ok"))


def test_notifications_switched_off_stay_quiet(qtbot, bridge, model) -> None:
    notifier = Notifier(model, None, enabled=lambda: False)
    with qtbot.assert_not_emitted(notifier.notified):
        bridge.publish(ev.StreamLiveChanged("alex", True))
