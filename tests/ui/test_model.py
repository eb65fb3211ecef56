"""The view-model: tray state, status line and the events worth a notification."""

from datetime import UTC, date, datetime

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
    assert model.status_line() == "Can't reach your host"
    with qtbot.wait_signal(model.state_changed) as blocker:
        bridge.publish(ev.NodeStateChanged("banned"))
    assert blocker.args == ["error"]
    assert model.status_line() == "The host removed this app"


def test_pause_shows_idle_and_resume_relaying(qtbot, bridge, model) -> None:
    relaying(bridge)
    model.set_paused(True)
    assert model.state is TrayState.IDLE
    assert model.status_line() == "Paused"
    assert model.headline().action_text == "Resume now"
    model.set_paused(False)
    assert model.state is TrayState.RELAYING


def test_status_line_names_live_streams_and_viewers(bridge, model) -> None:
    relaying(bridge)
    bridge.publish(ev.ViewersChanged(1, {"alex": 1}))
    assert model.status_line() == "You're helping stream alex"
    assert model.headline().detail == "1 viewer watching through you now."
    bridge.publish(ev.StreamLiveChanged("alex", False))
    assert model.status_line() == "Ready: waiting for a stream to start"
    assert model.state is TrayState.IDLE  # nothing live: not green


def test_tooltip_says_what_is_relayed_viewers_and_earnings(bridge, model) -> None:
    relaying(bridge)
    bridge.publish(ev.ViewersChanged(4, {"alex": 4}))
    bridge.publish(ev.EarningsUpdated("USD", 125, 4200))
    tip = model.tooltip()
    assert "You're helping stream alex" in tip
    assert "Viewers now: 4" in tip
    assert "Earned today $1.25 (estimate), this period $42.00" in tip


def test_fatal_failure_is_error_with_its_message(bridge, model) -> None:
    bridge.publish(ev.NodeFailed("the data dir is not writable", fatal=True))
    assert model.state is TrayState.ERROR
    assert model.status_line() == "The app stopped"
    assert model.headline().detail == "the data dir is not writable"
    assert model.headline().action_text == "Try again"


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
    assert blocker.args == ["your app's copy of the stream was behind"]
    assert model.state is TrayState.WARNING
    assert model.status_line() == "The host's checks of this app fail"
    bridge.publish(ev.ProbeObserved(NOW, True, "ok"))
    assert model.state is TrayState.RELAYING
    assert (model.probes_passed, model.probes_failed) == (1, 2)


def test_unreachable_probe_announces_relay_unreachable(qtbot, bridge, model) -> None:
    relaying(bridge)
    with qtbot.wait_signal(model.relay_unreachable) as blocker:
        bridge.publish(ev.ProbeObserved(NOW, False, "unreachable", "connection refused"))
    assert blocker.args[0].startswith("your computer could not be reached")
    assert model.state is TrayState.WARNING
    assert model.status_line() == "Viewers can't reach you"
    assert model.headline().action_text == "Fix it"


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


def test_a_stream_the_host_says_ended_is_not_shown_live(bridge, model) -> None:
    """Defect 4: the relay still thinks it is live; the host's own check says it ended."""
    relaying(bridge)
    assert model.state is TrayState.RELAYING
    bridge.publish(ev.StreamsListed((ev.CatalogStream("alex", False),)))
    assert not model.streams["alex"].live
    assert model.status_line() == "Ready: waiting for a stream to start"
    assert model.state is TrayState.IDLE
    model.apply_stats([StreamStat("alex", True, 4, 4_000_000, 1_000, 0, 0)], now=1.0)
    assert not model.streams["alex"].live  # the relay's stats do not overrule the host
    bridge.publish(ev.StreamsListed((ev.CatalogStream("alex", True),)))
    assert model.streams["alex"].live and model.state is TrayState.RELAYING


def test_the_hosts_checks_are_not_counted_as_viewers(bridge, model) -> None:
    """Defect 5: one check in the last 30 s made "1 viewer" with nobody watching."""
    relaying(bridge)
    bridge.publish(ev.ViewersChanged(1, {"alex": 1}))
    bridge.publish(ev.ProbeObserved(datetime.now(UTC), True, "ok"))
    assert model.viewers_now() == 0
    assert model.headline().detail == "0 viewers watching through you now."
    model.apply_stats([StreamStat("alex", True, 4, 0, 1_000, 1, 7)], now=1.0)
    assert model.history.viewers_helped_since(datetime.now().date()) == 6


def test_a_port_taken_offers_to_use_another(bridge, model) -> None:
    """Defect 2: a failed start offers the fix, never "Start supporting"."""
    bridge.publish(ev.NodeFailed("relay port 8090 on 0.0.0.0 is not usable", True, "port"))
    headline = model.headline()
    assert headline.state is TrayState.ERROR and headline.action_text == "Use another port"
    assert "0.0.0.0" not in headline.title + headline.detail


def test_the_apps_echo_of_a_taken_port_keeps_the_one_click_fix(bridge, model) -> None:
    """The core's reason comes first; the app's "Could not start the relay" error, queued after
    it, once turned the headline into "Try again" with the same taken port."""
    reason = "relay port 8090 on 0.0.0.0 is not usable"
    bridge.publish(ev.NodeFailed(reason, True, "port"))
    model.apply_event(ev.NodeFailed(f"Could not start the relay: {reason}"))  # TrayApp's echo
    assert model.headline().action_text == "Use another port"
    relaying(bridge)  # the relay runs again on another port: the old reason is gone
    bridge.publish(ev.NodeFailed("the beat could not be built"))
    assert model.headline().title == "the beat could not be built"


def test_earned_today_and_the_chart_agree_across_the_hosts_midnight(model) -> None:
    """Smaller defect: "Earned today $4.33" beside "best day $14.68" on the same day."""
    model.history.record_earnings(1468, "USD", date(2026, 11, 24))
    model.history.record_earnings(1468, "USD", date(2026, 11, 25))
    model.history.record_earnings(433, "USD", date(2026, 11, 25))  # the estimate went down
    assert model.history.earnings_by_day(1, date(2026, 11, 25)) == [(date(2026, 11, 25), 433)]
