"""Charts drawn on the server as small, accessible inline SVG (no script needed)."""

from collections.abc import Sequence
from datetime import datetime
from html import escape

from markupsafe import Markup

__all__ = ["bar_chart", "sparkline"]

_W, _H, _PAD_L, _PAD_B, _PAD_T = 640, 180, 36, 22, 10


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if value <= step:
            return float(step)
    magnitude = 10 ** (len(str(int(value))) - 1)
    return float(((int(value) // magnitude) + 1) * magnitude)


def bar_chart(
    title: str,
    hours: Sequence[datetime],
    series: Sequence[tuple[str, str, Sequence[int]]],
) -> Markup:
    """Draw stacked hourly bars; `series` is (label, css class, values) from bottom to top.

    The SVG has a title and a text description (read by screen readers) and a legend.
    """
    count = len(hours)
    totals = [sum(values[i] for _, _, values in series) for i in range(count)]
    top = _nice_max(max(totals, default=0))
    plot_w, plot_h = _W - _PAD_L - 4, _H - _PAD_B - _PAD_T
    slot = plot_w / max(count, 1)
    parts = [
        f'<svg class="chart" viewBox="0 0 {_W} {_H}" role="img" '
        f'aria-labelledby="{_slug(title)}-t {_slug(title)}-d" preserveAspectRatio="none">',
        f'<title id="{_slug(title)}-t">{escape(title)}</title>',
        f'<desc id="{_slug(title)}-d">{escape(_describe(series, totals))}</desc>',
    ]
    for fraction in (0.0, 0.5, 1.0):
        y = _PAD_T + plot_h * (1 - fraction)
        parts.append(f'<line class="grid" x1="{_PAD_L}" x2="{_W - 4}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(
            f'<text class="axis" x="{_PAD_L - 4}" y="{y + 4:.1f}" text-anchor="end">'
            f"{_label(top * fraction)}</text>"
        )
    for i in range(count):
        x = _PAD_L + i * slot + slot * 0.15
        base = float(_PAD_T + plot_h)
        for label, css, values in series:
            height = plot_h * values[i] / top
            if height <= 0:
                continue
            base -= height
            parts.append(
                f'<rect class="{css}" x="{x:.1f}" y="{base:.1f}" width="{slot * 0.7:.1f}" '
                f'height="{height:.1f}"><title>{hours[i]:%H}:00 {escape(label)}: '
                f"{values[i]}</title></rect>"
            )
        if i % 6 == 0:
            parts.append(f'<text class="axis" x="{x:.1f}" y="{_H - 6}">{hours[i]:%H}:00</text>')
    parts.append("</svg>")
    legend = "".join(
        f'<span class="legend-item"><span class="swatch {css}"></span>{escape(label)}</span>'
        for label, css, _ in series
    )
    return Markup("".join(parts) + f'<div class="legend">{legend}</div>')


def sparkline(
    values: Sequence[float],
    label: str,
    low: float = 0.0,
    high: float = 1.0,
    mark: float | None = None,
) -> Markup:
    """Draw a small line of values between `low` and `high`; `mark` draws a dashed level."""
    width, height = 240, 48
    if not values:
        return Markup('<span class="muted">no history yet</span>')
    span = (high - low) or 1.0
    step = width / max(len(values) - 1, 1)
    points = " ".join(
        f"{i * step:.1f},{height - 4 - (height - 8) * (min(max(v, low), high) - low) / span:.1f}"
        for i, v in enumerate(values)
    )
    level = ""
    if mark is not None:
        y = height - 4 - (height - 8) * (mark - low) / span
        level = f'<line class="mark" x1="0" x2="{width}" y1="{y:.1f}" y2="{y:.1f}"/>'
    return Markup(
        f'<svg class="spark" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(label)}: from {values[0]:.2f} to {values[-1]:.2f}">'
        f'{level}<polyline points="{points}"/></svg>'
    )


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text.lower())


def _label(value: float) -> str:
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def _describe(series: Sequence[tuple[str, str, Sequence[int]]], totals: Sequence[int]) -> str:
    sums = ", ".join(f"{label} {sum(values)} in all" for label, _, values in series)
    busiest = max(totals, default=0)
    return f"Hourly bars over the last {len(totals)} hours; {sums}; busiest hour {busiest}."
