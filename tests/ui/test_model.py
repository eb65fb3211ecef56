"""The view-model: tray state, status line and the events worth a notification."""

from datetime import UTC, datetime

from desktop_app.core import events as ev
from desktop_app.core.events import StreamStat
from desktop_app.ui.model import TrayState
from streamr_protocol.models import NodeEarningsResponse, PayoutSummary

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def relaying(bridge) -> None:
    bridge.publish(ev.RelayStarted("0.0.0.0", 8090, "http://203.0.113.5:8090"))
    bridge.publish(ev.StreamLiveChanged("alex", True))
    bridge.publish(ev.HeartbeatSent(NOW, "healthy", ("alex",)))


def test_state_goes_idle_relaying_warning_error(qtbot, bridge, model) -> None:
    assert model.state is TrayState.IDLE
    with qtbot.wait_signal(model.state_changed) as blocker:
        relaying(bridge)
    assert blocker.args == ["relaying"]
    with qtbot.wait_signal(model.state_changed) as blocker:
        bridge.publish(ev.CoordinatorReachabilityChanged(False, "connection refused"))
    assert blocker.args == ["warning"]
    assert model.status_line() == "Coordinator unreachable: still relaying"
    with qtbot.wait_signal(model.state_changed) as blocker:
        bridge.publish(ev.NodeStateChanged("banned"))
    assert blocker.args == ["error"]
    assert "Banned" in model.status_line()


def test_pause_shows_idle_and_resume_relaying(qtbot, bridge, model) -> None:
    relaying(bridge)
    model.set_paused(True)
    assert model.state is TrayState.IDLE
    assert model.status_line() == "Paused: not supporting"
    model.set_paused(False)
    assert model.state is TrayState.RELAYING


def test_status_line_names_live_streams_and_viewers(bridge, model) -> None:
    relaying(bridge)
    bridge.publish(ev.ViewersChanged(1, {"alex": 1}))
    assert model.status_line() == "Relaying alex to 1 viewer"
    bridge.publish(ev.StreamLiveChanged("alex", False))
    assert model.status_line() == "Relaying: waiting for a stream to go live"


def test_tooltip_says_what_is_relayed_viewers_and_earnings(bridge, model) -> None:
    relaying(bridge)
    bridge.publish(ev.ViewersChanged(4, {"alex": 4}))
    bridge.publish(ev.EarningsUpdated("USD", 125, 4200))
    tip = model.tooltip()
    assert "Relaying: alex" in tip
    assert "Viewers now: 4" in tip
    assert "Earned today $1.25, this period $42.00" in tip


def test_fatal_failure_is_error_with_its_message(bridge, model) -> None:
    bridge.publish(ev.NodeFailed("relay port 8090 is taken by another program", fatal=True))
    assert model.state is TrayState.ERROR
    assert model.status_line() == "relay port 8090 is taken by another program"


def test_stream_going_live_is_announced_once_and_not_for_unsupported(qtbot, bridge, model) -> None:
    with qtbot.wait_signal(model.stream_went_live) as blocker:
        bridge.publish(ev.StreamLiveChanged("alex", True))
    assert blocker.args == ["alex"]
    with qtbot.assert_not_emitted(model.stream_went_live):
        bridge.publish(ev.StreamLiveChanged("alex", True))
        model.set_unsupported(["bob"])
        bridge.publish(ev.StreamLiveChanged("bob", True))


def test_failing_probes_warn_after_a_streak_with_the_reason(qtbot, bridge, model) -> None:
    relaying(bridge)
    with qtbot.assert_not_emitted(model.probes_failing):
        bridge.publish(ev.ProbeObserved(NOW, False, "hash_mismatch", "segment 41 differs"))
    assert model.state is TrayState.RELAYING  # one failure is not yet worth a warning
    with qtbot.wait_signal(model.probes_failing) as blocker:
        bridge.publish(ev.ProbeObserved(NOW, False, "stale_playlist"))
    assert blocker.args == ["stale_playlist"]
    assert model.state is TrayState.WARNING
    assert model.status_line() == "Probes failing: stale_playlist"
    bridge.publish(ev.ProbeObserved(NOW, True, "ok"))
    assert model.state is TrayState.RELAYING
    assert (model.probes_passed, model.probes_failed) == (1, 2)


def test_unreachable_probe_announces_relay_unreachable(qtbot, bridge, model) -> None:
    relaying(bridge)
    with qtbot.wait_signal(model.relay_unreachable) as blocker:
        bridge.publish(ev.ProbeObserved(NOW, False, "unreachable", "connection refused"))
    assert blocker.args == ["connection refused"]
    assert model.state is TrayState.WARNING
    assert "forward the relay port" in model.status_line()


def earnings(paid: bool) -> NodeEarningsResponse:
    payout = PayoutSummary(
        payout_id="p1",
        stream="alex",
        period_from=datetime(2026, 11, 1, tzinfo=UTC),
        period_to=datetime(2026, 11, 8, tzinfo=UTC),
        amount_minor=1250,
        currency="USD",
        paid_at=NOW if paid else None,
    )
    return NodeEarningsResponse(
        currency="USD",
        today_minor=10,
        period_minor=300,
        period_from=datetime(2026, 11, 8, tzinfo=UTC),
        credited_seconds_today=600,
        payouts=[payout],
        probes=[],
    )


def test_payout_marked_paid_is_announced_once(qtbot, model) -> None:
    with qtbot.assert_not_emitted(model.payout_paid):
        model.apply_earnings(earnings(paid=False))
    with qtbot.wait_signal(model.payout_paid) as blocker:
        model.apply_earnings(earnings(paid=True))
    assert blocker.args == ["$12.50"]
    with qtbot.assert_not_emitted(model.payout_paid):
        model.apply_earnings(earnings(paid=True))


def test_payout_already_paid_at_first_sight_is_not_announced(qtbot, model) -> None:
    with qtbot.assert_not_emitted(model.payout_paid):
        model.apply_earnings(earnings(paid=True))


def test_stats_give_upload_rate_and_impact(model) -> None:
    model.apply_stats([StreamStat("alex", True, 4, 4_000_000, 1_000_000, 1, 2)], now=10.0)
    model.apply_stats([StreamStat("alex", True, 4, 4_000_000, 3_000_000, 2, 5)], now=12.0)
    assert model.upload_bps == 8_000_000  # 2 MB in 2 s
    (impact,) = model.history.impact_since(datetime.now().date())
    assert (impact.stream, impact.bytes_served, impact.viewers) == ("alex", 3_000_000, 5)
