"""One palette for the whole app, light or dark as the system says (Fusion + a small sheet)."""

from dataclasses import dataclass

from desktop_app.ui.qt import QApplication, QColor, QGuiApplication, QPalette, Qt

__all__ = ["DARK", "LIGHT", "Theme", "apply_theme", "current_theme", "is_dark"]


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


def is_dark() -> bool:
    """Whether the system (or a test) asks for dark mode."""
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
    ):
        palette.setColor(item, QColor(colour))
    palette.setColor(QPalette.ColorGroup.Disabled, role.Text, QColor(theme.muted))
    palette.setColor(QPalette.ColorGroup.Disabled, role.ButtonText, QColor(theme.muted))
    palette.setColor(QPalette.ColorGroup.Disabled, role.WindowText, QColor(theme.muted))
    return palette


def _sheet(t: Theme) -> str:
    return f"""
QFrame#card {{ background: {t.card}; border: 1px solid {t.border}; border-radius: 10px; }}
QLabel#muted {{ color: {t.muted}; }}
QLabel#figure {{ font-size: 20px; font-weight: 600; }}
QLabel#headline {{ font-size: 18px; font-weight: 600; }}
QLabel#note {{ background: {t.card}; border: 1px solid {t.warn}; border-radius: 8px;
    padding: 8px; }}
QPushButton#primary {{ background: {t.accent}; color: #ffffff; border: none;
    border-radius: 6px; padding: 7px 16px; font-weight: 600; }}
QPushButton#primary:disabled {{ background: {t.border}; color: {t.muted}; }}
QTabWidget::pane {{ border: none; }}
"""


def apply_theme(app: QApplication | None = None) -> Theme:
    """Style the application for the system's scheme now; call again when it changes."""
    app = app or QApplication.instance()  # type: ignore[assignment]
    theme = current_theme()
    if isinstance(app, QApplication):
        app.setStyle("Fusion")
        app.setPalette(_palette(theme))
        app.setStyleSheet(_sheet(theme))
    return theme
