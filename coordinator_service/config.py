"""Coordinator settings: CLI flags > `STREAMR_*` environment > defaults."""

from pathlib import Path
from typing import Annotated

from platformdirs import user_data_dir
from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["APP_DIR_NAME", "Settings", "default_data_dir"]

APP_DIR_NAME = "streamrp2p-coordinator"

LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory"

RateLimit = Annotated[str, Field(pattern=r"^\d+\s*(/|per)\s*\d*\s*(second|minute|hour|day)s?$")]


def default_data_dir() -> Path:
    """Return the platform's per-user data folder for the coordinator."""
    return Path(user_data_dir(APP_DIR_NAME, appauthor=False))


class Settings(BaseSettings):
    """Everything `serve` and the admin commands need to know."""

    model_config = SettingsConfigDict(env_prefix="STREAMR_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str = ""
    heartbeat_interval: int = Field(default=30, ge=1, le=3600, description="seconds")
    probe_interval: float = Field(default=180.0, gt=0, le=86400, description="mean seconds")
    allow_private_relays: bool = False
    redis_url: str | None = None
    public_url: str = ""
    grace_factor: float = Field(default=2.5, ge=1.0, le=10.0)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    rate_limit_ip: RateLimit = "600/minute"
    rate_limit_register: RateLimit = "30/minute"
    rate_limit_node: RateLimit = "120/minute"
    rate_limit_report: RateLimit = "60/minute"
    log_level: str = "info"
    # HTTPS relays: a zone delegated to this coordinator, its DNS server, the ACME CA
    relay_domain: str | None = None
    relay_dns_listen: str = "0.0.0.0:53"
    relay_dns_nameserver: str = ""
    acme_directory: str = LETS_ENCRYPT
    acme_email: str | None = None
    acme_ca_bundle: Path | None = None
    relay_ca_file: Path | None = None
    metrics_token: str | None = None  # when set, /metrics needs `Authorization: Bearer TOKEN`
    relay_cert_renew_days: float = Field(default=30.0, gt=0)
    relay_cert_check_interval: float = Field(default=30.0, gt=0, le=86400)

    @field_validator("relay_domain")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        from coordinator_service.relay_tls.names import normalize_zone

        return normalize_zone(value) if value else None

    @field_validator("relay_dns_listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        from coordinator_service.relay_tls.dns import parse_listen

        parse_listen(value)
        return value

    @model_validator(mode="after")
    def _fill_defaults(self) -> "Settings":
        self.data_dir = self.data_dir.expanduser()
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{self.data_dir / 'coordinator.db'}"
        if self.public_url and "://" not in self.public_url:
            self.public_url = f"https://{self.public_url}"  # a bare public name means HTTPS
        if not self.public_url:
            host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
            if ":" in host:
                host = f"[{host}]"
            self.public_url = f"http://{host}:{self.port}"
        self.public_url = self.public_url.rstrip("/")
        return self

    @property
    def grace_seconds(self) -> float:
        """Beats further apart than this open a new uptime interval; a node is silent after it."""
        return self.heartbeat_interval * self.grace_factor

    @property
    def admin_token_path(self) -> Path:
        """Where the admin token is kept (mode 0600)."""
        return self.data_dir / "admin-token"
