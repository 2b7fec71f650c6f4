"""Response shapes, for the contract (mobile_api_spec/openapi.yaml).

Routes serialise plain dicts with orjson for speed; these models document exactly those
dicts, and the API tests check real responses against the contract.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Address(BaseModel):
    address_1: str | None = None
    address_2: str | None = None
    city: str | None = None
    state_province: str | None = None
    postal_code: str | None = None
    country: str | None = None


class Phone(BaseModel):
    number: str = Field(examples=["416-555-0134"])
    extension: str | None = None
    type: str | None = Field(default=None, examples=["voice"])
    description: str | None = None
    tel: str | None = Field(default=None, description="RFC 3966 tel: URI in E.164, ready to dial; null if not dialable.",
                            examples=["tel:+14165550134"])


class Hours(BaseModel):
    state: str = Field(description="open, closed or unknown.", examples=["open"])
    always_open: bool = Field(description="Open 24/7.")
    label: str = Field(examples=["Open · closes 22:00"])
    next_change: str | None = Field(description="'closes 22:00', 'opens Mon 09:00', '24/7' or 'hours unknown'.",
                                    examples=["closes 22:00"])
    today: list[str] = Field(description="Today's opening hours, local time.", examples=[["09:00–22:00"]])
    opens_at: str | None = Field(default=None, description="Next opening, ISO 8601 with offset.")
    closes_at: str | None = Field(default=None, description="Next closing, ISO 8601 with offset.")
    timezone: str = Field(examples=["America/Toronto"])


class Eligibility(BaseModel):
    description: str | None = None
    minimum_age: float | None = None
    maximum_age: float | None = None


class Language(BaseModel):
    code: str = Field(examples=["fr"])
    name: str | None = Field(default=None, examples=["French"])


class Capacity(BaseModel):
    available: float = Field(examples=[4])
    maximum: float | None = Field(default=None, examples=[40])
    unit: str = Field(examples=["beds"])
    as_of: str = Field(description="When the count was reported, ISO 8601 with offset.")
    state: str = Field(description="available or full.", examples=["available"])


class ServiceSummary(BaseModel):
    service_id: str
    location_id: str
    name: str = Field(examples=["Scarborough Emergency Shelter"])
    alternate_name: str | None = None
    organization_name: str | None = None
    location_name: str | None = None
    category_groups: list[str] = Field(examples=[["shelter"]])
    confidential: bool = Field(description="A confidential site: no coordinates, no address; call to connect.")
    label: str | None = Field(description="'call to connect' for confidential sites.", examples=[None])
    lon: float | None = Field(description="WGS84, 5 decimals; null for confidential or unmapped sites.", examples=[-79.25717])
    lat: float | None = Field(examples=[43.77251])
    address: Address | None = None
    phones: list[Phone]
    url: str | None = None
    email: str | None = None
    eligibility: Eligibility
    languages: list[Language]
    accessibility: list[str]
    capacity: Capacity | None = None
    last_verified: str | None = Field(description="Date the record was last verified (HSDS assured_date).")
    access: str = Field(description="walk_in, call_first, referral, call_to_connect or unknown.", examples=["walk_in"])
    timezone: str
    hours: Hours
    distance_m: int | None = Field(default=None, description="Geodesic distance in metres (search with near=).")


class NearestResult(ServiceSummary):
    distance_m: int = Field(description="Exact geodesic distance in metres; for confidential sites a coarse, "
                                        "rounded-up distance (see distance_is_approximate).", examples=[850])
    distance_is_approximate: bool
    bearing_deg: int | None = Field(description="Direction to the site, degrees clockwise from north; null if confidential.",
                                    examples=[45])


class Origin(BaseModel):
    lat: float
    lon: float


class NearestResponse(BaseModel):
    origin: Origin
    at: str = Field(description="The time the hours and the open filter refer to, ISO 8601.")
    count: int
    results: list[NearestResult]


class ServicePage(BaseModel):
    """The HSDS Page envelope."""

    total_items: int
    total_pages: int
    page_number: int
    size: int
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
    `capacities`, fieldnav's `category_groups`, and `address_private` on locations."""

    id: str
    name: str
    status: str
    category_groups: list[str]
    organization: dict | None = None
    phones: list[dict]
    schedules: list[dict]
    service_areas: list[dict]
    service_at_locations: list[dict]
    languages: list[dict]
    attributes: list[dict]
    capacities: list[dict]
