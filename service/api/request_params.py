"""Request parameters more than one route reads: their declarations (documented once, the same
everywhere) and the parsing FastAPI cannot do, with our own 422 problems."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import Path, Query, Request
from pydantic import WithJsonSchema

from service.api.schemas import CategoryCode
from service.directory.categories import category_codes
from service.directory.populations import GENDERS, population_codes
from service.directory.search import parse_point
from service.platform.problem_texts import field_problem
from service.platform.problems import Problem
from service.platform.settings import import_settings

CategoryParam = Annotated[
    list[CategoryCode] | None,
    Query(
        description="Category group code (GET /v1/categories); repeat it for several (any of them matches). "
        "A comma-separated list in one value is read too.",
        examples=[["shelter"]],
    ),
]

PopulationCode = Annotated[str, WithJsonSchema({"type": "string", "enum": list(population_codes())})]
PopulationParam = Annotated[
    list[PopulationCode] | None,
    Query(
        description="Who the person is: population group code(s) (women, men, gender_diverse, youth, seniors, "
        "families, indigenous, newcomers, veterans, pets, fleeing_violence, 2slgbtq); repeat it or separate "
        "with commas. Keeps the services for any of these groups and those that state no restriction "
        "(`population_restricted: false` on the result; a group like `pets` only says who is welcome too).",
        examples=[["women", "pets"]],
    ),
]
GenderParam = Annotated[
    str | None,
    WithJsonSchema({"type": "string", "enum": list(GENDERS)}),
    Query(
        description="The person's gender: keeps the services with no gender restriction and those whose "
        "gender groups include it (a men's shelter is left out for `woman`).",
        examples=["woman"],
    ),
]

ServesParam = Annotated[
    str | None,
    Query(
        description="Who serves this address: `lat,lon`, or `here` for the point searched from (nearest's lat/lon, "
        "search's near=). Keeps the services whose service area holds the point and those with no known area; "
        "each result's `serves_location` says which (yes, unknown).",
        examples=["45.8263,-77.1108"],
    ),
]

ServiceId = Annotated[UUID, Path(description="The service's id.", examples=["9c1d7e2a-3b4f-4c5d-8e6f-7a8b9c0d1e2f"])]
HandoffId = Annotated[UUID, Path(description="The handoff's id.", examples=["5b0e3c1e-8a4f-4b6e-9d2a-1f3c5e7a9b0d"])]
PackId = Annotated[
    UUID, Path(description="The pack's id (from its manifest).", examples=["6f1c2b9e-0d4a-4f5e-9b1a-3c2d1e0f9a8b"])
]


def parse_categories(values: list[str] | None) -> tuple[str, ...]:
    """The category group codes of repeated and/or comma-separated ``category`` values, each
    once, in order; 422 ``unknown-category`` naming those that are not codes."""
    codes = tuple(dict.fromkeys(c.strip() for v in values or [] for c in v.split(",") if c.strip()))
    unknown = [c for c in codes if c not in category_codes()]
    if unknown:
        raise Problem(
            422,
            "unknown-category",
            f"Unknown category {', '.join(unknown)}; use one of: {', '.join(category_codes())}.",
            title="Unknown category",
            detail_fr=f"Catégorie inconnue : {', '.join(unknown)}. Choisissez parmi : {', '.join(category_codes())}.",
            errors=[
                field_problem("query.category", "unknown_category", codes=[c], choices=", ".join(category_codes()))
                for c in unknown
            ],
        )
    return codes


def parse_populations(values: list[str] | None) -> tuple[str, ...]:
    """The population group codes of repeated and/or comma-separated ``population`` values,
    each once, in order; 422 naming those that are not codes."""
    codes = tuple(dict.fromkeys(c.strip() for v in values or [] for c in v.split(",") if c.strip()))
    unknown = [c for c in codes if c not in population_codes()]
    if unknown:
        choices = ", ".join(population_codes())
        raise Problem(
            422,
            "validation-error",
            f"Unknown population group {', '.join(unknown)}; use one of: {choices}.",
            title="Invalid request",
            detail_fr=f"Groupe de population inconnu : {', '.join(unknown)}. Choisissez parmi : {choices}.",
            errors=[
                field_problem("query.population", "unknown_population", codes=[c], choices=choices) for c in unknown
            ],
        )
    return codes


def parse_gender(value: str | None) -> str | None:
    """The gender group code (service/directory/populations.py) of a ``gender`` value, or
    None; 422 naming the value when it is not one of GENDERS."""
    if value is None or not value.strip():
        return None
    if value.strip() not in GENDERS:
        choices = ", ".join(GENDERS)
        raise Problem(
            422,
            "validation-error",
            f"Unknown gender {value.strip()}; use one of: {choices}.",
            title="Invalid request",
            detail_fr=f"Genre inconnu : {value.strip()}. Utilisez l’une de ces valeurs : {choices}.",
            errors=[field_problem("query.gender", "unknown_gender", codes=[value.strip()], choices=choices)],
        )
    return GENDERS[value.strip()]


def parse_serves(value: str | None, here: tuple[float, float] | None) -> tuple[float, float] | None:
    """The (lat, lon) of a ``serves`` value: ``here`` (the read's own point, None when it has
    none) or ``lat,lon``; 422 for anything else."""
    if value is None or not value.strip():
        return None
    if value.strip().lower() == "here":
        if here is None:
            raise Problem(
                422,
                "validation-error",
                "serves=here needs the point searched from: give near=lat,lon too, or serves=lat,lon.",
                title="Invalid request",
                detail_fr="serves=here désigne le point de la recherche : indiquez aussi near=lat,lon, ou "
                "serves=lat,lon.",
                errors=[field_problem("query.serves", "serves_here_without_point")],
            )
        return here
    return parse_point(value, "serves")


def parse_languages(values: list[str] | None) -> tuple[str, ...]:
    """ISO 639 codes (lower case, each once) of repeated and/or comma-separated ``language``
    values; 422 when one is not two or three letters."""
    codes = tuple(dict.fromkeys(c.strip().lower() for v in values or [] for c in v.split(",") if c.strip()))
    bad = [c for c in codes if not (2 <= len(c) <= 3 and c.isalpha())]
    if bad:
        raise Problem(
            422,
            "validation-error",
            f"language must be ISO 639 codes such as en or fr, not {', '.join(bad)}.",
            title="Invalid request",
            detail_fr=f"language doit contenir des codes ISO 639 comme en ou fr, et non {', '.join(bad)}.",
            errors=[field_problem("query.language", "language_code_invalid", codes=[c]) for c in bad],
        )
    return codes


def in_default_timezone(moment: datetime) -> datetime:
    """``moment`` as given when it has a UTC offset; without one, read as local time of the
    directory's default timezone (FIELDNAV_DEFAULT_TIMEZONE, America/Toronto)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=ZoneInfo(import_settings().default_timezone))
    return moment


def require_utc_offset(moment: datetime | None, name: str) -> datetime | None:
    """``moment`` (or None) when it has a UTC offset; 422 naming the query parameter ``name``
    when it has none (a time without one is ambiguous)."""
    if moment is not None and moment.tzinfo is None:
        raise Problem(
            422,
            "validation-error",
            f"{name} needs a UTC offset, e.g. 2026-11-26T09:00:00-05:00.",
            title="Invalid request",
            detail_fr=f"{name} doit comporter un décalage UTC, par exemple 2026-11-26T09:00:00-05:00.",
            errors=[field_problem(f"query.{name}", "timezone_aware")],
        )
    return moment


def _media_quality(accept: str, media_type: str) -> float:
    """The q a request's ``Accept`` gives ``media_type``: its most specific matching range wins
    (``text/html`` over ``text/*`` over ``*/*``), as RFC 9110 12.5.1 says."""
    kind = media_type.split("/")[0] + "/*"
    best_specificity, quality = -1, 0.0
    for part in accept.split(","):
        name, *params = (piece.strip() for piece in part.split(";"))
        specificity = {media_type: 2, kind: 1, "*/*": 0}.get(name.lower(), -1)
        if specificity <= best_specificity:
            continue
        q = next((p[2:] for p in params if p.lower().startswith("q=")), "1")
        try:
            best_specificity, quality = specificity, min(max(float(q), 0.0), 1.0)
        except ValueError:
            best_specificity, quality = specificity, 1.0
    return quality


GEOJSON = "application/geo+json"


def wants_geojson(request: Request) -> bool:
    """An RFC 7946 FeatureCollection rather than the plain JSON list (nearest, search)."""
    return GEOJSON in request.headers.get("accept", "")


def prefers_html(request: Request) -> bool:
    """True when the client ranks HTML above JSON (a browser's address bar); API clients, curl
    (``*/*``) and requests with no ``Accept`` get JSON."""
    accept = request.headers.get("accept", "")
    return _media_quality(accept, "text/html") > _media_quality(accept, "application/json")
