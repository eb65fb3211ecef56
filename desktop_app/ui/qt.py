"""The one place the tray app imports Qt (PySide6) and qasync; every UI module imports from here.

QtMultimedia ships only with PySide6-Addons; `HAVE_MULTIMEDIA` says whether it is importable.
"""

import importlib
import linecache
import sys
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec

from PySide6.QtCore import (
    QByteArray,
    QEvent,
    QLocale,
    QObject,
    QPoint,
    QPointF,
    QRect,
    QRectF,
    QSize,
    QSocketNotifier,
    QStandardPaths,
    Qt,
    QTimer,
    QUrl,
    Signal,
    Slot,
)
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QColor,
    QDesktopServices,
    QFont,
    QGuiApplication,
    QIcon,
    QImage,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QPixmap,
    QScreen,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QStackedWidget,
    QSystemTrayIcon,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)
from qasync import QEventLoop
from qasync import asyncSlot as _async_slot

_P = ParamSpec("_P")


def _mentions_pyside(module: object) -> bool:
    """Whether `module`'s source mentions PySide6, read without keeping it (see below)."""
    try:
        source = module.__spec__.loader.get_source(module.__name__)  # type: ignore[attr-defined]
    except (AttributeError, ImportError, OSError, SyntaxError, UnicodeDecodeError):
        return False
    return isinstance(source, str) and "PySide6" in source


def _stop_keeping_sources() -> None:
    """PySide6 asks of every module imported after it whether its source mentions PySide6
    (for `from __feature__ import ...`), through `inspect.getsource`: linecache then keeps the
    whole source of every module, 16 MB in the joined tray app (issue 17). Ask the same of the
    module's loader, which keeps nothing. No-op if a PySide6 release drops the check."""
    feature = sys.modules.get("shibokensupport.feature")
    if feature is not None and callable(getattr(feature, "_mod_uses_pyside", None)):
        feature._mod_uses_pyside = _mentions_pyside  # type: ignore[attr-defined]
        linecache.clearcache()  # what PySide6's own start-up imports left (~1 MB), reused later


_stop_keeping_sources()
QMediaPlayer: Any = None
QVideoWidget: Any = None
try:  # PySide6-Essentials alone has no QtMultimedia; PySide6-Addons brings it
    QMediaPlayer = importlib.import_module("PySide6.QtMultimedia").QMediaPlayer
    QVideoWidget = importlib.import_module("PySide6.QtMultimediaWidgets").QVideoWidget
except ImportError:
    pass
HAVE_MULTIMEDIA = QMediaPlayer is not None and QVideoWidget is not None


def qt_network() -> Any:
    """PySide6.QtNetwork, loaded on first use: only Windows' single-instance pipe needs it
    (2.7 MB the idle tray does not hold elsewhere, issue 17)."""
    return importlib.import_module("PySide6.QtNetwork")


def asyncSlot(
    *types: type,
) -> Callable[[Callable[_P, Coroutine[Any, Any, None]]], Callable[_P, Any]]:
    """qasync's asyncSlot with types: the slot runs as a task on the Qt-driven asyncio loop."""
    decorator: Callable[[Callable[_P, Coroutine[Any, Any, None]]], Callable[_P, Any]]
    decorator = _async_slot(*types)
    return decorator


__all__ = [
    "HAVE_MULTIMEDIA",
    "QAction",
    "QApplication",
    "QByteArray",
    "QCheckBox",
    "QCloseEvent",
    "QColor",
    "QDesktopServices",
    "QDoubleSpinBox",
    "QEvent",
    "QEventLoop",
    "QFont",
    "QFormLayout",
    "QFrame",
    "QGridLayout",
    "QGroupBox",
    "QGuiApplication",
    "QHBoxLayout",
    "QHeaderView",
    "QIcon",
    "QImage",
    "QLabel",
    "QLineEdit",
    "QListWidget",
    "QListWidgetItem",
    "QLocale",
    "QMainWindow",
    "QMediaPlayer",
    "QMenu",
    "QMessageBox",
    "QObject",
    "QPaintEvent",
    "QPainter",
    "QPalette",
    "QPen",
    "QPixmap",
    "QPoint",
    "QPointF",
    "QProgressBar",
    "QPushButton",
    "QRect",
    "QRectF",
    "QScreen",
    "QScrollArea",
    "QShowEvent",
    "QSize",
    "QSocketNotifier",
    "QSizePolicy",
    "QSpinBox",
    "QStackedWidget",
    "QStandardPaths",
    "QSystemTrayIcon",
    "QTabWidget",
    "QTableWidget",
    "QTableWidgetItem",
    "QTextBrowser",
    "QTimer",
    "QUrl",
    "QVBoxLayout",
    "QVideoWidget",
    "QWidget",
    "QWizard",
    "QWizardPage",
    "Qt",
    "Signal",
    "Slot",
    "asyncSlot",
    "qt_network",
]
