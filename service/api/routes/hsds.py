"""The HSDS 3.0 API (Open Referral's openapi.json) under /hsds: services, organizations,
taxonomies, taxonomy terms and service_at_locations, each list a Page or an ndjson stream.
The objects and lists are built by service/hsds/; confidential sites follow
service/directory/confidential.py there."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy import Connection, Engine

from service.api.dependencies import EngineDep, ReadEngineDep
from service.api.errors import Problem, problem_responses
from service.api.http_cache import cached_json, directory_cache
from service.api.request_params import in_default_timezone
from service.api.schemas import IsoDateTime
from service.hsds import compiled, queries, summaries
from service.hsds.ndjson import MEDIA_TYPE as NDJSON
from service.hsds.ndjson import Render, ndjson_lines
from service.hsds.postcodes import normal_postcode, postcode_centroid
from service.hsds.serialize import Serializer
from service.platform.db import read_connection
from service.platform.problem_texts import field_problem
from service.platform.settings import import_settings

router = APIRouter(prefix="/hsds", tags=["hsds"])

HSDS_VERSION = "3.0"
PROFILE_URL = "https://docs.openreferral.org/en/v3.0/"
# Made "private" unless FIELDNAV_AUTH_PUBLIC_READS=true (directory_cache), as /v1/services.
DIRECTORY_CACHE = "public, max-age=60, stale-while-revalidate=300, stale-if-error=86400"

_OBJECT = {"type": "object"}
_PAGE = {
    "type": "object",
    "description": "HSDS Page: the objects of one page and where it stands.",
    "required": ["total_items", "total_pages", "page_number", "size", "first_page", "last_page", "empty", "contents"],
    "properties": {
        "total_items": {"type": "integer"},
        "total_pages": {"type": "integer"},
        "page_number": {"type": "integer"},
        "size": {"type": "integer", "description": "How many objects this page holds."},
        "first_page": {"type": "boolean"},
        "last_page": {"type": "boolean"},
        "empty": {"type": "boolean"},
        "contents": {"type": "array", "items": _OBJECT},
    },
}
_ERRORS = problem_responses(422, 503)


def _ok(schema: dict, *, stream: bool = False) -> dict:
    content: dict = {"application/json": {"schema": schema}}
    if stream:
        content[NDJSON] = {"schema": {"type": "string", "description": "One JSON object a line."}}
    return {200: {"description": "OK", "content": content}, 304: {"description": "Not Modified"}}


def _serializer() -> Serializer:
    # Schedules' UTC offsets as they are now (HSDS 3.0 types `timezone` a number).
    return Serializer(at=datetime.now(UTC), default_zone=import_settings().default_timezone)


Search = Annotated[str | None, Query(max_length=200, description="Full text search.", examples=["food bank"])]
PageNumber = Annotated[int, Query(ge=1, le=100_000, description="Page number of paginated result, from 1.")]
PerPage = Annotated[int, Query(ge=1, le=100, description="Number of results requested in a single page.")]
Format = Annotated[
    Literal["json", "ndjson"],
    Query(description="`json` (a Page) or `ndjson`: every result, one JSON object a line, streamed without pages."),
]
Full = Annotated[bool, Query(description="Return fully nested objects (compiled) in the list.")]
TaxonomyTermId = Annotated[UUID | None, Query(description="Services with this taxonomy term (an attribute).")]
TaxonomyId = Annotated[UUID | None, Query(description="Services with any term of this taxonomy.")]
OrganizationId = Annotated[UUID | None, Query(description="Services this organization provides.")]
ModifiedAfter = Annotated[
    IsoDateTime | None,
    Query(
        description="Results changed on or after this ISO 8601 time (no offset: America/Toronto), from the "
        "change log: a follower polls with the time of its last poll.",
        examples=["2026-11-25T00:00:00Z"],
    ),
]
FullService = Annotated[bool, Query(description="Organizations' services fully nested (compiled).")]
ObjectId = Annotated[UUID, Path(description="The object's id.", examples=["9c1d7e2a-3b4f-4c5d-8e6f-7a8b9c0d1e2f"])]


def _search_text(search: str | None) -> str | None:
    return (search or "").strip() or None


@dataclass
class Lister:
    """What every HSDS list takes (the page asked for, the format, where to read) and how it
    answers: a Page as JSON, or every result streamed as ndjson."""

    request: Request
    engine: Engine
    read_engine: Engine
    page: int
    per_page: int
    format: str

    def answer(self, listing: queries.Listing, render: Render) -> Response:
        engine, read_engine = self.engine, self.read_engine
        if self.format == "ndjson":

            def lines() -> Iterator[bytes]:
                with read_connection(read_engine, engine) as connection:
                    yield from ndjson_lines(connection, listing, render)

            return StreamingResponse(lines(), media_type=NDJSON, headers={"Cache-Control": "private, no-store"})
        with read_connection(read_engine, engine) as connection:
            found = queries.page_of(connection, listing, self.page, self.per_page)
            contents = render(connection, found.ids)
        return cached_json(self.request, found.envelope(contents), cache_control=directory_cache(DIRECTORY_CACHE))


def _lister(
    request: Request,
    engine: EngineDep,
    read_engine: ReadEngineDep,
    page: PageNumber = 1,
    per_page: PerPage = 50,
    format: Format = "json",
) -> Lister:
    return Lister(request, engine, read_engine, page, per_page, format)


ListerDep = Annotated[Lister, Depends(_lister)]


def _service_filter(
    search: Search = None,
    taxonomy_term_id: TaxonomyTermId = None,
    taxonomy_id: TaxonomyId = None,
    organization_id: OrganizationId = None,
    modified_after: ModifiedAfter = None,
) -> queries.ServiceFilter:
    """The filters /services and /service_at_locations share, as the standard defines them."""
    return queries.ServiceFilter(
        search=_search_text(search),
        taxonomy_term_id=taxonomy_term_id,
        taxonomy_id=taxonomy_id,
        organization_id=organization_id,
        modified_after=in_default_timezone(modified_after) if modified_after else None,
    )


ServiceFilterDep = Annotated[queries.ServiceFilter, Depends(_service_filter)]


def _one(request: Request, engine: Engine, read_engine: Engine, kind: str, object_id: UUID, render: Render) -> Response:
    with read_connection(read_engine, engine) as connection:
        found = render(connection, [object_id])
    if not found:
        raise Problem(
            404,
            "not-found",
            f"No {kind} with id {object_id}.",
            detail_fr=f"Aucun objet « {kind} » ne porte l’identifiant {object_id}.",
        )
    return cached_json(request, found[0], cache_control=directory_cache(DIRECTORY_CACHE))


@router.get(
    "/",
    summary="This API and its relation to HSDS",
    responses={200: {"description": "OK", "content": {"application/json": {"schema": _OBJECT}}}},
)
def about(request: Request) -> Response:
    return cached_json(
        request,
        {"version": HSDS_VERSION, "profile": PROFILE_URL, "openapi_url": str(request.base_url) + "openapi.json"},
        cache_control=directory_cache(DIRECTORY_CACHE),
    )


@router.get(
    "/services",
    summary="Services (HSDS compiled/service_list), a Page or ndjson",
    responses={**_ok(_PAGE, stream=True), **_ERRORS},
)
def list_services(
    lister: ListerDep,
    service_filter: ServiceFilterDep,
    minimal: Annotated[
        bool, Query(description="Just each service's id, name, status and `last_modified` (its last change).")
    ] = False,
    full: Full = False,
) -> Response:
    listing = queries.services(service_filter)
    serializer = _serializer()

    def render(connection: Connection, ids: list) -> list[dict]:
        if minimal:
            return [serializer.of("service", s) for s in queries.minimal_services(connection, ids)]
        if full:
            return compiled.compiled_services(connection, ids, serializer)
        return summaries.service_summaries(connection, ids, serializer)

    return lister.answer(listing, render)


@router.get(
    "/services/{id}",
    summary="One service, fully nested (HSDS compiled/service)",
    responses={**_ok(_OBJECT), **problem_responses(404, 422, 503)},
)
def service(request: Request, engine: EngineDep, read_engine: ReadEngineDep, id: ObjectId) -> Response:
    serializer = _serializer()
    return _one(
        request, engine, read_engine, "service", id, lambda c, ids: compiled.compiled_services(c, ids, serializer)
    )


@router.get(
    "/organizations",
    summary="Organizations (HSDS compiled/organization_list), a Page or ndjson",
    responses={**_ok(_PAGE, stream=True), **_ERRORS},
)
def list_organizations(
    lister: ListerDep, search: Search = None, full_service: FullService = False, full: Full = False
) -> Response:
    serializer = _serializer()

    def render(connection: Connection, ids: list) -> list[dict]:
        if full or full_service:
            return compiled.compiled_organizations(connection, ids, serializer, full_service=full_service)
        return summaries.organization_summaries(connection, ids, serializer)

    return lister.answer(queries.organizations(_search_text(search)), render)


@router.get(
    "/organizations/{id}",
    summary="One organization, fully nested (HSDS compiled/organization)",
    responses={**_ok(_OBJECT), **problem_responses(404, 422, 503)},
)
def organization(
    request: Request, engine: EngineDep, read_engine: ReadEngineDep, id: ObjectId, full_service: FullService = False
) -> Response:
    serializer = _serializer()
    return _one(
        request,
        engine,
        read_engine,
        "organization",
        id,
        lambda c, ids: compiled.compiled_organizations(c, ids, serializer, full_service=full_service),
    )


@router.get(
    "/taxonomies",
    summary="Taxonomies (HSDS taxonomy), a Page or ndjson",
    responses={**_ok(_PAGE, stream=True), **_ERRORS},
)
def list_taxonomies(lister: ListerDep, search: Search = None) -> Response:
    serializer = _serializer()
    return lister.answer(
        queries.taxonomies(_search_text(search)), lambda c, ids: summaries.taxonomies(c, ids, serializer)
    )


@router.get(
    "/taxonomies/{id}",
    summary="One taxonomy (HSDS taxonomy)",
    responses={**_ok(_OBJECT), **problem_responses(404, 422, 503)},
)
def taxonomy(request: Request, engine: EngineDep, read_engine: ReadEngineDep, id: ObjectId) -> Response:
    serializer = _serializer()
    return _one(request, engine, read_engine, "taxonomy", id, lambda c, ids: summaries.taxonomies(c, ids, serializer))


@router.get(
    "/taxonomy_terms",
    summary="Taxonomy terms (HSDS taxonomy_term), a Page or ndjson",
    responses={**_ok(_PAGE, stream=True), **_ERRORS},
)
def list_taxonomy_terms(
    lister: ListerDep,
    search: Search = None,
    taxonomy_id: Annotated[UUID | None, Query(description="Terms of this taxonomy.")] = None,
    top_only: Annotated[bool, Query(description="Only top-level terms: those without a parent.")] = False,
    parent_id: Annotated[UUID | None, Query(description="Terms whose parent is this term.")] = None,
) -> Response:
    serializer = _serializer()
    listing = queries.taxonomy_terms(_search_text(search), taxonomy_id, parent_id, top_only)
    return lister.answer(listing, lambda c, ids: summaries.taxonomy_terms(c, ids, serializer))


@router.get(
    "/taxonomy_terms/{id}",
    summary="One taxonomy term (HSDS taxonomy_term)",
    responses={**_ok(_OBJECT), **problem_responses(404, 422, 503)},
)
def taxonomy_term(request: Request, engine: EngineDep, read_engine: ReadEngineDep, id: ObjectId) -> Response:
    serializer = _serializer()
    return _one(
        request, engine, read_engine, "taxonomy_term", id, lambda c, ids: summaries.taxonomy_terms(c, ids, serializer)
    )


@router.get(
    "/service_at_locations",
    summary="Services at locations (HSDS compiled/service_at_location_list), a Page or ndjson",
    description=(
        "With `postcode`: sites in that postcode's area (a public site's address, or a service area naming it). "
        "With `postcode` and `proximity`: sites within `proximity` metres of the postcode's centre, nearest "
        "first; a confidential site is measured from the centre of its ~250 km² cell, rounded up to a whole km."
    ),
    responses={**_ok(_PAGE, stream=True), **_ERRORS},
)
def list_service_at_locations(
    lister: ListerDep,
    service_filter: ServiceFilterDep,
    full: Full = False,
    postcode: Annotated[
        str | None, Query(max_length=20, description="A postal or zip code, or its first characters.", examples=["M5V"])
    ] = None,
    proximity: Annotated[
        float | None,
        Query(gt=0, le=500_000, description="Metres from the centre of `postcode` (which it needs).", examples=[5000]),
    ] = None,
) -> Response:
    place = None
    if proximity is not None and postcode is None:
        raise Problem(
            422,
            "validation-error",
            "proximity is measured from a postcode: send postcode too.",
            detail_fr="proximity se mesure depuis un code postal : envoyez aussi postcode.",
            errors=[field_problem("query.proximity", "proximity_needs_postcode")],
        )
    if postcode is not None:
        code = normal_postcode(postcode)
        centre = None
        if proximity is not None:
            with read_connection(lister.read_engine, lister.engine) as connection:
                centre = postcode_centroid(connection, code)
        place = queries.Place(code, proximity, centre)
    listing = queries.service_at_locations(service_filter, place)
    serializer = _serializer()

    def render(connection: Connection, ids: list) -> list[dict]:
        if full:
            return compiled.compiled_service_at_locations(connection, ids, serializer)
        return summaries.service_at_location_summaries(connection, ids, serializer)

    return lister.answer(listing, render)


@router.get(
    "/service_at_locations/{id}",
    summary="One service at a location, fully nested (HSDS compiled/service_at_location)",
    responses={**_ok(_OBJECT), **problem_responses(404, 422, 503)},
)
def service_at_location(request: Request, engine: EngineDep, read_engine: ReadEngineDep, id: ObjectId) -> Response:
    serializer = _serializer()
    return _one(
        request,
        engine,
        read_engine,
        "service_at_location",
        id,
        lambda c, ids: compiled.compiled_service_at_locations(c, ids, serializer),
    )
