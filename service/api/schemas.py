"""Response shapes, for the contract (mobile_api_spec/openapi.yaml).

Routes serialise plain dicts with orjson for speed; these models document exactly those
dicts, and the API tests check real responses against the contract.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from service.directory.categories import category_codes
from service.platform import moments
from service.platform.problem_texts import field_error

# Query parameters typed as dates and times take ISO 8601 text only. Pydantic would also read
# a bare number as a Unix timestamp (`0.5` as 1970-01-01T00:00:00.5Z, in UTC), which the spec
# does not offer and which hides a client's mistake.
_NUMBER = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")


def _iso_text(value):
    if isinstance(value, (int, float)) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
        raise field_error("not_a_number_time")
    return value


# Both are within service/platform/moments.py's range (1900-01-01 to 2999-12-31): a date near the ends of
# Python's calendar overflowed in the arithmetic around it.
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_text), AfterValidator(moments.bounded)]
IsoDate = Annotated[date, BeforeValidator(_iso_text), AfterValidator(moments.bounded)]

# A category group code (service/data/category_groups.yaml), documented as the list of codes.
# Validation stays the route's: it also splits comma-separated codes and names unknown ones.
CategoryCode = Annotated[str, WithJsonSchema({"type": "string", "enum": list(category_codes())})]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Address(BaseModel):
    address_1: str | None = Field(default=None, examples=["20 Gerrard St E"])
    address_2: str | None = Field(default=None, examples=[None])
    city: str | None = Field(default=None, examples=["Toronto"])
    state_province: str | None = Field(default=None, examples=["ON"])
    postal_code: str | None = Field(default=None, examples=["M5B 2P3"])
    country: str | None = Field(default=None, examples=["CA"])


class Phone(BaseModel):
    number: str = Field(examples=["416-555-0134"])
    extension: str | None = Field(default=None, examples=["204"])
    type: str | None = Field(default=None, examples=["voice"])
    description: str | None = Field(default=None, examples=["Intake line"])
    tel: str | None = Field(
        default=None,
        description="RFC 3966 tel: URI in E.164, ready to dial; null if not dialable.",
        examples=["tel:+14165550134"],
    )


class Hours(BaseModel):
    state: str = Field(description="open, closed or unknown.", examples=["open"])
    always_open: bool = Field(description="Open 24/7.")
    label: str = Field(examples=["Open · closes 22:00"])
    next_change: str | None = Field(
        description="'closes 22:00', 'opens Mon 09:00', '24/7' or 'hours unknown'.", examples=["closes 22:00"]
    )
    today: list[str] = Field(description="Today's opening hours, local time.", examples=[["09:00–22:00"]])
    opens_at: str | None = Field(
        examples=["2026-11-26T09:00:00-05:00"], default=None, description="Next opening, ISO 8601 with offset."
    )
    closes_at: str | None = Field(
        examples=["2026-11-25T22:00:00-05:00"], default=None, description="Next closing, ISO 8601 with offset."
    )
    timezone: str = Field(examples=["America/Toronto"])


class Eligibility(BaseModel):
    description: str | None = Field(default=None, examples=["Youth 16 to 24"])
    minimum_age: float | None = Field(default=None, examples=[16])
    maximum_age: float | None = Field(default=None, examples=[24])


class Language(BaseModel):
    code: str = Field(examples=["fr"])
    name: str | None = Field(default=None, examples=["French"])


class Capacity(BaseModel):
    available: float = Field(examples=[4])
    maximum: float | None = Field(default=None, examples=[40])
    unit: str = Field(
        examples=["beds"],
        description=(
            "beds, cots, rooms, spaces, appointments or meals (an imported unit outside these: its name, lower case)."
        ),
    )
    as_of: str = Field(
        examples=["2026-11-24T22:00:00-05:00"], description="When the count was reported, ISO 8601 with offset."
    )
    state: str = Field(description="available or full.", examples=["available"])
    origin: str = Field(description="live (sent by the provider) or file (from the last import).", examples=["live"])
    stale: bool = Field(
        description=(
            "Older than FIELDNAV_CAPACITY_STALE_AFTER_H (12 h) when served: show it greyed with its age, never as free "
            "(`has_capacity` leaves it out)."
        ),
        examples=[False],
    )


class OpenReport(BaseModel):
    kind: str = Field(
        examples=["closed_today"],
        description=(
            "closed_permanently, closed_today, full, wrong_phone, wrong_address, wrong_hours, moved or other."
        ),
    )
    reported_at: str = Field(examples=["2026-12-04T21:40:00+00:00"], description="The newest open report of this kind.")
    count: int = Field(examples=[1], description="Open reports of this kind about the service.")


class SiteFields(BaseModel):
    """What every shape of a service site carries (results, details, packs, sync)."""

    service_id: str = Field(examples=["9c1d7e2a-3b4f-4c5d-8e6f-7a8b9c0d1e2f"])
    location_id: str = Field(examples=["77aa0c3d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"])
    site_key: int = Field(
        examples=[48213],
        description=(
            "A small number for this (service_id, location_id), never reused: the feature id of the site's point in "
            "map tiles (`/v1/tiles`), so the app finds a tapped point among results, pack and sync sites."
        ),
    )
    name: str = Field(examples=["Scarborough Emergency Shelter"])
    alternate_name: str | None = Field(default=None, examples=[None])
    organization_name: str | None = Field(default=None, examples=["Covenant House Toronto"])
    location_name: str | None = Field(default=None, examples=["Downtown site"])
    category_groups: list[str] = Field(examples=[["shelter"]])
    confidential: bool = Field(
        description=(
            "A confidential site: call to connect. Only its allow-list is shown (service and organization name, phones, "
            "hours, languages, eligibility, capacity, ids and keys); every other field is null or empty."
        )
    )
    label: str | None = Field(description="'call to connect' for confidential sites.", examples=[None])
    lon: float | None = Field(
        description="WGS84, 5 decimals; null for confidential or unmapped sites.", examples=[-79.25717]
    )
    lat: float | None = Field(examples=[43.77251])
    address: Address | None = None
    phones: list[Phone]
    url: str | None = Field(default=None, examples=["https://example.org/shelter"])
    email: str | None = Field(default=None, examples=["intake@example.org"])
    eligibility: Eligibility
    languages: list[Language]
    accessibility: list[str] = Field(examples=[["Wheelchair accessible entrance"]])
    capacity: Capacity | None = Field(default=None, description="The first of `capacities` (beds before spaces...).")
    capacities: list[Capacity] = Field(
        default_factory=list, description="Every unit the service counts, one entry each."
    )
    open_reports: list[OpenReport] = Field(
        default_factory=list,
        description=(
            "Unresolved field reports of wrong data (POST /v1/services/{id}/reports): warn the worker, e.g. "
            '"reported closed 3 h ago".'
        ),
    )
    last_verified: str | None = Field(
        examples=["2026-09-14"], description="Date the record was last verified (HSDS assured_date)."
    )
    access: str = Field(description="walk_in, call_first, referral, call_to_connect or unknown.", examples=["walk_in"])
    timezone: str = Field(examples=["America/Toronto"])
    populations: list[str] = Field(
        default_factory=list,
        examples=[["women", "fleeing_violence"]],
        description=(
            "Who the service is for: population group codes (service/data/population_groups.yaml), from AIRS "
            "target-population terms, HSDS attributes and the eligibility text."
        ),
    )
    population_restricted: bool = Field(
        default=False,
        description=(
            "True when a group restricts who is served (women only, youth only...); false when the service states no "
            "restriction (it serves anyone) or only groups that restrict nobody."
        ),
    )


class ServiceSummary(SiteFields):
    hours: Hours
    serves_location: Literal["yes", "no", "unknown"] | None = Field(
        default=None,
        description=(
            "Does the service serve the `serves` point (else the point searched from)? yes: its service area holds "
            "it; no: it does not; unknown: no known area. null on a search with neither serves= nor near=."
        ),
        examples=["yes"],
    )
    distance_m: int | None = Field(
        examples=[640], default=None, description="Geodesic distance in metres (search with near=)."
    )


class OpenRanges(BaseModel):
    """Openings as [start, end) UTC epoch minutes over [from_min, until_min); unknown outside it."""

    from_min: int = Field(examples=[29940780])
    until_min: int = Field(examples=[29991180])
    ranges: list[list[int]] = Field(examples=[[[29957160, 29957640]]])


class OfflineSite(SiteFields):
    """A site as stored on the phone (pack snapshot, sync): no hours of the moment, which
    would be stale once stored, but the weekly rule they are computed from."""

    week_intervals: list[list[int]] | None = Field(
        examples=[[[540, 1020], [1980, 2460]]],
        description=(
            "Open intervals as [start, end) minutes of the site's local week (Monday 00:00 = 0, 10080 = a week); "
            "[[0, 10080]] is 24/7, null is hours unknown or dated (open_ranges)."
        ),
    )
    serves_area: list[list[list[list[float]]]] | None = Field(
        default=None,
        description=(
            "Where the service serves people, for `serves` offline: GeoJSON MultiPolygon coordinates (lon, lat), "
            "simplified to about 200 m; null when no area is known (then it serves anyone as far as we know). A "
            "confidential site's area is made of named areas only (towns, postal prefixes), never an extent."
        ),
    )
    open_ranges: OpenRanges | None = Field(
        default=None,
        description=(
            "Dated openings of a site whose schedules are not plain weekly patterns (monthly, yearly, "
            "every N weeks, dated); null when week_intervals holds its hours or they are unknown."
        ),
    )


class NearestResult(ServiceSummary):
    distance_m: int = Field(
        description="Exact geodesic distance in metres; for confidential sites a coarse, "
        "rounded-up distance (see distance_is_approximate).",
        examples=[850],
    )
    distance_is_approximate: bool
    bearing_deg: int | None = Field(
        description="Direction to the site, degrees clockwise from north; null if confidential.", examples=[45]
    )


class Origin(BaseModel):
    lat: float = Field(examples=[43.6534])
    lon: float = Field(examples=[-79.3839])


class NearestResponse(BaseModel):
    origin: Origin
    at: str = Field(
        description="The time the hours and the open filter refer to, ISO 8601.",
        examples=["2026-11-25T21:03:11.512000-05:00"],
    )
    count: int = Field(examples=[3])
    results: list[NearestResult]


class ServicePage(BaseModel):
    """The HSDS Page envelope."""

    total_items: int = Field(examples=[312])
    total_pages: int = Field(examples=[16])
    page_number: int = Field(examples=[1])
    size: int = Field(examples=[20])
    first_page: bool
    last_page: bool
    empty: bool
    contents: list[ServiceSummary]


class Category(BaseModel):
    code: str = Field(examples=["shelter"])
    label_en: str = Field(examples=["Shelter"])
    label_fr: str = Field(examples=["Hébergement d'urgence"])
    service_count: int = Field(examples=[312])


class CategoryList(BaseModel):
    categories: list[Category]


class HsdsService(_Open):
    """An HSDS 3.0 compiled service (see the HSDS schema service.json), plus HSDS 3.1
    `capacities`, fieldnav's `category_groups`, and `address_private` on locations. Of a
    service with a confidential location only an allow-list is shown (name, organization
    name, phones, structured hours, languages, eligibility, capacities, taxonomy terms, ids);
    every other field is left out (lists stay, empty), and its confidential locations show no more."""

    id: str = Field(examples=["9c1d7e2a-3b4f-4c5d-8e6f-7a8b9c0d1e2f"])
    name: str = Field(examples=["Downtown Youth Emergency Shelter"])
    status: str = Field(examples=["active"])
    category_groups: list[str] = Field(examples=[["shelter", "youth"]])
    open_reports: list[OpenReport] = Field(
        default_factory=list,
        description=("fieldnav's own: unresolved field reports of wrong data about the service, as on result cards."),
    )
    organization: dict | None = None
    phones: list[dict]
    schedules: list[dict]
    service_areas: list[dict]
    service_at_locations: list[dict]
    languages: list[dict]
    attributes: list[dict]
    capacities: list[dict]
