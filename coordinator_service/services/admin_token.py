"""The host's admin token: made on first start, kept in the data dir with mode 0600."""

import os
from pathlib import Path

from coordinator_service.errors import StorageError
from coordinator_service.services.tokens import new_token

__all__ = ["ensure_admin_token", "ensure_data_dir"]


def ensure_data_dir(data_dir: Path) -> None:
    """Create the data dir if needed and keep it private to the user (0700)."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(data_dir, 0o700)
    except OSError as exc:
        raise StorageError(f"cannot use the data dir {data_dir}: {exc.strerror or exc}") from exc


def ensure_admin_token(path: Path) -> str:
    """Return the admin token kept at `path`, creating it (mode 0600) on first use."""
    try:
        if path.exists():
            token = path.read_text(encoding="utf-8").strip()
            if token:
                os.chmod(path, 0o600)
                return token
        token = new_token()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(token + "\n")
        os.chmod(path, 0o600)
        return token
    except OSError as exc:
        raise StorageError(f"cannot keep the admin token at {path}: {exc.strerror or exc}") from exc
