"""One map from failures to RFC 9457 problem+json responses, with stable ``type`` URIs.

Every error fieldnav returns goes through here, so clients can branch on ``type`` alone.
Problems are written in the request's language (``Accept-Language``: English, the default,
or French; texts in service/platform/problem_texts.py) and say so (``Content-Language``, ``Vary``);
``type``, ``status``, ``instance``, field names and error codes are the same in both.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import orjson
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from psycopg.errors import QueryCanceled
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from service.api.responses import ProblemResponse
from service.platform.problem_texts import CATALOGUE_FR, STATUS_TITLES_FR, summary, typeset_fr
from service.platform.problem_texts import message as field_message
from service.platform.problems import PROBLEM_TYPES, Problem

log = logging.getLogger("fieldnav.api")

PROBLEM_BASE = "tag:fieldnav.org,2026:problem/"

# The languages problems are written in (service/platform/problem_texts.py); the first is the default.
LANGUAGES = ("en", "fr")
DEFAULT_LANGUAGE = LANGUAGES[0]


def problem_type(slug: str) -> str:
    return PROBLEM_BASE + slug


# --- the request's language --------------------------------------------------------------------


def _quality(parameters: list[str]) -> float | None:
    """The ``q`` weight of a language range (RFC 9110 section 12.4.2), or None when malformed."""
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                q = float(value.strip())
            except ValueError:
                return None
            return q if 0 <= q <= 1 else None
    return 1.0


def negotiate_language(accept_language: str | None) -> str:
    """``en`` or ``fr`` for an ``Accept-Language`` header (RFC 9110 q-values). Any French
    (``fr``, ``fr-CA``, ``fr-FR``) is ``fr``; English, anything else, a malformed header or
    none is ``en``. Ties go to the range listed first; ``*`` stands for the languages not
    named, English first."""
    if not accept_language:
        return DEFAULT_LANGUAGE
    best: dict[str, tuple[float, float]] = {}  # language: (q, rank: position, or after it for *)
    wildcard: tuple[float, int] | None = None
    for position, item in enumerate(accept_language[:1024].split(",")):
        language_range, *parameters = item.split(";")
        language_range = language_range.strip().lower()
        q = _quality(parameters)
        if not language_range or q is None:
            continue
        if language_range == "*":
            wildcard = wildcard or (q, position)
            continue
        primary = language_range.replace("_", "-").split("-")[0]
        if primary in LANGUAGES:
            # "fr-CA;q=0, fr;q=0.8": any French range that is acceptable makes our French so.
            known = best.get(primary)
            if known is None or q > known[0]:
                best[primary] = (q, known[1] if known else position)
    if wildcard is not None:
        for language in LANGUAGES:
            best.setdefault(language, (wildcard[0], wildcard[1] + 0.5 + LANGUAGES.index(language) / 10))
    choices = [(q, position, language) for language, (q, position) in best.items() if q > 0]
    if not choices:
        return DEFAULT_LANGUAGE
    return min(choices, key=lambda choice: (-choice[0], choice[1]))[2]


def request_language(request: Request) -> str:
    return negotiate_language(request.headers.get("accept-language"))


def scope_language(scope) -> str:
    """The language of a request not yet wrapped in a Request (pure ASGI middleware)."""
    for name, value in scope.get("headers", ()):
        if name == b"accept-language":
            return negotiate_language(value.decode("latin-1"))
    return DEFAULT_LANGUAGE


def language_headers(language: str, headers: dict | None = None) -> dict:
    """``headers`` plus ``Content-Language`` and ``Accept-Language`` merged into ``Vary``:
    the same URL answers a problem in two languages."""
    merged = {k: v for k, v in (headers or {}).items() if k.lower() not in ("vary", "content-language")}
    vary = [
        v.strip() for k, v in (headers or {}).items() if k.lower() == "vary" for v in str(v).split(",") if v.strip()
    ]
    if "*" not in vary and not any(v.lower() == "accept-language" for v in vary):
        vary.append("Accept-Language")
    merged["Content-Language"] = language
    merged["Vary"] = ", ".join(vary)
    return merged


# --- problem documents -------------------------------------------------------------------------


def localise_errors(errors, language: str) -> list[dict]:
    """``errors[]`` items as clients get them: ``field``, ``code`` and a ``message`` in
    ``language`` (written from the code; an item's own English ``message`` serves codes
    service/platform/problem_texts.py does not know, in English only)."""
    items = []
    for error in errors or ():
        code = error.get("code") or "value_error"
        items.append(
            {
                "field": error.get("field", ""),
                "code": code,
                "message": field_message(code, error.get("ctx"), language, error.get("message")),
            }
        )
    return items


def problem_document(
    language: str,
    status: int,
    slug: str,
    detail: str,
    *,
    instance: str,
    title: str | None = None,
    detail_fr: str | None = None,
    title_fr: str | None = None,
    **extra,
) -> dict:
    """The problem body in ``language``. In French: the raise site's French, else the type's
    French default (never the English detail)."""
    if language == "fr":
        default_title, default_detail = CATALOGUE_FR.get(slug) or (
            STATUS_TITLES_FR.get(status, "Erreur"),
            "La requête a échoué.",
        )
        if slug == "http-error" or (slug in PROBLEM_TYPES and PROBLEM_TYPES[slug].status != status):
            default_title = STATUS_TITLES_FR.get(status, default_title)
        title, detail = typeset_fr(title_fr or default_title), typeset_fr(detail_fr or default_detail)
    else:
        title = title or HTTPStatus(status).phrase
    if "errors" in extra:
        extra["errors"] = localise_errors(extra["errors"], language)
    return {
        "type": problem_type(slug),
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        **extra,
    }


def problem_response(
    request: Request,
    status: int,
    slug: str,
    detail: str,
    *,
    title: str | None = None,
    headers: dict | None = None,
    detail_fr: str | None = None,
    title_fr: str | None = None,
    **extra,
) -> ProblemResponse:
    language = request_language(request)
    body = problem_document(
        language,
        status,
        slug,
        detail,
        instance=request.url.path,
        title=title,
        detail_fr=detail_fr,
        title_fr=title_fr,
        **extra,
    )
    return ProblemResponse(body, status_code=status, headers=language_headers(language, headers))


async def send_problem(
    send,
    scope,
    status: int,
    slug: str,
    detail: str,
    *,
    title: str | None = None,
    detail_fr: str | None = None,
    title_fr: str | None = None,
    headers: dict | None = None,
) -> None:
    """A problem answered by pure ASGI middleware (no Request yet), in the request's language."""
    language = scope_language(scope)
    body = orjson.dumps(
        problem_document(
            language, status, slug, detail, instance=scope["path"], title=title, detail_fr=detail_fr, title_fr=title_fr
        )
    )
    raw_headers = [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())]
    raw_headers += [
        (name.lower().encode("latin-1"), str(value).encode("latin-1"))
        for name, value in language_headers(language, headers).items()
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


async def send_validation_problem(send, scope, errors: list[dict]) -> None:
    """A 422 ``validation-error`` answered by pure ASGI middleware: ``errors`` are
    ``field_problem`` items, written in the request's language as the route's would be."""
    language = scope_language(scope)
    localised = localise_errors(errors, language)
    detail = summary(localised, language)
    body = problem_document(
        language, 422, "validation-error", detail, instance=scope["path"], title="Invalid request", detail_fr=detail
    )
    body["errors"] = localised
    payload = orjson.dumps(body)
    raw_headers = [(b"content-type", b"application/problem+json"), (b"content-length", str(len(payload)).encode())]
    raw_headers += [
        (name.lower().encode("latin-1"), str(value).encode("latin-1"))
        for name, value in language_headers(language).items()
    ]
    await send({"type": "http.response.start", "status": 422, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})


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
    language = request_language(request)
    errors = localise_errors(
        [
            {
                "field": _field_name(e.get("loc", ())),
                "code": e.get("type"),
                "ctx": e.get("ctx"),
                "message": e.get("msg"),
            }
            for e in error.errors()
        ],
        language,
    )
    detail = summary(errors, language)
    body = problem_document(
        language, 422, "validation-error", detail, instance=request.url.path, title="Invalid request", detail_fr=detail
    )
    body["errors"] = errors
    return ProblemResponse(body, status_code=422, headers=language_headers(language))


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
    return problem_response(
        request,
        error.status,
        error.slug,
        error.detail,
        title=error.title,
        headers=error.headers,
        detail_fr=error.detail_fr,
        title_fr=error.title_fr,
        **error.extra,
    )


async def _database_unavailable(request: Request, error: Exception) -> ProblemResponse:
    if isinstance(getattr(error, "orig", None), QueryCanceled):
        log.warning("query cancelled by the statement timeout")
        return problem_response(
            request,
            503,
            "query-timeout",
            "The query took too long and was stopped; try again, or narrow it.",
            detail_fr="La requête a pris trop de temps et a été arrêtée ; réessayez, ou précisez-la.",
            headers={"Retry-After": "2"},
        )
    log.warning("database unavailable: %s", type(error).__name__)
    return problem_response(
        request,
        503,
        "unavailable",
        "The directory database is not reachable right now; try again shortly.",
        detail_fr="La base de données du répertoire n’est pas joignable pour le moment ; réessayez dans un instant.",
        headers={"Retry-After": "5"},
    )


async def _unexpected(request: Request, error: Exception) -> ProblemResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(
        request,
        500,
        "internal-error",
        "Something went wrong on our side; it has been logged.",
        detail_fr="Une erreur s’est produite de notre côté ; elle a été consignée.",
    )


def install_error_handlers(app: FastAPI) -> None:
    # Starlette types every handler as taking any Exception; it calls each with its class only.
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http)  # type: ignore[arg-type]
    app.add_exception_handler(Problem, _problem)  # type: ignore[arg-type]
    app.add_exception_handler(PoolTimeoutError, _database_unavailable)
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(InterfaceError, _database_unavailable)
    app.add_exception_handler(Exception, _unexpected)


def _handler_for(request: Request, error: Exception):
    handlers = request.app.exception_handlers
    for cls in type(error).__mro__:
        if cls in handlers:
            return handlers[cls]
    return None


async def problem_for(request: Request, error: Exception) -> Response:
    """The answer the app's own handlers (above) give for ``error``, for code that runs outside
    FastAPI's routing (the fast paths, service/api/fast_path.py). Re-raises what no handler takes."""
    to_problem = _handler_for(request, error)
    if to_problem is None:
        raise error
    return await to_problem(request, error)


async def no_store_problem(request: Request, error: Exception) -> Response:
    """The problem document for a failure of a map route (tiles, basemap), marked
    ``Cache-Control: no-store``: a 404 or 503 must never stick in a phone's or a CDN's cache in
    place of a tile."""
    response = await problem_for(request, error)
    response.headers["Cache-Control"] = "no-store"
    return response


class NoStoreErrorsRoute(APIRoute):
    """Routes that answer every failure with ``no_store_problem`` (the map routes' ``route_class``)."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def route_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as error:  # noqa: BLE001 - every error becomes a problem answer, never a bare 500
                return await no_store_problem(request, error)

        return route_handler


# Shared OpenAPI description of problem responses, used by every route's `responses=`.
PROBLEM_SCHEMA_REF = {"$ref": "#/components/schemas/Problem"}
# The problem types any operation may answer with for a status, besides its own (`types=`).
_COMMON_TYPES = {
    400: ("bad-request",),
    401: ("unauthorized",),
    403: ("forbidden",),
    404: ("not-found",),
    405: ("method-not-allowed",),
    413: ("payload-too-large",),
    422: ("validation-error",),
    429: ("rate-limited",),
    500: ("internal-error",),
    503: ("unavailable", "query-timeout"),
}


def problem_example(slug: str) -> dict:
    """An OpenAPI example of one problem type (from service/platform/problems.py's catalogue)."""
    known = PROBLEM_TYPES[slug]
    return {
        "summary": f"{slug} ({known.status})",
        "description": known.meaning,
        "value": {"type": problem_type(slug), "title": known.title, "status": known.status, "detail": known.example},
    }


def problem_responses(*statuses: int, types: tuple[str, ...] = ()) -> dict:
    """`responses=` entries for problem documents with these statuses, each with an example of
    every problem type it may carry: the status's common type(s), plus the route's own `types`
    (slugs of service/platform/problems.py's PROBLEM_TYPES, placed under their status)."""
    unknown = [slug for slug in types if slug not in PROBLEM_TYPES]
    if unknown:
        raise ValueError(f"undocumented problem types {unknown}: add them to service/platform/problems.py")
    stray = [slug for slug in types if PROBLEM_TYPES[slug].status not in statuses]
    if stray:
        raise ValueError(f"problem types {stray} have a status this operation does not document")
    responses = {}
    for status in statuses:
        slugs = [*_COMMON_TYPES.get(status, ()), *(s for s in types if PROBLEM_TYPES[s].status == status)]
        content: dict[str, Any] = {"schema": PROBLEM_SCHEMA_REF}
        if slugs:
            # The examples themselves are in components.examples (service/api/openapi_doc.py).
            content["examples"] = {slug: {"$ref": f"#/components/examples/{slug}"} for slug in dict.fromkeys(slugs)}
        responses[status] = {"description": HTTPStatus(status).phrase, "content": {"application/problem+json": content}}
    return responses
