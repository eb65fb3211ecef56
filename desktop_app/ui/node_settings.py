"""What the tray app derives from the node's config without loading the node core itself."""

import logging
from pathlib import Path

from desktop_app.core.config import NodeConfig
from desktop_app.ui.settings import TraySettings

__all__ = ["forget_identity", "node_config", "read_invite"]

logger = logging.getLogger(__name__)
INVITE_FILE_LIMIT = 4096


def node_config(base: NodeConfig, settings: TraySettings) -> NodeConfig:
    """The node's config: flags given on the command line win, then the friend's settings."""
    given = base.model_fields_set
    update: dict[str, object] = {}
    if "relay_port" not in given:
        update["relay_port"] = settings.relay_port
    if "upload_cap_mbit" not in given:
        update["upload_cap_mbit"] = settings.upload_cap_mbit or None
    if "name" not in given and settings.display_name:
        update["name"] = settings.display_name
    if "payout_handle" not in given and settings.payout_handle:
        update["payout_handle"] = settings.payout_handle
    return base.model_copy(update=update)


def read_invite(argument: str | None) -> str:
    """The invite text from `--invite`: a link, or a file the host sent that holds one."""
    if not argument:
        return ""
    if "://" not in argument:
        path = Path(argument).expanduser()
        try:
            if path.is_file():
                return path.read_text(encoding="utf-8", errors="replace")[
                    :INVITE_FILE_LIMIT
                ].strip()
        except OSError as exc:
            logger.warning("cannot read the invite file %s: %s", path, exc.strerror)
    return argument.strip()


def forget_identity(config: NodeConfig) -> None:
    """Drop the stored identity (leaving the coordinator); the next start asks to join again."""
    config.identity_path.unlink(missing_ok=True)
