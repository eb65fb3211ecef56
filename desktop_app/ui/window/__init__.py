"""The main window: status, earnings, impact, streams, preview and settings tabs."""

from desktop_app.ui.window.main_window import MainWindow

__all__ = ["MainWindow"]
