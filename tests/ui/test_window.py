"""The main window's tabs show the model and hand the friend's choices on."""

from datetime import UTC, datetime

import pytest

from desktop_app.core import events as ev
from desktop_app.core.events import StreamStat
from desktop_app.ui.qt import HAVE_MULTIMEDIA, QImage, Qt
from desktop_app.ui.settings import TraySettings
from desktop_app.ui.theme import DARK, LIGHT, apply_theme, current_theme, force_scheme
from desktop_app.ui.window import MainWindow
from desktop_app.ui.window.chart import nice_top
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


def test_headline_and_overview_read_at_a_glance(qtbot, bridge, model):
    window = make_window(qtbot, model)
    feed(bridge, model)
    assert window.banner.text() == "You're helping stream alex"
    # 3 seen by the relay, 2 of them the host's checks of the last 30 s
    assert window.headline.detail.text().startswith("1 viewer watching through you now")
    tab = window.overview_tab
    assert tab.today.value.text() == "$3.21"
    assert "estimate" in tab.today.caption.text()
    assert tab.period.value.text() == "$98.76"
    assert tab.served.value.text() == "1.0 GB"
    assert tab.trust.value.text() == "1 of 2 passed"
    assert tab.reasons.text() == "Failed because: the video your app sent did not match the stream."
    assert tab.uptime.value.text().endswith(" s")


def test_the_chart_has_a_money_axis_and_todays_bar(qtbot, bridge, model):
    window = make_window(qtbot, model)
    feed(bridge, model)
    chart = window.overview_tab.chart
    assert chart.points[-1][1] == 321
    image = chart.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    bar = chart.bar_rect(len(chart.points) - 1)
    assert bar.height() > 0
    colour = image.pixelColor(int(bar.center().x()), int(bar.bottom() - 2))
    assert colour.name() == current_theme().accent
    assert nice_top(321) == 400 and nice_top(0) == 4


def test_a_fix_it_button_asks_the_app_to_act(qtbot, bridge, model):
    window = make_window(qtbot, model)
    bridge.publish(ev.NodeFailed("relay port 8090 on 0.0.0.0 is not usable", True, "port"))
    assert window.headline.button.isVisible()
    assert window.headline.button.text() == "Use another port"
    with qtbot.wait_signal(window.headline.action_requested) as blocker:
        window.headline.button.click()
    assert blocker.args == ["pick_port"]


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


def test_an_unreachable_relay_offers_fix_it_in_plain_words(qtbot, bridge, model):
    window = make_window(qtbot, model)
    feed(bridge, model)
    bridge.publish(ev.RelayReachabilityChecked(False, "refused", "connection failed"))
    assert window.banner.text() == "Viewers can't reach you"
    assert window.headline.button.text() == "Fix it"
    for word in ("coordinator", "probe", "heartbeat", "ConnectError"):
        assert word not in window.headline.detail.text()


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
    assert tab.source.toolTip() == "http://127.0.0.1:8090/live/alex.m3u8"
    assert tab.source.text() == "alex, as your viewers get it from you"
    tab.toggle.click()
    assert not tab.player.playing()
    assert "needs VLC" in tab.player.message
    assert tab.toggle.text() == "Play"


def test_preview_with_nothing_live_says_so(qtbot, model):
    window = make_window(qtbot, model)
    tab = window.preview_tab
    tab.toggle.click()
    assert tab.player.message == "Nothing to show: none of your streams is live right now."


def test_hidden_window_catches_up_when_shown(qtbot, bridge, model):
    window = make_window(qtbot, model)
    window.hide()
    bridge.publish(ev.EarningsUpdated("USD", 700, 800))
    assert window.overview_tab.today.value.text() != "$7.00"
    window.show()
    assert window.overview_tab.today.value.text() == "$7.00"


def test_an_announced_update_shows_in_the_banner_with_its_link(qtbot, bridge, model):
    window = make_window(qtbot, model)
    bridge.publish(ev.UpdateAvailable("0.2.0", "https://example.org/download"))
    assert "A new version (0.2.0) is ready" in window.headline.detail.text()
    assert 'href="https://example.org/download"' in window.headline.detail.text()


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


def test_find_a_free_port_never_proposes_the_apps_own_status_port(qtbot, model):
    """Defect 3: "Find a free port" picked the status page's port, again after the error."""
    import socket

    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        window = make_window(qtbot, model)
        tab = window.settings_tab
        tab.reserved_ports = {port + 1}
        tab.relay_port.setValue(port)
        tab.find_port.click()
        assert tab.relay_port.value() not in (port, port + 1)
        tab.find_port.click()  # asked again: still never the reserved port
        assert tab.relay_port.value() != port + 1


def test_settings_carry_a_monthly_data_cap_and_hours(qtbot, model):
    window = make_window(qtbot, model)
    tab = window.settings_tab
    tab.monthly_cap.setValue(200)
    tab.from_hour.setValue(8)
    tab.to_hour.setValue(23)
    with qtbot.wait_signal(tab.settings_saved) as blocker:
        tab.save_button.click()
    saved = blocker.args[0]
    assert (saved.monthly_cap_gb, saved.active_from_hour, saved.active_to_hour) == (200, 8, 23)


def test_about_names_the_version_and_opens_the_log_folder(qtbot, model, tmp_path):
    window = MainWindow(model, TraySettings(), version="1.2.3", logs=tmp_path / "log")
    qtbot.add_widget(window)
    assert "1.2.3" in window.about_tab.version.text()
    window.about_tab.open_logs.click()
    assert (tmp_path / "log").is_dir()


def test_the_window_follows_dark_mode(qtbot, bridge, model):
    apply_theme()  # as the tray app does before its first window
    window = make_window(qtbot, model)
    feed(bridge, model)
    try:
        for dark, theme in ((True, DARK), (False, LIGHT)):
            force_scheme(dark)
            apply_theme()
            image = window.grab().toImage()
            corner = image.pixelColor(3, image.height() - 3)
            assert corner.name() == theme.window
            assert window.palette().color(window.backgroundRole()).name() == theme.window
    finally:
        force_scheme(None)
        apply_theme()
