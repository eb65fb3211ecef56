"""One palette for the whole app, light or dark as the system says (Fusion + a small sheet)."""

import os
from dataclasses import dataclass

from desktop_app.ui.qt import QApplication, QColor, QGuiApplication, QPalette, Qt

__all__ = [
    "DARK",
    "LIGHT",
    "Theme",
    "apply_theme",
    "apply_theme_once",
    "current_theme",
    "force_scheme",
    "is_dark",
]


@dataclass(frozen=True)
class Theme:
    """The colours every widget takes from (tones match the tray icons in assets/)."""

    name: str
    window: str
    card: str
    text: str
    muted: str
    border: str
    accent: str
    ok: str
    warn: str
    error: str
    idle: str


LIGHT = Theme(
    "light", "#f4f6f8", "#ffffff", "#1d2330", "#5b6472", "#dde2e8",
    "#2f80ed", "#1e8e3e", "#b26a00", "#c62828", "#6c757d",
)  # fmt: skip
DARK = Theme(
    "dark", "#16191f", "#20242c", "#e8ebf0", "#a0a8b4", "#323844",
    "#5aa2ff", "#4cc26b", "#f0a33a", "#ff6b6b", "#9aa3ad",
)  # fmt: skip


_forced: bool | None = None


def force_scheme(dark: bool | None) -> None:
    """Use dark (True) or light (False) whatever the system says; None follows it again.

    For screenshots and for platforms that cannot switch the scheme on request.
    """
    global _forced
    _forced = dark


def is_dark() -> bool:
    """Whether the system asks for dark mode ($STREAMR_THEME=dark|light or a test overrides)."""
    if _forced is not None:
        return _forced
    env = os.environ.get("STREAMR_THEME", "").lower()
    if env in ("dark", "light"):
        return env == "dark"
    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


def current_theme() -> Theme:
    """The theme matching the system's colour scheme now."""
    return DARK if is_dark() else LIGHT


def _palette(theme: Theme) -> QPalette:
    palette = QPalette()
    role = QPalette.ColorRole
    for item, colour in (
        (role.Window, theme.window),
        (role.WindowText, theme.text),
        (role.Base, theme.card),
        (role.AlternateBase, theme.window),
        (role.Text, theme.text),
        (role.Button, theme.card),
        (role.ButtonText, theme.text),
        (role.Highlight, theme.accent),
        (role.HighlightedText, "#ffffff"),
        (role.ToolTipBase, theme.card),
        (role.ToolTipText, theme.text),
        (role.PlaceholderText, theme.muted),
        (role.Link, theme.accent),
        (role.Mid, theme.border),
        (role.BrightText, theme.warn),
    ):
        palette.setColor(item, QColor(colour))
    palette.setColor(QPalette.ColorGroup.Disabled, role.Text, QColor(theme.muted))
    palette.setColor(QPalette.ColorGroup.Disabled, role.ButtonText, QColor(theme.muted))
    palette.setColor(QPalette.ColorGroup.Disabled, role.WindowText, QColor(theme.muted))
    return palette


SHEET = """
QFrame#card { background: palette(base); border: 1px solid palette(mid); border-radius: 10px; }
QLabel#muted { color: palette(placeholder-text); }
QLabel#figure { font-size: 20px; font-weight: 600; }
QLabel#headline { font-size: 18px; font-weight: 600; }
QLabel#note { background: palette(base); border: 1px solid palette(bright-text);
    border-radius: 8px; padding: 8px; }
QPushButton#primary { background: palette(highlight); color: palette(highlighted-text);
    border: none; border-radius: 6px; padding: 7px 16px; font-weight: 600; }
QPushButton#primary:disabled { background: palette(mid); color: palette(placeholder-text); }
QTabWidget::pane { border: none; }
"""
"""Set once: its colours come from the palette, so a scheme change swaps only the palette
(replacing a live style sheet while a wizard is shown crashed Qt)."""


def apply_theme(app: QApplication | None = None) -> Theme:
    """Style the application for the system's scheme now; call again when it changes."""
    app = app or QApplication.instance()  # type: ignore[assignment]
    theme = current_theme()
    if isinstance(app, QApplication):
        if app.property("streamr_themed") is not True:
            app.setStyle("Fusion")
            app.setStyleSheet(SHEET)
            app.setProperty("streamr_themed", True)
            app.styleHints().colorSchemeChanged.connect(lambda _scheme: apply_theme(app))
        app.setPalette(_palette(theme))
        style = app.style()
        for widget in app.allWidgets():  # the sheet's palette() colours are read at polish
            style.unpolish(widget)
            style.polish(widget)
            widget.update()
    return theme


def apply_theme_once() -> None:
    """Style the application unless it already is: the tray app does it when its first menu,
    window or message is about to show, so the idle tray never loads the style (issue 17)."""
    app = QApplication.instance()
    if isinstance(app, QApplication) and app.property("streamr_themed") is not True:
        apply_theme(app)
