"""The per-day history of what was carried and earned."""

from datetime import date

from desktop_app.core.events import StreamStat
from desktop_app.ui.history import History

DAY = date(2026, 11, 25)


def stat(name: str, sent: int, viewers: int) -> StreamStat:
    return StreamStat(name, True, 0, 0, sent, 0, viewers)


def test_history_adds_counter_increases_across_a_node_restart(tmp_path) -> None:
    history = History(tmp_path / "h.json")
    history.record_streams([stat("alex", 100, 2)], DAY)
    history.record_streams([stat("alex", 250, 3)], DAY)
    history.record_streams([stat("alex", 40, 1)], DAY)  # counters restarted
    (item,) = history.impact_since(DAY)
    assert (item.bytes_served, item.viewers) == (290, 4)


def test_history_survives_a_save_and_load(tmp_path) -> None:
    history = History(tmp_path / "h.json")
    history.record_streams([stat("alex", 500, 5), stat("bob", 900, 1)], DAY)
    history.record_earnings(125, "EUR", DAY)
    history.save()
    again = History(tmp_path / "h.json")
    assert [i.stream for i in again.impact_since(DAY)] == ["bob", "alex"]
    assert again.earnings_by_day(2, DAY) == [(date(2026, 11, 24), 0), (DAY, 125)]
    assert again.currency == "EUR"


def test_broken_history_file_starts_afresh(tmp_path) -> None:
    path = tmp_path / "h.json"
    path.write_text("{not json")
    assert History(path).impact_since(DAY) == []


def test_periods_count_only_days_inside(tmp_path) -> None:
    history = History()
    history.record_streams([stat("alex", 100, 1)], date(2026, 11, 1))
    history.record_streams([stat("alex", 300, 2)], DAY)
    assert history.impact_since(DAY)[0].bytes_served == 200
    assert history.impact_since(date(2026, 11, 1))[0].bytes_served == 300
