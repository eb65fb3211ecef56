"""When the friend's own limits say "not now": a monthly data cap and hours of the day; Qt-free."""

from datetime import date, datetime, time, timedelta

from desktop_app.ui.settings import TraySettings

__all__ = ["limit_pause", "month_start", "pause_until"]


def month_start(day: date) -> date:
    """The first day of `day`'s month."""
    return day.replace(day=1)


def limit_pause(
    settings: TraySettings, now: datetime, month_bytes: int
) -> tuple[str, datetime] | None:
    """(why, until when) when the cap or the schedule says to pause now; None to help.

    `now` is local time (aware); `month_bytes` what was served since the month began.
    """
    if settings.monthly_cap_gb and month_bytes >= settings.monthly_cap_gb * 1e9:
        first = month_start(now.date())
        following = (first + timedelta(days=32)).replace(day=1)
        until = datetime.combine(following, datetime.min.time(), now.tzinfo)
        return f"Paused: this month's {settings.monthly_cap_gb:g} GB are used", until
    start, end = settings.active_from_hour, settings.active_to_hour
    if (start, end) == (0, 24) or start == end:
        return None
    hour = now.hour
    inside = start <= hour < end if start < end else (hour >= start or hour < end)
    if inside:
        return None
    until = now.replace(hour=start, minute=0, second=0, microsecond=0)
    if until <= now:
        until += timedelta(days=1)
    return f"Paused outside your hours ({start}:00–{end}:00)", until


def pause_until(choice: str, now: datetime) -> datetime | None:
    """The end of a pause chosen in the menu: "hour", "tomorrow" (8:00 next day) or "" (none)."""
    if choice == "hour":
        return now + timedelta(hours=1)
    if choice == "tomorrow":
        return datetime.combine(now.date() + timedelta(days=1), time(8), now.tzinfo)
    return None
