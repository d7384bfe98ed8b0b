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
    #: When set, `/metrics` asks for `Authorization: Bearer <this>`; otherwise it is open
    #: (bind it to a private network).
    metrics_token: SecretStr | None = None
    #: Per caller (token, else IP) and per process: `N/second|minute|hour`, `0` = off.
    rate_limit_intake: str = "600/minute"
    rate_limit_login: str = "30/minute"
    rate_limit_claim: str = "600/minute"
