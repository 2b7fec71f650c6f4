"""Settings from the environment (FIELDNAV_*), one class per concern.

Every variable is documented in README.md ("Configuration"); keep the two in step.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class DatabaseSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FIELDNAV_", extra="ignore")

    # Unset: fieldnav runs its own private cluster under FIELDNAV_HOME/db.
    database_url: str | None = None
    pool_size: int = Field(default=10, ge=1, le=200)
    pool_timeout_s: float = Field(default=5.0, gt=0)
    statement_timeout_ms: int = Field(default=10_000, ge=100)


class PathSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FIELDNAV_", extra="ignore")

    # Where fieldnav keeps its private cluster and other local state.
    home: Path = PROJECT_ROOT / ".fieldnav"


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FIELDNAV_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    # Seconds the data version read from the database is reused before asking again.
    data_version_ttl_s: float = Field(default=1.0, ge=0)


class ImportSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FIELDNAV_", extra="ignore")

    # Time zone of opening hours when a schedule names none.
    default_timezone: str = "America/Toronto"
    # Bad rows listed in full in the import report (all are counted).
    max_reported_problems: int = Field(default=200, ge=0)


@lru_cache(maxsize=1)
def database_settings() -> DatabaseSettings:
    return DatabaseSettings()


@lru_cache(maxsize=1)
def path_settings() -> PathSettings:
    return PathSettings()


@lru_cache(maxsize=1)
def api_settings() -> ApiSettings:
    return ApiSettings()


@lru_cache(maxsize=1)
def import_settings() -> ImportSettings:
    return ImportSettings()
