"""HSDS API sources (admin): what the pulls of other directories' HSDS 3 APIs did
(`fieldnav import --from-api`, the worker's scheduled pulls; service/importer/sources.py)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from service.api.dependencies import EngineDep
from service.api.errors import problem_responses
from service.api.responses import json_response
from service.importer import sources

router = APIRouter(prefix="/v1/admin", tags=["admin"])


class SourceCounts(BaseModel):
    added: int = Field(description="Services the last successful pull added.", examples=[12])
    updated: int = Field(description="Services whose content it changed.", examples=[3])
    removed: int = Field(description="Services it tombstoned (full pulls only).", examples=[1])


class HsdsSource(BaseModel):
    name: str = Field(examples=["toronto-211"])
    url: str = Field(examples=["https://hsds.example.org/api"])
    last_success_at: datetime | None = Field(description="Start of the last successful pull.")
    last_attempt_at: datetime | None = Field(description="Start of the last pull, successful or not.")
    last_full_at: datetime | None = Field(description="Start of the last successful full pull.")
    last_mode: str | None = Field(description="`full` or `incremental`.", examples=["incremental"])
    pulls_since_full: int = Field(description="Incremental pulls since the last full one.", examples=[3])
    services: SourceCounts
    problem_count: int = Field(description="Bad rows the last successful pull reported.", examples=[0])
    data_version: int | None = Field(description="The data version the last successful pull left.", examples=[42])
    last_error: str | None = Field(
        description="Why the last attempt failed (null when it succeeded); nothing was imported then.",
        examples=["/services page 3: HTTP 500 after 5 attempts; nothing was imported"],
    )


class HsdsSourceList(BaseModel):
    sources: list[HsdsSource]


def _shape(row: dict) -> dict:
    counts = {key: row.pop(f"services_{key}") for key in ("added", "updated", "removed")}
    return {**row, "services": counts}


@router.get(
    "/sources",
    response_model=HsdsSourceList,
    summary="HSDS API sources and their last pulls (admin)",
    description=(
        "Each source pulled from another directory's HSDS 3 API (`fieldnav import --from-api`, "
        "or `fieldnav worker` with FIELDNAV_SOURCES_FILE): last success, last attempt, what the "
        "last successful pull added, updated and removed, and the last error."
    ),
    responses=problem_responses(401, 403, 429),
)
def list_sources(engine: EngineDep) -> Response:
    with engine.connect() as connection:
        return json_response({"sources": [_shape(row) for row in sources.list_sources(connection)]})
