"""Logs go to the platform's log folder and rotate."""

import logging

from desktop_app.ui.logs import setup_logging
from desktop_app.ui.settings import log_dir


def test_logs_rotate_in_the_platform_log_folder(home) -> None:
    folder = log_dir()
    assert folder == home / ".local" / "state" / "StreamrP2P" / "log"
    path = setup_logging(folder, max_bytes=2000, backups=2)
    try:
        for i in range(200):
            logging.getLogger("test").info("line %d of a long enough log message", i)
        assert path.exists() and (folder / "streamrp2p.log.1").exists()
        assert not (folder / "streamrp2p.log.3").exists()
        assert "line 199" in path.read_text()
    finally:
        for handler in list(logging.getLogger().handlers):
            if handler.get_name() == "streamrp2p":
                logging.getLogger().removeHandler(handler)
                handler.close()
