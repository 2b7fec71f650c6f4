"""Liveness, readiness and the API root."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field
from sqlalchemy import text

from service import __version__
from service.api.dependencies import DataVersionDep, EngineDep
from service.api.errors import Problem, problem_responses
from service.platform import migrate

router = APIRouter(tags=["meta"])


class Health(BaseModel):
    status: str = Field(examples=["ok"])


class Readiness(BaseModel):
    status: str = Field(examples=["ready"])
    database: str = Field(description="'ok' when the database answered.", examples=["ok"])
    migrations: str = Field(description="'current' when the schema is at the latest migration.", examples=["current"])


class ApiRoot(BaseModel):
    name: str = Field(examples=["fieldnav"])
    version: str = Field(description="fieldnav's software version.", examples=["0.1.0"])
    data_version: int = Field(description="Changes whenever the directory data changes.", examples=[12])


@router.get(
    "/healthz",
    response_model=Health,
    summary="Process is up",
    description="Answers 200 while the process runs; touches no dependency.",
)
def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="Ready to serve",
    description="200 when the database answers and its schema is current; 503 otherwise.",
    responses=problem_responses(503, types=("migrations-pending",)),
)
def readyz(engine: EngineDep) -> Readiness:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means "not ready"
        raise Problem(
            503,
            "unavailable",
            "The database is not reachable.",
            headers={"Retry-After": "5"},
            detail_fr="La base de données n’est pas joignable.",
        ) from None
    if not migrate.is_current(engine):
        raise Problem(
            503,
            "migrations-pending",
            "The database schema is not current: run `fieldnav db migrate`.",
            detail_fr="Le schéma de la base de données n’est pas à jour : exécutez `fieldnav db migrate`.",
        )
    return Readiness(status="ready", database="ok", migrations="current")


@router.get("/", response_model=ApiRoot, summary="API name, version and data version", responses=problem_responses(503))
def root(data_version: DataVersionDep) -> ApiRoot:
    return ApiRoot(name="fieldnav", version=__version__, data_version=data_version.current())


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    description="Requests and latency by route template, cache hits, pool use, job runs. "
    "Restrict it to your monitoring network at the load balancer.",
    responses={200: {"content": {"text/plain; version=0.0.4": {}}}},
)
def metrics(engine: EngineDep) -> Response:
    from prometheus_client import CONTENT_TYPE_LATEST

    from service.platform.observability.metrics import observe_pool, render

    observe_pool(engine)
    return Response(render(), media_type=CONTENT_TYPE_LATEST)
