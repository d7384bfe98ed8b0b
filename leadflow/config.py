"""Settings from the environment (LEADFLOW_*). Read when the app or CLI starts, never at import."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_database_url() -> str:
    return f"sqlite:///{Path.cwd() / 'leadflow.db'}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEADFLOW_", extra="ignore")

    database_url: str = Field(default_factory=default_database_url)
    host: str = "127.0.0.1"
    port: int = 8000
    admin_token: SecretStr | None = None
    max_body_bytes: int = 1_000_000
    log_level: str = "info"
    log_json: bool = False
    run_timers: bool = True  # `leadflow serve` runs due timers itself (see `leadflow worker`)
    # Set by `leadflow serve` for its HTTP processes: where its intake writer listens.
    intake_socket: str | None = None

    # Notifications (outbox delivery). SMTP is used only when a rep chose e-mail.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_from: str = "leadflow@localhost"
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    public_url: str = "http://127.0.0.1:8000"  # links in e-mails and Slack messages
    hot_lead_score: float = 80.0  # leads at or above this score use the `hot` channels too
    outbox_max_attempts: int = 8
    outbox_backoff_seconds: float = 5.0  # first retry delay; doubles at each attempt
    outbox_lease_seconds: float = 60.0  # a claimed message is retried after this if unsent
    outbox_retention_days: int = 30  # delivered and in-app messages are deleted after this

    #: When set, `/metrics` asks for `Authorization: Bearer <this>`; otherwise it is open
    #: (bind it to a private network).
    metrics_token: SecretStr | None = None
    #: Per caller (token, else IP) and per process: `N/second|minute|hour`, `0` = off.
    rate_limit_intake: str = "600/minute"
    rate_limit_login: str = "30/minute"
    rate_limit_claim: str = "600/minute"
