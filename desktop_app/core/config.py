"""NodeConfig (flags > STREAMR_NODE_* environment > defaults) and the stored identity.

The identity (node id, token, probe key, coordinator URL) is written once when the node joins,
to `DATA_DIR/identity.json` with mode 0600 in a data dir of mode 0700.
"""

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import platformdirs
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from desktop_app.core.errors import ConfigError
from streamr_protocol.models import MAX_CAPACITY_KBIT

__all__ = ["DEFAULT_RELAY_PORT", "DEFAULT_STATUS_PORT", "Identity", "NodeConfig"]

DEFAULT_RELAY_PORT = 8090
DEFAULT_STATUS_PORT = 8091
IDENTITY_FILE = "identity.json"
ENV_PREFIX = "STREAMR_NODE_"


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("streamr-node", "StreamrP2P"))


class NodeConfig(BaseModel):
    """How this node runs; CLI flags fill it, tests and the tray app build it directly.

    A field not given comes from $STREAMR_NODE_<FIELD> (any case) when set, else its default;
    values from either count as given (`model_fields_set`), as flags do.
    """

    model_config = ConfigDict(extra="ignore", validate_default=True)

    data_dir: Path = Field(default_factory=default_data_dir)
    relay_host: str = "0.0.0.0"
    relay_port: int = Field(default=DEFAULT_RELAY_PORT, ge=0, le=65535)
    public_url: str | None = None
    upload_cap_mbit: float | None = Field(default=None, gt=0, le=100_000)
    status_port: int = Field(default=DEFAULT_STATUS_PORT, ge=0, le=65535)
    invite: str | None = None
    name: str | None = Field(default=None, max_length=64)
    payout_handle: str | None = Field(default=None, max_length=128)
    # the friend's own name and certificate for HTTPS (else the coordinator's relay domain)
    tls_cert: Path | None = None
    tls_key: Path | None = None
    # timing knobs (environment only), so tests need not wait minutes
    heartbeat_backoff_max_s: float = Field(default=60.0, gt=0)
    earnings_interval_s: float = Field(default=60.0, gt=0)
    offline_grace_s: float = Field(default=10.0, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _from_environment(cls, data: Any) -> Any:
        """Fill the fields not given from the environment (pydantic-settings did this; it and
        what it loads cost the tray app ~1 MB idle, issue 17)."""
        if not isinstance(data, dict):
            return data
        environment = {
            key.upper(): value
            for key, value in os.environ.items()
            if key.upper().startswith(ENV_PREFIX)
        }
        found = {
            name: environment[ENV_PREFIX + name.upper()]
            for name in cls.model_fields
            if name not in data and ENV_PREFIX + name.upper() in environment
        }
        return {**data, **found} if found else data

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from streamr_protocol.relay_url import RelayUrlError, canonical_relay_url

        try:
            return canonical_relay_url(value)
        except RelayUrlError as exc:
            raise ValueError(f"{exc} (like http://my.host:8090)") from exc

    @model_validator(mode="after")
    def _own_certificate(self) -> "NodeConfig":
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("give both --tls-cert and --tls-key")
        if (
            self.tls_cert is not None
            and self.public_url
            and not self.public_url.startswith("https:")
        ):
            raise ValueError("with --tls-cert the public URL must be https://YOUR.NAME:PORT")
        return self

    @property
    def capacity_kbit(self) -> int:
        """The upload capacity announced, clamped to what the protocol accepts."""
        wanted = int(self.upload_cap_mbit * 1000) if self.upload_cap_mbit else 10_000
        return min(wanted, MAX_CAPACITY_KBIT)

    @property
    def identity_path(self) -> Path:
        return self.data_dir / IDENTITY_FILE

    def load_identity(self) -> "Identity | None":
        """Return the stored identity, None before joining; ConfigError when unreadable."""
        try:
            text = self.identity_path.read_text()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ConfigError(f"cannot read {self.identity_path}: {exc.strerror}") from exc
        try:
            return Identity.model_validate(json.loads(text))
        except (ValueError, ValidationError) as exc:
            raise ConfigError(
                f"{self.identity_path} is damaged; move it away and join again with --invite"
            ) from exc

    def save_identity(self, identity: "Identity") -> None:
        """Write the identity atomically, readable by this user only."""
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.chmod(self.data_dir, 0o700)
            fd, tmp = tempfile.mkstemp(dir=self.data_dir, prefix=".identity-")
            with os.fdopen(fd, "w") as handle:
                os.fchmod(handle.fileno(), 0o600)
                handle.write(identity.model_dump_json(indent=2))
            os.replace(tmp, self.identity_path)
        except OSError as exc:
            raise ConfigError(
                f"cannot write to the data dir {self.data_dir}: {exc.strerror}"
            ) from exc


class Identity(BaseModel):
    """What joining gave this node; the token and probe key are secrets."""

    node_id: str
    node_token: str
    probe_key: str
    coordinator_url: str
    relay_url: str
    display_name: str
    payout_handle: str
    heartbeat_interval_s: int = 30
