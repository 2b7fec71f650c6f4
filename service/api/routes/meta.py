"""Liveness, readiness and the API root (which also tells a client the basemap style to draw and
whether directory reads need a token)."""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from sqlalchemy import text

from service import __version__
from service.api.dependencies import DataVersionDep, EngineDep
from service.api.errors import Problem, negotiate_language, problem_responses
from service.api.request_params import prefers_html
from service.platform import migrate
from service.platform.settings import auth_settings, basemap_settings

router = APIRouter(tags=["meta"])


class Health(BaseModel):
    status: str = Field(examples=["ok"])


class Readiness(BaseModel):
    status: str = Field(examples=["ready"])
    database: str = Field(description="'ok' when the database answered.", examples=["ok"])
    migrations: str = Field(description="'current' when the schema is at the latest migration.", examples=["current"])


class RootLinks(BaseModel):
    app: str = Field(description="The field client (installable web app).", examples=["/app/"])
    docs: str = Field(description="The API's interactive documentation.", examples=["/docs"])
    openapi: str = Field(description="The API contract (OpenAPI 3.1).", examples=["/openapi.json"])


class ApiRoot(BaseModel):
    name: str = Field(examples=["fieldnav"])
    version: str = Field(description="fieldnav's software version.", examples=["0.1.0"])
    data_version: int = Field(description="Changes whenever the directory data changes.", examples=[12])
    links: RootLinks = Field(description="Where a newcomer goes next.")
    basemap_style_url: str | None = Field(
        default=None,
        description="A MapLibre style (style JSON URL) clients may draw under the services while online "
        "(`FIELDNAV_BASEMAP_STYLE_URL`); null when the server names none. Offline, or when the style cannot be "
        "loaded, draw the offline pack's basemap, `/v1/basemap.json`, or a plain background instead.",
        examples=["https://tiles.openfreemap.org/styles/liberty"],
    )
    public_reads: bool = Field(
        default=False,
        description="true when directory reads (services, tiles, packs, sync) need no token "
        "(`FIELDNAV_AUTH_PUBLIC_READS`): a client may open on the map and the list before anyone signs in.",
    )


ROOT_LINKS = RootLinks(app="/app/", docs="/docs", openapi="/openapi.json")

# What a browser's address bar gets at `/`: a page that leads to the app and the API docs.
_ROOT_PAGE_TEXTS = {
    "en": ("The field client", "API documentation", "API contract (OpenAPI)", "Nearest services for field workers."),
    "fr": (
        "L’application de terrain",
        "Documentation de l’API",
        "Contrat de l’API (OpenAPI)",
        "Services les plus proches pour les intervenants de terrain.",
    ),
}


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


def _root_page(root: ApiRoot, language: str) -> str:
    app_label, docs_label, openapi_label, tagline = _ROOT_PAGE_TEXTS[language]
    links = root.links
    return (
        f'<!doctype html><html lang="{language}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"><title>fieldnav</title>'
        "<style>body{font:16px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:32rem;padding:0 1rem}"
        "a{display:block;padding:.75rem 0;font-size:1.125rem}</style></head><body>"
        f"<h1>fieldnav</h1><p>{escape(tagline)}</p>"
        f'<a href="{links.app}">{escape(app_label)}</a>'
        f'<a href="{links.docs}">{escape(docs_label)}</a>'
        f'<a href="{links.openapi}">{escape(openapi_label)}</a>'
        f"<p><small>{escape(root.version)} · data {root.data_version}</small></p></body></html>"
    )


@router.get(
    "/",
    response_model=ApiRoot,
    summary="API name, version and data version, and where to go next",
    description="JSON for API clients. A browser (an `Accept` that ranks `text/html` above JSON) gets a "
    "small page linking to the field client (`/app/`) and the API documentation (`/docs`).",
    responses={200: {"content": {"text/html": {}}}, **problem_responses(503)},
)
def root(request: Request, response: Response, data_version: DataVersionDep) -> ApiRoot | Response:
    answer = ApiRoot(
        name="fieldnav",
        version=__version__,
        data_version=data_version.current(),
        links=ROOT_LINKS,
        basemap_style_url=basemap_settings().style,
        public_reads=auth_settings().public_reads,
    )
    if prefers_html(request):
        page = _root_page(answer, negotiate_language(request.headers.get("accept-language")))
        return HTMLResponse(page, headers={"Vary": "Accept, Accept-Language"})
    response.headers["Vary"] = "Accept, Accept-Language"  # one URL, two bodies: caches must key on both
    return answer


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
