"""The tray app's own settings, a JSON file in the platform's config folder; Qt-free.

What the node core needs (relay port, upload cap, names) is handed to it by the controller;
this file is what the friend chose in the window, kept across runs.
"""

import json
import logging
import os
from datetime import datetime
from pathlib import Path
from typing import Annotated

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

__all__ = ["APP_NAME", "SettingsError", "TraySettings", "config_dir", "data_dir", "log_dir"]

logger = logging.getLogger(__name__)
APP_NAME = "StreamrP2P"
FILE_NAME = "tray.json"


class SettingsError(Exception):
    """The settings could not be saved."""


def config_dir() -> Path:
    """The platform's config folder for the app (~/.config/StreamrP2P on Linux)."""
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def data_dir() -> Path:
    """The platform's data folder for the app (~/.local/share/StreamrP2P on Linux)."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def log_dir() -> Path:
    """The platform's log folder (~/.local/state/StreamrP2P/log on Linux)."""
    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


class TraySettings(BaseModel):
    """What the friend chose; defaults for a first run."""

    model_config = ConfigDict(validate_assignment=True)

    display_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] = ""
    payout_handle: Annotated[str, StringConstraints(strip_whitespace=True, max_length=128)] = ""
    upload_cap_mbit: float = Field(default=0.0, ge=0, le=100_000)
    relay_port: int = Field(default=8090, ge=1, le=65535)
    start_at_login: bool = False
    notifications: bool = True
    supporting: bool = True
    paused_until: datetime | None = None  # with supporting false: resume then (None: never)
    monthly_cap_gb: float = Field(default=0.0, ge=0, le=1_000_000)  # 0: no cap
    active_from_hour: int = Field(default=0, ge=0, le=23)  # help only from this hour …
    active_to_hour: int = Field(default=24, ge=1, le=24)  # … to this one (0-24: always)
    unsupported_streams: list[str] = Field(default_factory=list)

    @classmethod
    def load(cls, folder: Path | None = None) -> "TraySettings":
        """Read the settings file; a missing or broken file gives the defaults (logged)."""
        path = (folder or config_dir()) / FILE_NAME
        try:
            return cls.model_validate(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError, ValidationError) as exc:
            logger.warning("settings file %s unreadable, using defaults: %s", path, exc)
            return cls()

    def save(self, folder: Path | None = None) -> Path:
        """Write the settings atomically and return the file's path."""
        folder = folder or config_dir()
        path = folder / FILE_NAME
        try:
            folder.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(self.model_dump_json(indent=1), encoding="utf-8")
            os.replace(tmp, path)
        except OSError as exc:
            raise SettingsError(f"cannot save settings in {folder}: {exc.strerror}") from exc
        return path
