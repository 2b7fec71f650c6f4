"""Places: find a point on the map by name, postal code or street address (service/places/)."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from service.api.dependencies import EngineDep, ReadEngineDep
from service.api.errors import Problem, problem_responses
from service.api.http_cache import cached_json, directory_cache
from service.places.find import MAX_LIMIT, MAX_QUERY_CHARS, find_places
from service.platform.db import read_connection
from service.platform.problem_texts import field_problem
from service.platform.settings import geocoder_settings

router = APIRouter(prefix="/v1", tags=["places"])

# Places change with imports only (and the geocoder's answers hardly ever).
PLACES_CACHE = "public, max-age=300, stale-while-revalidate=300, stale-if-error=86400"


class PlaceResult(BaseModel):
    name: str = Field(description="The place's own name, e.g. `Pembroke` or `12 King St W`.")
    label: str = Field(description="What to show: the name with its city or province, e.g. `Pembroke, ON`.")
    kind: str = Field(
        description="city, postal_code, postal_prefix (the first three characters of a postal code) or address; "
        "an external geocoder's own kinds (e.g. town, street) when it answered.",
        examples=["city"],
    )
    lat: float = Field(ge=-90, le=90, description="Latitude, WGS84 degrees (5 decimals).")
    lon: float = Field(ge=-180, le=180, description="Longitude, WGS84 degrees (5 decimals).")
    source: str = Field(
        description="Where it came from: `directory` (the directory's public addresses), `geonames` "
        "(GeoNames, CC BY 4.0), `fieldnav` (fieldnav's Ontario communities), or the external geocoder "
        "(`nominatim`, `pelias`).",
        examples=["geonames"],
    )


@router.get(
    "/places",
    response_model=list[PlaceResult],
    summary="Find a place by name, postal code or street address",
    description=(
        "Places whose name, postal code (full or its first characters, any case and spacing: `K8A`, "
        "`k8a1a1`) or street address (`12 King St W`) matches `q`: exact matches first, then names "
        "starting with `q`; when neither finds anything, similar names (a typo), most similar first. "
        "Within each, the larger place first. An external "
        "geocoder is asked first when the server has one (FIELDNAV_GEOCODER_URL). The addresses of "
        "confidential sites are never places."
    ),
    responses={304: {"description": "Not Modified"}, **problem_responses(422, 503)},
)
def places(
    request: Request,
    engine: EngineDep,
    read_engine: ReadEngineDep,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=MAX_QUERY_CHARS,
            description="A place name, a postal code or its start, or a street address.",
            examples=["Pembroke"],
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="How many places.")] = 10,
) -> Response:
    if not q.strip():
        raise Problem(
            422,
            "validation-error",
            "q must hold a name, a postal code or an address, not only spaces.",
            title="Invalid request",
            detail_fr="q doit contenir un nom, un code postal ou une adresse, pas seulement des espaces.",
            errors=[field_problem("query.q", "text_blank")],
        )
    found = find_places(partial(read_connection, read_engine, engine), q, limit, geocoder_settings())
    return cached_json(request, [place.as_json() for place in found], cache_control=directory_cache(PLACES_CACHE))
