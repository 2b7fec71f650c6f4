"""HSDS API sources: the sources file `fieldnav worker` pulls on a schedule, and what each
pull left in ``hsds_source`` (migration 0016): when it last succeeded, counts, last error.

The sources file (FIELDNAV_SOURCES_FILE, YAML) never holds a secret: a source names the
environment variable that holds its auth header's value::

    sources:
      - name: toronto-211
        url: https://hsds.example.org/api
        interval_s: 3600
        auth_header: Authorization        # default
        auth_value_env: TORONTO_211_AUTH  # e.g. "Bearer ..." in the worker's environment
        full_every: 24                    # a full pull after this many incremental ones
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import Connection, Engine, text

DEFAULT_FULL_EVERY = 24
SOURCE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class SourcesFileError(ValueError):
    """The sources file cannot be used (unreadable, wrong shape, a missing secret)."""


class SourceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    url: str
    interval_s: float = Field(default=3600, ge=10)
    auth_header: str = "Authorization"
    auth_value_env: str | None = None
    full_every: int = Field(default=DEFAULT_FULL_EVERY, ge=1)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not SOURCE_NAME.match(value):
            raise ValueError("lower-case letters, digits, '-' and '_' only")
        return value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/")

    def headers(self) -> dict[str, str]:
        """The auth header, its value read from the environment now (so a rotated secret
        is picked up at the next pull)."""
        if not self.auth_value_env:
            return {}
        value = os.environ.get(self.auth_value_env)
        if not value:
            raise SourcesFileError(f"source {self.name}: environment variable {self.auth_value_env} is not set")
        return {self.auth_header: value}


class _SourcesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sources: list[SourceConfig] = Field(default_factory=list)


def load_sources(path: Path) -> list[SourceConfig]:
    try:
        loaded = yaml.safe_load(path.read_text("utf-8")) or {}
        sources = _SourcesFile.model_validate(loaded).sources
    except (OSError, yaml.YAMLError) as error:
        raise SourcesFileError(f"{path}: cannot be read ({error})") from None
    except ValidationError as error:
        raise SourcesFileError(f"{path}: {error}") from None
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise SourcesFileError(f"{path}: a source name is used twice")
    return sources


# --- what pulls left behind ---------------------------------------------------------------

_COLUMNS = (
    "name, url, last_attempt_at, last_success_at, last_full_at, last_mode, pulls_since_full, "
    "services_added, services_updated, services_removed, problem_count, data_version, last_error"
)


def state(connection: Connection, name: str) -> dict | None:
    row = connection.execute(text(f"SELECT {_COLUMNS} FROM hsds_source WHERE name = :name"), {"name": name}).first()
    return dict(row._mapping) if row else None


def list_sources(connection: Connection) -> list[dict]:
    return [dict(row._mapping) for row in connection.execute(text(f"SELECT {_COLUMNS} FROM hsds_source ORDER BY name"))]


def record_success(
    connection: Connection,
    *,
    name: str,
    url: str,
    mode: str,
    started_at: datetime,
    added: int,
    updated: int,
    removed: int,
    problem_count: int,
    data_version: int | None,
) -> None:
    """In the import's transaction: the pull and its record commit together."""
    connection.execute(
        text("""
        INSERT INTO hsds_source AS s (name, url, last_attempt_at, last_success_at, last_full_at, last_mode,
                                      pulls_since_full, services_added, services_updated, services_removed,
                                      problem_count, data_version, last_error)
        VALUES (:name, :url, :started_at, :started_at, CASE WHEN :mode = 'full' THEN :started_at END, :mode,
                0, :added, :updated, :removed, :problem_count, :data_version, NULL)
        ON CONFLICT (name) DO UPDATE SET
            url = EXCLUDED.url, last_attempt_at = EXCLUDED.last_attempt_at,
            last_success_at = EXCLUDED.last_success_at,
            last_full_at = coalesce(EXCLUDED.last_full_at, s.last_full_at), last_mode = EXCLUDED.last_mode,
            pulls_since_full = CASE WHEN EXCLUDED.last_mode = 'full' THEN 0 ELSE s.pulls_since_full + 1 END,
            services_added = EXCLUDED.services_added, services_updated = EXCLUDED.services_updated,
            services_removed = EXCLUDED.services_removed, problem_count = EXCLUDED.problem_count,
            data_version = coalesce(EXCLUDED.data_version, s.data_version), last_error = NULL
    """),
        {
            "name": name,
            "url": url,
            "mode": mode,
            "started_at": started_at,
            "added": added,
            "updated": updated,
            "removed": removed,
            "problem_count": problem_count,
            "data_version": data_version,
        },
    )


def record_failure(engine: Engine, *, name: str, url: str, attempted_at: datetime, error: str) -> None:
    """In a transaction of its own: the pull's was rolled back, or never began."""
    with engine.begin() as connection:
        connection.execute(
            text("""
            INSERT INTO hsds_source AS s (name, url, last_attempt_at, last_error)
            VALUES (:name, :url, :attempted_at, :error)
            ON CONFLICT (name) DO UPDATE SET last_attempt_at = EXCLUDED.last_attempt_at,
                                             last_error = EXCLUDED.last_error
        """),
            {"name": name, "url": url, "attempted_at": attempted_at, "error": error[:2000]},
        )
