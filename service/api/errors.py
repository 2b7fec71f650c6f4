"""One map from failures to RFC 9457 problem+json responses, with stable ``type`` URIs.

Every error fieldnav returns goes through here, so clients can branch on ``type`` alone.
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from fastapi import FastAPI, Request
from psycopg.errors import QueryCanceled
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import InterfaceError, OperationalError, TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from service.api.responses import ProblemResponse
from service.problems import PROBLEM_TYPES, Problem

log = logging.getLogger("fieldnav.api")

PROBLEM_BASE = "tag:fieldnav.org,2026:problem/"


def problem_type(slug: str) -> str:
    return PROBLEM_BASE + slug


def problem_response(request: Request, status: int, slug: str, detail: str, *, title: str | None = None,
                     headers: dict | None = None, **extra) -> ProblemResponse:
    body = {
        "type": problem_type(slug),
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **extra,
    }
    return ProblemResponse(body, status_code=status, headers=headers)


_STATUS_SLUGS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    410: "gone",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation-error",
    429: "rate-limited",
    503: "unavailable",
}


def _field_name(location: tuple) -> str:
    return ".".join(str(part) for part in location)


async def _validation(request: Request, error: RequestValidationError) -> ProblemResponse:
    errors = [{"field": _field_name(e.get("loc", ())), "message": e.get("msg", "invalid")} for e in error.errors()]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5]) or "invalid request"
    return problem_response(request, 422, "validation-error", detail, title="Invalid request", errors=errors)


def _allowed_methods(request: Request) -> str:
    """Every method the path has. Starlette's 405 names only the methods of the first route
    whose path matched, and a path often has several routes (GET and POST /v1/handoffs)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches({**request.scope, "type": "http"})
        if match is not Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return ", ".join(sorted(methods))


async def _http(request: Request, error: StarletteHTTPException) -> ProblemResponse:
    slug = _STATUS_SLUGS.get(error.status_code, "http-error")
    detail = error.detail if isinstance(error.detail, str) else HTTPStatus(error.status_code).phrase
    headers = getattr(error, "headers", None)
    if error.status_code == 405:
        headers = {**(headers or {}), "Allow": _allowed_methods(request)}
    return problem_response(request, error.status_code, slug, detail, headers=headers)


async def _problem(request: Request, error: Problem) -> ProblemResponse:
    return problem_response(request, error.status, error.slug, error.detail, title=error.title, headers=error.headers, **error.extra)


async def _database_unavailable(request: Request, error: Exception) -> ProblemResponse:
    if isinstance(getattr(error, "orig", None), QueryCanceled):
        log.warning("query cancelled by the statement timeout")
        return problem_response(
            request, 503, "query-timeout", "The query took too long and was stopped; try again, or narrow it.",
            headers={"Retry-After": "2"},
        )
    log.warning("database unavailable: %s", type(error).__name__)
    return problem_response(
        request, 503, "unavailable", "The directory database is not reachable right now; try again shortly.",
        headers={"Retry-After": "5"},
    )


async def _unexpected(request: Request, error: Exception) -> ProblemResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(request, 500, "internal-error", "Something went wrong on our side; it has been logged.")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Problem, _problem)
    app.add_exception_handler(PoolTimeoutError, _database_unavailable)
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(InterfaceError, _database_unavailable)
    app.add_exception_handler(Exception, _unexpected)


# Shared OpenAPI description of problem responses, used by every route's `responses=`.
PROBLEM_SCHEMA_REF = {"$ref": "#/components/schemas/Problem"}
# The problem types any operation may answer with for a status, besides its own (`types=`).
_COMMON_TYPES = {
    400: ("bad-request",), 401: ("unauthorized",), 403: ("forbidden",), 404: ("not-found",), 405: ("method-not-allowed",),
    413: ("payload-too-large",), 422: ("validation-error",), 429: ("rate-limited",), 500: ("internal-error",),
    503: ("unavailable", "query-timeout"),
}


def problem_example(slug: str) -> dict:
    """An OpenAPI example of one problem type (from service/problems.py's catalogue)."""
    known = PROBLEM_TYPES[slug]
    return {
        "summary": f"{slug} ({known.status})",
        "description": known.meaning,
        "value": {"type": problem_type(slug), "title": known.title, "status": known.status, "detail": known.example},
    }


def problem_responses(*statuses: int, types: tuple[str, ...] = ()) -> dict:
    """`responses=` entries for problem documents with these statuses, each with an example of
    every problem type it may carry: the status's common type(s), plus the route's own `types`
    (slugs of service/problems.py's PROBLEM_TYPES, placed under their status)."""
    unknown = [slug for slug in types if slug not in PROBLEM_TYPES]
    if unknown:
        raise ValueError(f"undocumented problem types {unknown}: add them to service/problems.py")
    stray = [slug for slug in types if PROBLEM_TYPES[slug].status not in statuses]
    if stray:
        raise ValueError(f"problem types {stray} have a status this operation does not document")
    responses = {}
    for status in statuses:
        slugs = [*_COMMON_TYPES.get(status, ()), *(s for s in types if PROBLEM_TYPES[s].status == status)]
        content = {"schema": PROBLEM_SCHEMA_REF}
        if slugs:
            # The examples themselves are in components.examples (service/api/openapi_doc.py).
            content["examples"] = {slug: {"$ref": f"#/components/examples/{slug}"} for slug in dict.fromkeys(slugs)}
        responses[status] = {"description": HTTPStatus(status).phrase, "content": {"application/problem+json": content}}
    return responses
