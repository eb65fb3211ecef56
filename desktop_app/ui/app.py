"""`run_gui(config)`: the tray app's entry point (what `streamr-node` runs without --headless)."""

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from desktop_app.core.config import NodeConfig
from desktop_app.core.portmap import PortMapping
from desktop_app.core.version import node_version
from desktop_app.ui.controller import NodeLike
from desktop_app.ui.errors import InstanceError, JoinError
from desktop_app.ui.history import History
from desktop_app.ui.icons import app_icon
from desktop_app.ui.logs import setup_logging
from desktop_app.ui.node_settings import forget_identity, node_config, read_invite
from desktop_app.ui.qt import QApplication, QEventLoop, QTimer
from desktop_app.ui.settings import TraySettings, log_dir
from desktop_app.ui.single_instance import ACTIVATE, SingleInstance, server_name
from desktop_app.ui.tray_app import TrayApp
from streamr_protocol.invite import InviteLink

__all__ = ["LazyJoinBackend", "build_tray_app", "run_gui"]

logger = logging.getLogger(__name__)
T = TypeVar("T")
HISTORY_FILE = "tray-history.json"


class LazyJoinBackend:
    """The wizard's backend: the core's Onboarding, run on a core thread started on first use
    (the icon shows sooner); core errors become JoinError with the friend's sentence."""

    def __init__(self, config: NodeConfig) -> None:
        self.config = config
        self.upnp_options: dict[str, Any] = {}
        self._core: Any = None
        self._onboarding: Any = None

    async def _run(self, call: Callable[[Any], Coroutine[Any, Any, T]]) -> T:
        from desktop_app.core.errors import Error, InviteRefused
        from desktop_app.core.onboarding import Onboarding
        from desktop_app.ui.core_thread import CoreThread

        if self._core is None:
            self._core = CoreThread("wizard-core")
            self._onboarding = Onboarding(self.config)
        self._onboarding.upnp_options = self.upnp_options
        try:
            result: T = await self._core.run(call(self._onboarding))
        except InviteRefused as exc:
            raise JoinError(sentence(str(exc)), invite_problem=True) from exc
        except Error as exc:
            raise JoinError(sentence(str(exc))) from exc
        return result

    async def check_coordinator(self, invite: InviteLink) -> str:
        return await self._run(lambda core: core.check_invite(invite))

    async def join(
        self, invite: InviteLink, display_name: str, payout_handle: str, relay_port: int
    ) -> str:
        return await self._run(
            lambda core: core.join(invite, display_name, payout_handle, relay_port)
        )

    async def map_port(self, port: int) -> PortMapping:
        return await self._run(lambda core: core.map_port(port))

    async def check_reachability(self, port: int, lan: str = "") -> tuple[bool, str]:
        return await self._run(lambda core: core.check_reachability(port, lan))

    def close(self) -> None:
        """Stop the core thread (if it was started)."""
        if self._core is not None:
            self._core.stop()


def sentence(text: str) -> str:
    """`text` as a sentence: capital first, one full stop."""
    text = text.strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith(("?", "!", ".")) else text + "."


def stop_on_signals(tray_app: TrayApp) -> QTimer:
    """SIGTERM and SIGINT quit cleanly (the relay stops, the history is saved).

    Python runs signal handlers only between bytecodes: a short timer gives it the chance
    while Qt waits in its event loop.
    """

    def handler(signum: int, frame: object) -> None:
        logger.info("signal %d: quitting", signum)
        QTimer.singleShot(0, tray_app.on_quit_requested)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, handler)
    ticker = QTimer(tray_app)
    ticker.setInterval(250)
    ticker.timeout.connect(lambda: None)
    ticker.start()
    return ticker


def preview_self_test(tray_app: TrayApp, url: str) -> None:
    """Open the window and play `url` in the preview; log whether a frame was decoded.

    $STREAMR_PREVIEW_SELFTEST=URL runs it at start: the bundle's smoke test uses it.
    """
    player = tray_app.window.preview_tab.player
    tray_app.window.show_tab("Preview")
    player.frame_shown.connect(
        lambda width, height: logger.info("preview self-test: frame %dx%d", width, height)
    )
    backend = player.play(url)
    logger.info("preview self-test: playing %s with %s", url, backend or "nothing")


def prefilled(config: NodeConfig, settings: TraySettings) -> TraySettings:
    """The settings with what the command line gave (--name, --payout-handle, --relay-port),
    so the wizard starts filled in; saved only when the friend joins."""
    given = config.model_fields_set
    update: dict[str, object] = {}
    if "name" in given and config.name:
        update["display_name"] = config.name
    if "payout_handle" in given and config.payout_handle:
        update["payout_handle"] = config.payout_handle
    if "relay_port" in given and config.relay_port:
        update["relay_port"] = config.relay_port
    return settings.model_copy(update=update) if update else settings


def build_tray_app(
    config: NodeConfig, settings: TraySettings, has_tray: bool | None = None
) -> TrayApp:
    """Put the app together around the real node core (loaded when the node starts)."""
    joined = config.identity_path.exists()
    settings = prefilled(config, settings)

    def current_host() -> str | None:
        try:
            identity = config.load_identity()
        except Exception:  # a damaged identity: the node's start says so
            return None
        return identity.coordinator_url if identity else None

    def make_node(current: TraySettings) -> NodeLike:
        from desktop_app.core.node import Node
        from desktop_app.ui.core_thread import ThreadedNode

        node = Node(node_config(config, current))
        node.set_unsupported(current.unsupported_streams)
        return ThreadedNode(node)

    return TrayApp(
        node_factory=make_node,
        join_backend=LazyJoinBackend(node_config(config, settings)),
        settings=settings,
        settings_folder=None,
        history=History(config.data_dir / HISTORY_FILE),
        joined=joined,
        forget_identity=lambda: forget_identity(config),
        has_tray=has_tray,
        current_host=current_host,
        reserved_ports={config.status_port} - {0},
        version=node_version(),
    )


def run_gui(config: NodeConfig, on_started: Callable[[TrayApp], object] | None = None) -> int:
    """Run the tray app until the friend quits; return the exit code.

    Args:
        on_started: called with the TrayApp once it started (embedding, screenshots, tests).
    """
    log_path = setup_logging(log_dir())
    logger.info("StreamrP2P tray app starting; log file %s", log_path)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("StreamrP2P")
    app.setDesktopFileName("streamrp2p")
    app.setWindowIcon(app_icon())
    app.setQuitOnLastWindowClosed(False)

    invite_text = read_invite(config.invite)
    instance = SingleInstance(server_name(str(config.data_dir)))
    if instance.forward(invite_text or ACTIVATE):
        print("StreamrP2P is already running: it was brought to the front.")
        return 0
    try:
        instance.listen()
    except InstanceError as exc:
        logger.warning("%s; a second launch will start another copy", exc)

    loop = QEventLoop(app)
    loop.set_default_executor(ThreadPoolExecutor(4, thread_name_prefix="tray"))
    asyncio.set_event_loop(loop)
    settings = TraySettings.load()
    tray_app = build_tray_app(config, settings)
    instance.message_received.connect(tray_app.on_instance_message)
    if not tray_app.has_tray:
        logger.warning("this desktop shows no tray icons: the window stands in for the tray")
    done = asyncio.Event()
    tray_app.finished.connect(done.set)
    stop_on_signals(tray_app)
    tray_app.start(invite_text="" if tray_app.joined else invite_text)
    if selftest := os.environ.get("STREAMR_PREVIEW_SELFTEST"):
        preview_self_test(tray_app, selftest)
    if on_started is not None:
        on_started(tray_app)
    with loop:
        loop.run_until_complete(done.wait())
    instance.close()
    logger.info("StreamrP2P tray app stopped")
    return 0
