"""Logging to the platform's log folder with rotation, plus stderr; Qt-free (imports no Qt)."""

import logging
import logging.handlers
from pathlib import Path

__all__ = ["LOG_FILE", "setup_logging"]

LOG_FILE = "streamrp2p.log"
HANDLER_NAME = "streamrp2p"
FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def setup_logging(
    folder: Path, level: int = logging.INFO, max_bytes: int = 1_000_000, backups: int = 5
) -> Path:
    """Log to `folder`/streamrp2p.log (rotated: `backups` files of `max_bytes`) and stderr."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOG_FILE
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == HANDLER_NAME:
            root.removeHandler(handler)
            handler.close()
    file_handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
    )
    console = logging.StreamHandler()
    handlers: tuple[logging.Handler, ...] = (file_handler, console)
    for handler in handlers:
        handler.setFormatter(logging.Formatter(FORMAT))
        handler.set_name(HANDLER_NAME)
        root.addHandler(handler)
    root.setLevel(level)
    for chatty in ("httpx", "httpcore"):  # one line per request: the relay polls every second
        logging.getLogger(chatty).setLevel(max(level, logging.WARNING))
    return path
