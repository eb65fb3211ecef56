"""`run_gui(config)`: the tray app's entry point (what `streamr-node` runs without --headless)."""

import asyncio
import logging
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from desktop_app.core.config import NodeConfig
from desktop_app.ui.controller import NodeLike
from desktop_app.ui.errors import InstanceError
from desktop_app.ui.history import History
from desktop_app.ui.icons import app_icon
from desktop_app.ui.logs import setup_logging
from desktop_app.ui.node_settings import forget_identity, node_config, read_invite
from desktop_app.ui.portmap import PortMapping
from desktop_app.ui.qt import QApplication, QEventLoop
from desktop_app.ui.settings import TraySettings, log_dir
from desktop_app.ui.single_instance import ACTIVATE, SingleInstance, server_name
from desktop_app.ui.tray_app import TrayApp
from streamr_protocol.invite import InviteLink

__all__ = ["LazyJoinBackend", "build_tray_app", "run_gui"]

logger = logging.getLogger(__name__)
HISTORY_FILE = "tray-history.json"


class LazyJoinBackend:
    """The wizard's backend, loading the node core on first use (the icon shows sooner)."""

    def __init__(self, config: NodeConfig) -> None:
        self.config = config
        self.upnp_options: dict[str, Any] = {}
        self._backend: Any = None

    def _core(self) -> Any:
        if self._backend is None:
            from desktop_app.ui.core_adapter import CoreJoinBackend

            self._backend = CoreJoinBackend(self.config)
        self._backend.upnp_options = self.upnp_options
        return self._backend

    async def check_coordinator(self, invite: InviteLink) -> str:
        return str(await self._core().check_coordinator(invite))

    async def join(
        self, invite: InviteLink, display_name: str, payout_handle: str, relay_port: int
    ) -> str:
        return str(await self._core().join(invite, display_name, payout_handle, relay_port))

    async def map_port(self, port: int) -> PortMapping:
        mapping: PortMapping = await self._core().map_port(port)
        return mapping

    async def check_reachability(self, port: int, lan: str = "") -> tuple[bool, str]:
        reachable, note = await self._core().check_reachability(port, lan)
        return bool(reachable), str(note)


def build_tray_app(
    config: NodeConfig, settings: TraySettings, has_tray: bool | None = None
) -> TrayApp:
    """Put the app together around the real node core (loaded when the node starts)."""
    joined = config.identity_path.exists()

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
    tray_app.start(invite_text="" if tray_app.joined else invite_text)
    if on_started is not None:
        on_started(tray_app)
    with loop:
        loop.run_until_complete(done.wait())
    instance.close()
    logger.info("StreamrP2P tray app stopped")
    return 0
