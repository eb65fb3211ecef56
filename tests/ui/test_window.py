"""The main window's tabs show the model and hand the friend's choices on."""

from datetime import UTC, date, datetime

import pytest

from desktop_app.core import events as ev
from desktop_app.core.events import StreamStat
from desktop_app.ui.qt import HAVE_MULTIMEDIA, QImage, Qt
from desktop_app.ui.settings import TraySettings
from desktop_app.ui.window import MainWindow
from desktop_app.ui.window.main_window import NO_TRAY_NOTE


def make_window(qtbot, model, has_tray=True, **kw) -> MainWindow:
    window = MainWindow(model, TraySettings(display_name="Sam"), has_tray=has_tray, **kw)
    qtbot.add_widget(window)
    window.show()
    return window


def feed(bridge, model) -> None:
    now = datetime.now(UTC)
    bridge.publish(ev.RelayStarted("0.0.0.0", 8090, "http://203.0.113.5:8090"))
    bridge.publish(ev.StreamLiveChanged("alex", True))
    bridge.publish(ev.HeartbeatSent(now, "healthy", ("alex", "bob")))
    bridge.publish(ev.ViewersChanged(3, {"alex": 3}))
    bridge.publish(ev.ProbeObserved(now, True, "ok"))
    bridge.publish(ev.ProbeObserved(now, False, "hash_mismatch", "segment 12 differs"))
    bridge.publish(ev.EarningsUpdated("USD", 321, 9876))
    model.set_upload_cap(20)
    model.apply_stats([StreamStat("alex", True, 6, 6_000_000, 1_000_000_000, 3, 40)], now=1.0)
    model.apply_stats([StreamStat("alex", True, 6, 6_000_000, 1_002_500_000, 3, 41)], now=3.0)


def test_status_tab_shows_health_viewers_upload_probes_and_heartbeat(qtbot, bridge, model):
    window = make_window(qtbot, model)
    feed(bridge, model)
    tab = window.status_tab
    assert tab.viewers.text() == "3"
    assert tab.upload_text.text() == "10.0 Mbit/s of 20 Mbit/s cap"
    assert tab.upload.value() == 500
    assert tab.probes.text() == "1 passed, 1 failed"
    assert tab.failures.count() == 1
    assert "hash_mismatch: segment 12 differs" in tab.failures.item(0).text()
    assert tab.heartbeat.text() in ("just now", "5 s ago")
    assert "healthy" in tab.coordinator.text()
    assert window.banner.text() == "<b>Relaying alex to 3 viewers</b>"


def test_earnings_tab_shows_totals_payouts_and_a_drawn_chart(qtbot, bridge, model):
    window = make_window(qtbot, model)
    feed(bridge, model)
    tab = window.earnings_tab
    assert tab.today.text() == "$3.21"
    assert tab.period.text() == "$98.76"
    assert tab.chart.points[-1] == (date.today(), 321)
    image = tab.chart.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    slot = (image.width() - 16) / len(tab.chart.points)
    bar = image.pixelColor(int(8 + slot * (len(tab.chart.points) - 0.5)), image.height() - 30)
    assert bar.name() == "#2f80ed"  # today's bar is drawn at full height


def test_impact_tab_says_what_was_carried_for_whom(qtbot, bridge, model):
    window = make_window(qtbot, model)
    feed(bridge, model)
    window.tabs.setCurrentWidget(window.impact_tab)
    assert "You carried 1.0 GB to 41 viewers of alex this week" in window.impact_tab.sentences()
    assert "this week" in window.impact_tab.text.text()


def test_streams_tab_lists_streams_and_reports_unticked(qtbot, bridge, model):
    window = make_window(qtbot, model)
    feed(bridge, model)
    tab = window.streams_tab
    texts = [tab.list.item(i).text() for i in range(tab.list.count())]
    assert texts == ["alex (live now, 3 watching through you)", "bob (offline)"]
    with qtbot.wait_signal(tab.unsupported_changed) as blocker:
        tab.list.item(1).setCheckState(Qt.CheckState.Unchecked)
    assert blocker.args == [["bob"]]


def test_streams_tab_lists_every_stream_the_coordinator_lists(qtbot, bridge, model):
    window = make_window(qtbot, model)
    feed(bridge, model)
    listed = (ev.CatalogStream("alex", True), ev.CatalogStream("cleo", True))
    bridge.publish(ev.StreamsListed((*listed, ev.CatalogStream("dan", False))))
    tab = window.streams_tab
    texts = [tab.list.item(i).text() for i in range(tab.list.count())]
    assert texts == [
        "alex (live now, 3 watching through you)",
        "bob (offline)",
        "cleo (live now)",
        "dan (offline)",
    ]
    assert all(tab.list.item(i).checkState() == Qt.CheckState.Checked for i in range(4))
    bridge.publish(ev.StreamsListed(listed))  # dan removed by the host; bob still assigned
    assert [tab.list.item(i).text().split()[0] for i in range(tab.list.count())] == [
        "alex",
        "bob",
        "cleo",
    ]


def test_status_tab_check_now_asks_and_explains_an_unreachable_relay(qtbot, bridge, model):
    window = make_window(qtbot, model)
    feed(bridge, model)
    tab = window.status_tab
    with qtbot.wait_signal(tab.check_requested):
        tab.check_now.click()
    bridge.publish(ev.RelayReachabilityChecked(False, "refused", "connection failed"))
    assert tab.reachability.text().startswith("no:")
    assert tab.reach_detail.text().startswith(
        "Not reachable from outside. The coordinator could not reach your relay (refused"
    )
    assert "forward TCP port 8090" in tab.reach_detail.text()
    bridge.publish(ev.RelayReachabilityChecked(True, "ok"))
    assert tab.reach_detail.text().startswith("Reachable: the coordinator fetched your relay")


def test_settings_tab_refuses_an_empty_name_and_emits_valid_settings(qtbot, model):
    window = make_window(qtbot, model)
    tab = window.settings_tab
    tab.display_name.setText("  ")
    with qtbot.assert_not_emitted(tab.settings_saved):
        tab.save_button.click()
    assert tab.message.text() == "Not saved: the display name cannot be empty"
    tab.display_name.setText("Sam R")
    tab.upload_cap.setValue(12.5)
    tab.start_at_login.setChecked(True)
    with qtbot.wait_signal(tab.settings_saved) as blocker:
        tab.save_button.click()
    saved = blocker.args[0]
    assert (saved.display_name, saved.upload_cap_mbit, saved.start_at_login) == (
        "Sam R",
        12.5,
        True,
    )


def test_leaving_the_coordinator_needs_a_second_click(qtbot, model):
    window = make_window(qtbot, model)
    tab = window.settings_tab
    with qtbot.assert_not_emitted(tab.leave_requested):
        tab.leave_button.click()
    assert "Click again" in tab.leave_button.text()
    with qtbot.wait_signal(tab.leave_requested):
        tab.leave_button.click()


def test_without_a_tray_the_window_says_so_and_closing_quits(qtbot, model):
    window = make_window(qtbot, model, has_tray=False)
    assert window.no_tray.isVisible() and window.no_tray.text() == NO_TRAY_NOTE
    with qtbot.wait_signal(window.close_requested):
        window.close()


def test_with_a_tray_closing_only_hides(qtbot, model):
    window = make_window(qtbot, model)
    assert not window.no_tray.isVisible()
    with qtbot.assert_not_emitted(window.close_requested):
        window.close()
    assert not window.isVisible()


def test_preview_without_any_player_says_clearly_why(qtbot, bridge, model):
    window = make_window(qtbot, model, preview_backends=())
    feed(bridge, model)
    tab = window.preview_tab
    assert tab.source.text() == "http://127.0.0.1:8090/live/alex.m3u8"
    tab.toggle.click()
    assert not tab.player.playing()
    assert "needs VLC" in tab.player.message
    assert tab.toggle.text() == "Play"


def test_preview_with_nothing_live_says_so(qtbot, model):
    window = make_window(qtbot, model)
    tab = window.preview_tab
    tab.toggle.click()
    assert tab.player.message == "Nothing to preview: no supported stream is live right now."


def test_hidden_window_catches_up_when_shown(qtbot, bridge, model):
    window = make_window(qtbot, model)
    window.hide()
    bridge.publish(ev.EarningsUpdated("USD", 700, 800))
    assert window.earnings_tab.today.text() != "$7.00"
    window.show()
    assert window.earnings_tab.today.text() == "$7.00"


def test_an_announced_update_shows_in_the_banner_with_its_link(qtbot, bridge, model):
    window = make_window(qtbot, model)
    bridge.publish(ev.UpdateAvailable("0.2.0", "https://example.org/download"))
    assert "Version 0.2.0 is available" in window.banner.text()
    assert 'href="https://example.org/download"' in window.banner.text()


@pytest.mark.skipif(not HAVE_MULTIMEDIA, reason="QtMultimedia comes with PySide6-Addons only")
@pytest.mark.qt_log_ignore("Could not open media")  # stopped before the (absent) origin answered
def test_preview_falls_back_to_qtmultimedia_without_vlc(qtbot, bridge, model):
    window = make_window(qtbot, model, preview_backends=("qtmultimedia",))
    feed(bridge, model)
    backend = window.preview_tab.player.play("http://127.0.0.1:9/live/demo.m3u8")
    assert backend in ("qtmultimedia", "")  # "" where the FFmpeg backend is not usable
    assert window.preview_tab.player.playing() == (backend == "qtmultimedia")
    window.preview_tab.stop()
    assert not window.preview_tab.player.playing()
