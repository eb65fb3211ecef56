"""Load the icons made in `assets/` (PNG sizes rendered from the SVG sources)."""

import os
import sys
from functools import cache
from pathlib import Path

from desktop_app.ui.qt import QIcon

__all__ = ["asset_dir", "app_icon", "tray_icon"]

TRAY_SIZES = (16, 22, 24, 32, 48, 64, 128)
APP_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def asset_dir() -> Path:
    """The assets folder: $STREAMR_ASSETS, the PyInstaller bundle, the source tree, or where
    a pip install put them (`share/streamrp2p/assets` under the environment's prefix)."""
    if env := os.environ.get("STREAMR_ASSETS"):
        return Path(env)
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "assets"
    source = Path(__file__).resolve().parents[2] / "assets"
    if source.is_dir():
        return source
    return Path(sys.prefix) / "share" / "streamrp2p" / "assets"


def _icon(prefix: str, sizes: tuple[int, ...]) -> QIcon:
    icon = QIcon()
    folder = asset_dir() / "png"
    for size in sizes:
        path = folder / f"{prefix}-{size}.png"
        if path.exists():
            icon.addFile(str(path))
    return icon


@cache
def tray_icon(state: str) -> QIcon:
    """The tray icon for a TrayState value (idle, relaying, warning, error)."""
    return _icon(f"tray-{state}", TRAY_SIZES)


@cache
def app_icon() -> QIcon:
    """The application icon (window, wizard, notifications)."""
    return _icon("app", APP_SIZES)
