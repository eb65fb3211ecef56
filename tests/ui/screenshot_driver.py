"""Run the real tray app (run_gui) under X, walk through what a friend sees, save screenshots.

    python tests/ui/screenshot_driver.py OUT_DIR DATA_DIR RELAY_PORT INVITE_LINK

Prints one JSON line of findings for the test; exits with run_gui's code.
"""

import asyncio
import faulthandler
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from desktop_app.core import events as ev
from desktop_app.core.config import NodeConfig
from desktop_app.ui.app import run_gui
from desktop_app.ui.model import TrayState
from desktop_app.ui.qt import QApplication, QGuiApplication, QPoint, QRect, QWidget
from desktop_app.ui.theme import apply_theme, force_scheme
from desktop_app.ui.tray_app import TrayApp

OUT, DATA_DIR, RELAY_PORT, INVITE = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
findings: dict[str, object] = {}


async def until(condition: Callable[[], object], timeout: float = 30, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


def grab(name: str, rect: QRect | None = None) -> Path:
    """Screenshot the X root (or a part): what is on screen, VLC output included."""
    screen = QGuiApplication.primaryScreen()
    if rect is None:
        pixmap = screen.grabWindow(0)
    else:
        pixmap = screen.grabWindow(0, rect.x(), rect.y(), rect.width(), rect.height())
    path = OUT / f"{name}.png"
    pixmap.save(str(path))
    return path


def frame(widget: QWidget) -> QRect:
    return widget.frameGeometry().adjusted(-2, -2, 2, 2)


async def settle(widget: QWidget | None = None) -> None:
    await asyncio.sleep(0.6)
    QGuiApplication.processEvents()


def set_scheme(dark: bool) -> None:
    """Switch the colour scheme (Xvfb has no platform theme to ask, so the app's override)."""
    force_scheme(dark)
    apply_theme()
    for widget in QApplication.topLevelWidgets():
        widget.update()


async def both_schemes(name: str, widget: QWidget) -> None:
    """Screenshot `widget` in light and in dark mode: NAME-light.png, NAME-dark.png."""
    for dark in (False, True):
        set_scheme(dark)
        await settle()
        grab(f"{name}-{'dark' if dark else 'light'}", frame(widget))
    set_scheme(False)


async def drive(app: TrayApp) -> None:
    try:
        findings["tray_available"] = app.has_tray
        wizard = app.wizard
        assert wizard is not None, "the wizard did not open on first run"
        wizard.move(40, 60)
        await until(wizard.invite_page.isComplete, what="the invite check")
        await both_schemes("wizard-1-invite", wizard)
        wizard.next()
        wizard.profile_page.display_name.setText("Sam")
        wizard.profile_page.payout_handle.setText("@sam-venmo")
        await both_schemes("wizard-2-about-you", wizard)
        wizard.next()  # Join
        await until(lambda: wizard.done_page.checked, 40, "joining and the port check")
        await both_schemes("wizard-3-done", wizard)
        findings["wizard_result"] = wizard.done_page.summary.text()
        wizard.accept()

        model = app.model
        await until(lambda: model.state is TrayState.RELAYING, what="relaying")
        await until(lambda: any(s.live for s in model.streams.values()), 40, "a live stream")
        await until(lambda: model.probes_passed >= 1 and model.today_minor > 0, 40, "a check")
        await asyncio.sleep(2.5)  # a stats poll, so the window has numbers
        assert app.tray is not None
        icon_rect = app.tray.icon.geometry()
        findings["tray_icon_geometry"] = [icon_rect.x(), icon_rect.y(), icon_rect.width()]
        icon = grab("tray-icon", icon_rect)
        image = (
            QGuiApplication.primaryScreen()
            .grabWindow(0, icon_rect.x(), icon_rect.y(), icon_rect.width(), icon_rect.height())
            .toImage()
        )
        center = image.pixelColor(image.width() // 2, image.height() // 4)
        findings["tray_icon_center"] = center.name()
        findings["tray_icon_file"] = icon.name
        app.tray.menu.popup(QPoint(icon_rect.x() - 150, icon_rect.bottom() + 4))
        await settle()
        grab("tray-menu")
        findings["menu"] = [a.text() for a in app.tray.menu.actions() if a.text() and a.isVisible()]
        app.tray.menu.hide()

        window = app.window
        window.move(40, 60)
        for index in range(window.tabs.count()):
            name = window.tabs.tabText(index)
            window.show_tab(name)
            if name == "Preview":
                window.preview_tab.start()
                player = window.preview_tab.player
                findings["preview_backend"] = player.backend
                await until(lambda p=player: p.frame_size is not None, 30, "a preview frame")
                findings["preview_frame"] = list(player.frame_size or ())
                await asyncio.sleep(2)
            await both_schemes(f"window-{index + 1}-{name.lower()}", window)
        window.preview_tab.stop()
        window.show_tab("Overview")
        findings["headline"] = window.banner.text()

        # the other states a friend may meet, each as the window shows it
        assert app.controller is not None
        app.controller.pause_for("hour")
        await until(lambda: model.paused, 10, "pausing")
        await both_schemes("state-paused", window)
        findings["paused_headline"] = window.banner.text()
        app.controller.toggle_supporting()
        await until(lambda: not model.paused, 10, "resuming")
        model.apply_event(ev.RelayReachabilityChecked(False, "timeout"))
        await both_schemes("state-not-reachable", window)
        model.apply_event(ev.RelayReachabilityChecked(True, "ok"))
        model.apply_event(ev.NodeFailed("relay port 8090 is not usable", True, "port"))
        await both_schemes("state-port-taken", window)
        model.apply_event(ev.RelayStarted("127.0.0.1", RELAY_PORT, ""))
        window.hide()

        # a second launch hands over to this one and exits
        env = dict(os.environ)
        second = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "desktop_app",
            "--data-dir",
            DATA_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
        )
        output, _ = await asyncio.wait_for(second.communicate(), 60)
        findings["second_launch"] = [second.returncode, output.decode().strip()[-200:]]
        await until(window.isVisible, 10, "the window brought to the front")
        findings["window_raised"] = True
        findings["state_before_quit"] = model.state.value
    except Exception as exc:  # report, then quit cleanly all the same
        findings["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        print(json.dumps(findings), flush=True)
        faulthandler.dump_traceback_later(30, exit=True)  # a hang after Quit shows its stacks
        if app.tray is not None:
            app.tray.quit_action.trigger()
        else:
            app.on_quit_requested()


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    config = NodeConfig(
        data_dir=Path(DATA_DIR),
        relay_host="127.0.0.1",
        relay_port=RELAY_PORT,
        status_port=0,
        invite=INVITE,
        heartbeat_backoff_max_s=1,
        earnings_interval_s=2,
    )
    return run_gui(config, on_started=lambda app: asyncio.ensure_future(drive(app)))


if __name__ == "__main__":
    sys.exit(main())
