"""Live preview of the local relay: python-vlc inside the window, else QtMultimedia, else a note."""

import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from desktop_app.core.relay.preview_agent import PREVIEW_AGENT
from desktop_app.ui.qt import (
    HAVE_MULTIMEDIA,
    QGuiApplication,
    QLabel,
    QMediaPlayer,
    QStackedWidget,
    Qt,
    QTimer,
    QUrl,
    QVBoxLayout,
    QVideoWidget,
    QWidget,
    Signal,
)

__all__ = ["BACKENDS", "PreviewWidget", "load_vlc"]

logger = logging.getLogger(__name__)
BACKENDS = ("vlc", "qtmultimedia")
NATIVE_PLATFORMS = ("xcb", "windows", "cocoa")
NO_PLAYER = (
    "The preview needs VLC: install VLC (on Debian/Ubuntu: sudo apt install vlc) and reopen "
    "this tab. Relaying works without it."
)
NO_DISPLAY = "The preview needs a desktop display; relaying works without it."


def load_vlc() -> Any | None:
    """A libvlc instance, or None where python-vlc or libvlc is missing."""
    try:
        import vlc

        instance = vlc.Instance(
            ["--quiet", "--no-video-title-show", "--no-audio", "--network-caching=1500"]
        )
    except (ImportError, OSError, NameError, AttributeError) as exc:
        logger.warning("preview: libvlc unavailable: %s", exc)
        return None
    if instance is None:  # libvlc loaded but could not start: no plugins next to it
        library = getattr(getattr(vlc, "dll", None), "_name", "?")
        logger.warning(
            "preview: libvlc %s could not start (VLC_PLUGIN_PATH=%s); is VLC installed whole?",
            library,
            os.environ.get("VLC_PLUGIN_PATH", ""),
        )
        return None
    logger.info("preview: libvlc %s", getattr(getattr(vlc, "dll", None), "_name", "?"))
    return instance


class PreviewWidget(QWidget):
    """Plays a relay playlist URL; says clearly why when it cannot.

    Signals:
        message_changed(str): the note shown instead of video ("" while video plays).
        frame_shown(int, int): the first decoded frame of this play (width, height).
    """

    message_changed = Signal(str)
    frame_shown = Signal(int, int)

    def __init__(self, backends: Sequence[str] = BACKENDS, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.backends = tuple(backends)
        self.backend = ""
        self.url = ""
        self.message = ""
        self._vlc: Any | None = None
        self._player: Any | None = None
        self._video: Any | None = None
        self._stack = QStackedWidget()
        self.surface = QWidget()
        self.surface.setAttribute(Qt.WidgetAttribute.WA_NativeWindow)
        self.surface.setStyleSheet("background: black;")
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._stack.addWidget(self.surface)
        self._stack.addWidget(self.note)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._stack)
        self._show_note("Press Play to watch what your computer passes on.")
        self.frame_size: tuple[int, int] | None = None
        self._frames = QTimer(self)
        self._frames.setInterval(200)
        self._frames.timeout.connect(self._check_frame)

    def _show_note(self, text: str) -> None:
        self.message = text
        self.note.setText(text)
        self._stack.setCurrentWidget(self.note)
        self.message_changed.emit(text)

    def play(self, url: str) -> str:
        """Start playing `url`; return the backend used ("" when none could)."""
        self.stop()
        self.url = url
        native = QGuiApplication.platformName() in NATIVE_PLATFORMS
        for backend in self.backends:
            if backend == "vlc" and native and self._play_vlc(url):
                self.backend = "vlc"
                break
            if backend == "qtmultimedia" and HAVE_MULTIMEDIA and self._play_qt(url):
                self.backend = "qtmultimedia"
                break
        else:
            self.backend = ""
            self._show_note(NO_PLAYER if native or not self.backends else NO_DISPLAY)
            return ""
        self.message = ""
        self.message_changed.emit("")
        logger.info("preview of %s with %s", url, self.backend)
        return self.backend

    def _play_vlc(self, url: str) -> bool:
        if self._vlc is None:
            self._vlc = load_vlc()
        if self._vlc is None:
            return False
        player = self._vlc.media_player_new()
        media = self._vlc.media_new(url)
        media.add_option(f":http-user-agent={PREVIEW_AGENT}")  # the relay counts no viewer
        player.set_media(media)
        handle = int(self.surface.winId())
        if sys.platform.startswith("win"):
            player.set_hwnd(handle)
        elif sys.platform == "darwin":
            player.set_nsobject(handle)
        else:
            player.set_xwindow(handle)
        player.audio_set_mute(True)
        self._stack.setCurrentWidget(self.surface)
        if player.play() != 0:
            player.release()
            return False
        self._player = player
        self.frame_size = None
        self._frames.start()
        return True

    def _check_frame(self) -> None:
        """Note the first decoded frame (libvlc knows the video size once it decoded one)."""
        player = self._player
        if player is None or self.backend != "vlc":
            self._frames.stop()
            return
        width, height = player.video_get_size(0) or (0, 0)
        if width and height:
            self._frames.stop()
            self.frame_size = (width, height)
            logger.info("preview: first frame %dx%d", width, height)
            self.frame_shown.emit(width, height)

    def _play_qt(self, url: str) -> bool:
        player = QMediaPlayer(self)
        if not player.isAvailable():  # QtMultimedia without a working backend (FFmpeg plugin)
            logger.info("QtMultimedia has no usable backend")
            player.deleteLater()
            return False
        video = QVideoWidget()
        player.setVideoOutput(video)
        player.setSource(QUrl(url))
        self._stack.addWidget(video)
        self._stack.setCurrentWidget(video)
        player.play()
        self._player, self._video = player, video
        return True

    def playing(self) -> bool:
        """Whether a backend is playing."""
        return self._player is not None

    def stop(self) -> None:
        """Stop and release the player."""
        player, self._player = self._player, None
        self._frames.stop()
        if player is None:
            return
        if self.backend == "vlc":
            player.stop()
            player.release()
        else:
            player.stop()
            player.deleteLater()
            if self._video is not None:
                self._stack.removeWidget(self._video)
                self._video.deleteLater()
                self._video = None
        self.backend = ""
        self._show_note("Preview stopped.")
