"""The Overview says what of this period's time online was credited, and why not the rest."""

from datetime import UTC, datetime

from coordinator_service.ledger import tally
from coordinator_service.ledger.explain import NOT_RELAYING, NodeCredit
from coordinator_service.ledger.friend_reasons import credit_breakdown
from desktop_app.core import events as ev
from desktop_app.core.credit import earnings_update
from desktop_app.ui.settings import TraySettings
from desktop_app.ui.window import MainWindow
from streamr_protocol.models import NodeEarningsResponse

JARGON = ("coordinator", "probe", "heartbeat", "node", "tally", "ledger")


def make_window(qtbot, model) -> MainWindow:
    window = MainWindow(model, TraySettings(display_name="Sam"))
    qtbot.add_widget(window)
    window.show()
    return window


def host_answer(**credit: object) -> NodeEarningsResponse:
    """The host's earnings answer, its credit worded by the host's own rules."""
    explained = NodeCredit(**{"node_id": "n1", "display_name": "Sam"} | credit)
    return NodeEarningsResponse(
        currency="USD",
        today_minor=120,
        period_minor=900,
        period_from=datetime(2026, 11, 1, tzinfo=UTC),
        credited_seconds_today=600,
        payouts=[],
        probes=[],
        credit=credit_breakdown(explained),
    )


def test_overview_says_what_was_credited_and_how_to_fix_the_rest(qtbot, bridge, model):
    window = make_window(qtbot, model)
    answer = host_answer(
        up_seconds=4 * 3600 + 60,
        credited_seconds=2 * 3600,
        lost=[
            (tally.UNVERIFIED, 5400),
            (tally.NO_SLOT, 1200),
            (NOT_RELAYING, 600),
            (tally.NOT_LIVE, 60),
        ],
        slot_needs_kbit=2500,
    )
    bridge.publish(earnings_update(answer))  # as the node core publishes it
    card = window.overview_tab
    assert card.credit.isVisible()
    assert card.credit_summary.text() == "Credited this period: 2 h 0 min of 4 h 1 min online"
    lines = card.credit_lost.text().splitlines()
    assert lines[0].startswith(
        "1 h 30 min not credited: your app was not reachable for the host's checks. "
        "How to fix: press Fix it in the app (or forward its port on your router)"
    )
    assert lines[1] == (
        "20 min not credited: your upload limit leaves no room for one viewer. "
        "How to fix: raise your upload limit (Settings) to at least 2.5 Mbit/s."
    )
    assert lines[2].startswith("10 min not credited: your app was on but not passing on a stream")
    assert lines[3] == (  # nothing to fix: no "How to fix"
        "1 min not credited: the stream was not live "
        "(time counts only while the host is streaming)."
    )
    text = f"{card.credit_summary.text()} {card.credit_lost.text()}".lower()
    assert not any(word in text for word in JARGON)


def test_the_payout_history_answer_updates_it_too_and_all_credited_is_said(qtbot, model):
    window = make_window(qtbot, model)
    model.apply_earnings(host_answer(up_seconds=3600, credited_seconds=3600))
    card = window.overview_tab
    assert card.credit_summary.text() == "Credited this period: 1 h 0 min of 1 h 0 min online"
    assert card.credit_lost.text() == "All your time online this period was credited."


def test_an_older_host_that_does_not_explain_shows_no_credit_card(qtbot, bridge, model):
    window = make_window(qtbot, model)
    bridge.publish(ev.EarningsUpdated("USD", 321, 9876))
    assert model.credit_words() is None
    assert not window.overview_tab.credit.isVisible()
    assert window.overview_tab.period.value.text() == "$98.76"


def test_a_reason_this_app_does_not_know_is_shown_in_the_hosts_words(qtbot, bridge, model):
    window = make_window(qtbot, model)
    lost = (ev.CreditLoss("eclipse", 60, "the sun was hidden", "wait"), ev.CreditLoss("x_y", 5))
    bridge.publish(ev.EarningsUpdated("USD", 1, 2, ev.Credit(120, 55, lost)))
    assert window.overview_tab.credit_lost.text().splitlines() == [
        "1 min not credited: the sun was hidden. How to fix: wait.",
        "5 s not credited: x y.",
    ]
