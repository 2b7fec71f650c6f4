"""A deterministic, realistic data set of Ontario community services in HSDS 3.0 form.

``generate_services(count, seed)`` yields compiled HSDS 3.0 service objects (the shape of
``schema/compiled/service.json``) with fieldnav's extensions: ``location.address_private``
for confidential sites (shelters for people fleeing violence) and HSDS 3.1 ``capacities``
(shelter beds). The same seed always gives the same data; nothing reads the wall clock.

Places come from ``data/ontario_places.csv`` (real coordinates, 2021 census populations)
and are picked in proportion to population. Each site is jittered uniformly in a disc
whose radius grows with the square root of the population, and kept on Ontario land by a
coarse outline (below) that follows the borders and the Great Lakes shores near towns.
Services come from ~30 archetypes whose 211/AIRS codes cover every category group in
``data/category_groups.yaml``.

Organization names follow real Ontario patterns, but every contact detail is fictional:
phone numbers are in the 555-01xx range reserved for fiction, web sites and mailboxes are
under example.org. Yielded objects share a few constant sub-objects (organizations,
taxonomy terms, the bed unit): treat them as read-only.
"""

from __future__ import annotations

import bisect
import csv
import io
import json
import math
import random
import re
import time
import unicodedata
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from functools import lru_cache
from importlib import resources
from pathlib import Path

try:
    import orjson
except ImportError:  # pragma: no cover - orjson is a dependency; json is the fallback
    orjson = None

TIMEZONE = "America/Toronto"
PLACES_FILE = "ontario_places.csv"

# Ids that must be equal in every data set (shared terms, organizations, the bed unit)
# are uuid5 names under this namespace; service-specific ids come from the seeded rng.
DEMO_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://fieldnav.example.org/demo-data")

# The reference "now" of a data set: a moment in 2025 chosen by the seed, so timestamps
# ("last verified", "beds updated") look recent but never depend on the wall clock.
_REFERENCE_BASE_S = datetime(2025, 1, 1, tzinfo=timezone.utc).timestamp()
_REFERENCE_SPAN_S = 365 * 86400
_DAY_S = 86400

KM_PER_DEG_LAT = 111.32
_SMALL_TOWN_RADIUS_KM = 1.5  # jitter radius of a 2,000-person town ...
_SMALL_TOWN_POPULATION = 2000
_MAX_RADIUS_KM = 15.0  # ... growing with sqrt(population) up to this (Toronto rows)
_MAX_SITE_TRIES = 16  # then the site sits at the place centre

# --------------------------------------------------------------------------- land outline

# Ontario's land, coarse (a few km) but closer near towns: borders with Manitoba, Quebec
# and the United States, and the shores of Hudson and James Bay and the Great Lakes.
# (lon, lat) rings; a point is on land when it is inside an odd number of rings.
_ONTARIO = (
    (-95.153, 49.384), (-95.153, 52.830), (-88.950, 56.850), (-87.600, 56.120),
    (-86.500, 55.850), (-85.200, 55.300), (-83.500, 55.200), (-82.300, 55.150),
    (-82.200, 54.000), (-82.150, 53.200), (-82.230, 52.930), (-81.450, 52.250),
    (-80.800, 51.650), (-80.450, 51.350), (-80.000, 51.230), (-79.517, 51.450),
    # Quebec: north-south line, Lake Timiskaming, Ottawa River
    (-79.517, 47.600), (-79.580, 47.500), (-79.560, 47.400), (-79.450, 47.200),
    (-79.300, 46.950), (-79.100, 46.720), (-78.950, 46.400), (-78.700, 46.325),
    (-78.280, 46.265), (-77.700, 46.190), (-77.490, 46.112), (-77.280, 45.925),
    (-77.110, 45.834), (-76.900, 45.780), (-76.700, 45.620), (-76.500, 45.520),
    (-76.350, 45.450), (-76.200, 45.480), (-76.080, 45.510), (-75.850, 45.385),
    (-75.800, 45.365), (-75.720, 45.415), (-75.700, 45.428), (-75.660, 45.445),
    (-75.600, 45.470), (-75.500, 45.500), (-75.290, 45.558), (-75.000, 45.600),
    (-74.800, 45.600), (-74.600, 45.615), (-74.380, 45.560), (-74.480, 45.310),
    # St. Lawrence River (Cornwall Island inside), Thousand Islands
    (-74.340, 45.200), (-74.500, 45.130), (-74.650, 45.040), (-74.660, 44.990),
    (-74.800, 45.000), (-74.950, 44.985), (-75.000, 44.995), (-75.180, 44.893),
    (-75.320, 44.845), (-75.380, 44.780), (-75.520, 44.706), (-75.680, 44.582),
    (-75.850, 44.450), (-75.940, 44.380), (-76.160, 44.324), (-76.350, 44.260),
    # Lake Ontario (Prince Edward County inside, Bay of Quinte ignored)
    (-76.470, 44.228), (-76.600, 44.210), (-76.770, 44.180), (-76.950, 44.100),
    (-76.850, 43.950), (-77.250, 43.880), (-77.450, 43.980), (-77.580, 44.045),
    (-77.740, 44.025), (-77.900, 44.000), (-78.170, 43.953), (-78.290, 43.944),
    (-78.590, 43.900), (-78.690, 43.883), (-78.830, 43.863), (-78.940, 43.852),
    (-79.020, 43.825), (-79.080, 43.812), (-79.120, 43.792), (-79.200, 43.742),
    (-79.230, 43.712), (-79.290, 43.668), (-79.330, 43.646), (-79.380, 43.640),
    (-79.420, 43.633), (-79.470, 43.630), (-79.490, 43.613), (-79.540, 43.583),
    (-79.580, 43.548), (-79.610, 43.520), (-79.630, 43.500), (-79.670, 43.445),
    (-79.710, 43.393), (-79.780, 43.330), (-79.792, 43.318), (-79.795, 43.300),
    # Hamilton Harbour
    (-79.830, 43.300), (-79.870, 43.292), (-79.890, 43.285), (-79.860, 43.272),
    (-79.820, 43.268), (-79.775, 43.270), (-79.760, 43.255), (-79.720, 43.236),
    (-79.640, 43.222), (-79.560, 43.207), (-79.470, 43.190), (-79.380, 43.183),
    (-79.270, 43.200), (-79.220, 43.225), (-79.140, 43.250), (-79.070, 43.264),
    # Niagara River
    (-79.060, 43.255), (-79.050, 43.200), (-79.050, 43.160), (-79.060, 43.120),
    (-79.068, 43.090), (-79.075, 43.077), (-79.050, 43.058), (-79.020, 43.040),
    (-78.960, 42.980), (-78.920, 42.930), (-78.905, 42.907), (-78.925, 42.890),
    # Lake Erie
    (-78.960, 42.875), (-79.060, 42.865), (-79.100, 42.835), (-79.180, 42.865),
    (-79.250, 42.875), (-79.450, 42.870), (-79.580, 42.855), (-79.980, 42.790),
    (-80.200, 42.778), (-80.330, 42.680), (-80.450, 42.620), (-80.700, 42.640),
    (-80.810, 42.642), (-81.210, 42.662), (-81.500, 42.560), (-81.780, 42.330),
    (-81.850, 42.270), (-81.910, 42.255), (-82.150, 42.150), (-82.450, 42.090),
    (-82.510, 41.910), (-82.560, 42.000), (-82.600, 42.033), (-82.740, 42.025),
    (-82.930, 42.000), (-83.080, 42.030), (-83.120, 42.050),
    # Detroit River, Lake St. Clair, St. Clair River (Walpole Island inside)
    (-83.115, 42.100), (-83.100, 42.160), (-83.105, 42.230), (-83.080, 42.300),
    (-83.040, 42.322), (-82.990, 42.335), (-82.930, 42.345), (-82.850, 42.330),
    (-82.710, 42.300), (-82.550, 42.310), (-82.460, 42.320), (-82.420, 42.400),
    (-82.400, 42.480), (-82.450, 42.540), (-82.520, 42.545), (-82.540, 42.600),
    (-82.480, 42.700), (-82.460, 42.800), (-82.450, 42.890), (-82.412, 42.975),
    # Lake Huron, Bruce Peninsula, Georgian Bay
    (-82.420, 43.000), (-82.270, 43.040), (-82.100, 43.120), (-82.020, 43.200),
    (-81.760, 43.310), (-81.700, 43.560), (-81.730, 43.745), (-81.720, 43.950),
    (-81.645, 44.178), (-81.500, 44.320), (-81.400, 44.435), (-81.375, 44.500),
    (-81.270, 44.630), (-81.350, 44.900), (-81.660, 45.260), (-81.450, 45.150),
    (-81.250, 44.990), (-81.150, 44.800), (-81.140, 44.745), (-81.050, 44.650),
    (-80.955, 44.585), (-80.930, 44.585), (-80.880, 44.650), (-80.670, 44.700),
    (-80.590, 44.615), (-80.450, 44.565), (-80.215, 44.510), (-80.020, 44.527),
    (-80.000, 44.580), (-80.100, 44.700), (-80.050, 44.800), (-79.930, 44.780),
    (-79.880, 44.758), (-79.810, 44.750), (-79.820, 44.870), (-79.950, 45.000),
    (-80.050, 45.345), (-80.400, 45.600), (-80.570, 45.770), (-80.900, 45.950),
    # North Channel, St. Marys River
    (-81.510, 45.970), (-81.600, 46.050), (-81.800, 46.100), (-82.100, 46.120),
    (-82.350, 46.190), (-82.550, 46.180), (-82.960, 46.172), (-83.550, 46.250),
    (-83.790, 46.300), (-83.920, 46.340), (-84.050, 46.450), (-84.150, 46.520),
    (-84.250, 46.505), (-84.340, 46.508), (-84.450, 46.500), (-84.590, 46.530),
    # Lake Superior
    (-84.600, 46.900), (-84.680, 47.250), (-84.850, 47.600), (-84.900, 47.950),
    (-85.800, 48.150), (-86.300, 48.600), (-86.410, 48.720), (-86.700, 48.750),
    (-87.100, 48.775), (-87.520, 48.830), (-88.000, 48.930), (-88.250, 48.990),
    (-88.600, 48.700), (-88.900, 48.330), (-88.980, 48.420), (-89.100, 48.480),
    (-89.210, 48.440), (-89.200, 48.370), (-89.250, 48.280), (-89.400, 48.100),
    # Minnesota: boundary waters, Rainy River, Lake of the Woods
    (-89.580, 48.000), (-90.000, 48.100), (-90.800, 48.200), (-91.500, 48.050),
    (-92.000, 48.350), (-92.600, 48.450), (-93.000, 48.620), (-93.400, 48.600),
    (-93.800, 48.520), (-94.570, 48.715), (-94.700, 48.850), (-95.100, 49.200),
)
_MANITOULIN = (
    (-81.930, 45.995), (-81.700, 45.960), (-81.600, 45.820), (-81.640, 45.700),
    (-82.000, 45.550), (-82.500, 45.600), (-83.000, 45.750), (-83.250, 45.900),
    (-82.900, 46.000), (-82.400, 46.020), (-82.100, 45.990),
)
# Inland lakes next to towns in the list (holes in the land).
_LAKE_SIMCOE = (
    (-79.680, 44.383), (-79.680, 44.392), (-79.600, 44.405), (-79.540, 44.430),
    (-79.480, 44.500), (-79.420, 44.560), (-79.400, 44.585), (-79.300, 44.550),
    (-79.200, 44.480), (-79.160, 44.420), (-79.220, 44.340), (-79.330, 44.310),
    (-79.450, 44.320), (-79.500, 44.350), (-79.560, 44.375), (-79.620, 44.376),
)
_LAKE_NIPISSING = (
    (-79.475, 46.300), (-79.650, 46.310), (-79.900, 46.330), (-80.100, 46.300),
    (-80.250, 46.230), (-80.150, 46.120), (-79.900, 46.100), (-79.650, 46.170),
    (-79.480, 46.230), (-79.470, 46.270),
)
_LAND_RINGS = (_ONTARIO, _MANITOULIN, _LAKE_SIMCOE, _LAKE_NIPISSING)

Edge = tuple[float, float, float, float]  # lon1, lat1, lon2, lat2


def _ring_edges(ring: Sequence[tuple[float, float]]) -> list[Edge]:
    return [(*ring[i], *ring[(i + 1) % len(ring)]) for i in range(len(ring))]


_LAND_EDGES: tuple[Edge, ...] = tuple(edge for ring in _LAND_RINGS for edge in _ring_edges(ring))


def on_land(lat: float, lon: float) -> bool:
    """True when (lat, lon) is on Ontario land, per the coarse outline (ray casting)."""
    inside = False
    for x1, y1, x2, y2 in _LAND_EDGES:
        if (y1 > lat) != (y2 > lat) and lon < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def _segments_cross(ax: float, ay: float, bx: float, by: float, edge: Edge) -> bool:
    cx, cy, dx, dy = edge
    if ((dx - cx) * (ay - cy) - (dy - cy) * (ax - cx) > 0) == ((dx - cx) * (by - cy) - (dy - cy) * (bx - cx) > 0):
        return False
    return ((bx - ax) * (cy - ay) - (by - ay) * (cx - ax) > 0) != ((bx - ax) * (dy - ay) - (by - ay) * (dx - ax) > 0)


# --------------------------------------------------------------------------- places

_TORONTO_AREAS = {"Toronto (Downtown)", "North York", "Scarborough", "Etobicoke", "York", "East York"}
# First digit of Toronto's M-postal codes, by former municipality.
_TORONTO_FSA_DIGITS = {
    "Toronto (Downtown)": "456", "North York": "23", "Scarborough": "1", "Etobicoke": "89",
    "York": "6", "East York": "4",
}
# The name used inside service names, when it is not the place name before " (".
_LABELS = {
    "Toronto (Downtown)": "Toronto", "Ottawa (Centre)": "Ottawa", "Ottawa (Kanata)": "Kanata",
    "Ottawa (Orléans)": "Orléans", "Ottawa (Barrhaven)": "Barrhaven",
    "Ohsweken (Six Nations)": "Six Nations",
}
# French-language communities: (chance a service offers French, chance its name is French).
_FRANCOPHONE = {
    **dict.fromkeys(
        ["Hawkesbury", "Hearst", "Kapuskasing", "Casselman", "Rockland", "Embrun",
         "Sturgeon Falls", "Ottawa (Orléans)", "Alexandria", "Smooth Rock Falls"],
        (0.85, 0.45),
    ),
    **dict.fromkeys(
        ["Ottawa (Centre)", "Ottawa (Kanata)", "Ottawa (Barrhaven)", "Sudbury", "Timmins",
         "Cornwall", "Cochrane", "Iroquois Falls", "Temiskaming Shores", "Penetanguishene",
         "North Bay", "Welland", "Kirkland Lake", "Chapleau", "Mattawa", "Elliot Lake",
         "Espanola", "Geraldton", "Englehart"],
        (0.5, 0.15),
    ),
}
_FRENCH_ELSEWHERE = 0.15
_BIG_CITY_LANGUAGES = ("ar", "es", "zh")  # the default extra languages
# (extra language codes, chance a service offers one of them)
_PLACE_LANGUAGES = {
    "Toronto (Downtown)": (("zh", "es", "ar", "ta"), 0.3), "North York": (("zh", "es", "ar"), 0.3),
    "Scarborough": (("ta", "zh", "ar"), 0.35), "Etobicoke": (("es", "ar", "pa"), 0.25),
    "York": (("es", "zh"), 0.25), "East York": (("ar", "zh"), 0.2),
    "Brampton": (("pa", "ta", "es"), 0.4), "Mississauga": (("ar", "pa", "zh", "es"), 0.3),
    "Markham": (("zh", "ta"), 0.4), "Richmond Hill": (("zh", "ar"), 0.3),
    "Vaughan": (("es", "zh", "ar"), 0.2), "Milton": (("pa", "ar"), 0.2),
    "Ajax": (("ta", "ar"), 0.15), "Pickering": (("ta", "zh"), 0.15),
    "Windsor": (("ar", "es"), 0.2), "London": (("ar", "es"), 0.15),
    "Kitchener": (("ar", "es"), 0.12), "Ottawa (Centre)": (("ar", "es", "zh"), 0.15),
    "Hamilton": (("ar", "es"), 0.12),
}
# Indigenous communities and towns with large Indigenous populations: (language, chance).
_INDIGENOUS_LANGUAGES = {
    **dict.fromkeys(
        ["Moosonee", "Moose Factory", "Attawapiskat", "Kashechewan", "Fort Albany",
         "Peawanuck", "Fort Severn"], ("cr", 0.7)),
    **dict.fromkeys(["Sandy Lake", "Big Trout Lake"], ("ojs", 0.7)),
    **dict.fromkeys(
        ["Pikangikum", "Fort Hope (Eabametoong)", "Wikwemikong", "Walpole Island"], ("oj", 0.7)),
    **dict.fromkeys(["Akwesasne (Cornwall Island)", "Tyendinaga Mohawk Territory", "Ohsweken (Six Nations)"], ("moh", 0.5)),
    **dict.fromkeys(
        ["Sioux Lookout", "Kenora", "Thunder Bay", "Red Lake", "Dryden", "Fort Frances",
         "Nipigon", "Geraldton", "Little Current", "Sault Ste. Marie", "Sudbury"], ("oj", 0.12)),
    "Timmins": ("cr", 0.12),
}
LANGUAGE_NAMES = {
    "en": "English", "fr": "French", "ar": "Arabic", "pa": "Punjabi", "zh": "Mandarin",
    "es": "Spanish", "ta": "Tamil", "oj": "Ojibwe", "cr": "Cree", "ojs": "Oji-Cree",
    "moh": "Mohawk",
}
# Places whose area code or postal letter the coarse rules below get wrong.
_AREA_CODE_OVERRIDES = {
    "Peterborough": "705", "Alliston": "705", "Owen Sound": "519", "Kincardine": "519",
    "Port Elgin": "519", "Hanover": "519", "Meaford": "519", "Walkerton": "519",
    "Keswick": "905", "Bancroft": "613",
}
_AREA_CODE_OVERLAYS = {
    "416": ("416", "647", "437"), "905": ("905", "289", "365"), "613": ("613", "343"),
    "705": ("705", "249"), "519": ("519", "226", "548"), "807": ("807",),
}


@dataclass(frozen=True, slots=True)
class Place:
    """A community from ontario_places.csv, with everything derived from it once."""

    name: str
    lat: float
    lon: float
    population: int
    label: str  # used in service names ("Scarborough Community Food Bank")
    city: str  # the municipality, for addresses ("Toronto")
    area_codes: tuple[str, ...]
    postal_prefixes: tuple[str, ...]  # first two characters of the postal code ("K1")
    french_share: float
    french_name_share: float
    extra_languages: tuple[str, ...]
    extra_language_share: float
    radius_km: float
    km_per_deg_lon: float
    edges: tuple[Edge, ...]  # land-outline edges within reach of the jitter disc
    centre_on_land: bool


def _primary_area_code(name: str, lat: float, lon: float) -> str:
    if name in _TORONTO_AREAS:
        return "416"
    if name in _AREA_CODE_OVERRIDES:
        return _AREA_CODE_OVERRIDES[name]
    if lon < -85.0:
        return "807"
    if lon > -77.9 and lat < 46.5:
        return "613"
    if lat >= 44.3:
        return "705"
    return "519" if lon < -80.05 else "905"


def _postal_prefixes(name: str, area_code: str, lat: float, lon: float, population: int) -> tuple[str, ...]:
    if name in _TORONTO_FSA_DIGITS:
        return tuple("M" + digit for digit in _TORONTO_FSA_DIGITS[name])
    letter = {"613": "K", "905": "L", "519": "N", "807": "P"}.get(area_code)
    if letter is None:  # 705: the north is P; Simcoe, Muskoka's south and the Kawarthas are L or K
        letter = "P" if lat >= 45.0 else ("K" if lon > -78.9 else "L")
    if population < 5000:
        return (letter + "0",)  # rural delivery areas have a 0 as the second character
    return tuple(letter + str(digit) for digit in range(1, 10))


def _radius_km(population: int) -> float:
    return min(_MAX_RADIUS_KM, _SMALL_TOWN_RADIUS_KM * math.sqrt(population / _SMALL_TOWN_POPULATION))


def _edges_near(lat: float, lon: float, radius_km: float, km_per_deg_lon: float) -> tuple[Edge, ...]:
    # A little margin so an edge just outside the disc's bounding box still counts.
    dlat = radius_km * 1.05 / KM_PER_DEG_LAT
    dlon = radius_km * 1.05 / km_per_deg_lon
    return tuple(
        edge for edge in _LAND_EDGES
        if max(edge[0], edge[2]) >= lon - dlon and min(edge[0], edge[2]) <= lon + dlon
        and max(edge[1], edge[3]) >= lat - dlat and min(edge[1], edge[3]) <= lat + dlat
    )


def _place(name: str, lat: float, lon: float, population: int) -> Place:
    base = name.split(" (")[0]
    area_code = _primary_area_code(name, lat, lon)
    french_share, french_name_share = _FRANCOPHONE.get(name, (_FRENCH_ELSEWHERE, 0.0))
    if name in _INDIGENOUS_LANGUAGES:
        code, share = _INDIGENOUS_LANGUAGES[name]
        extra_languages, extra_share = (code,), share
    else:
        extra_languages, extra_share = _PLACE_LANGUAGES.get(name, (_BIG_CITY_LANGUAGES, 0.06 if population >= 50000 else 0.0))
    radius_km = _radius_km(population)
    km_per_deg_lon = KM_PER_DEG_LAT * math.cos(math.radians(lat))
    return Place(
        name=name,
        lat=lat,
        lon=lon,
        population=population,
        label=_LABELS.get(name, base),
        city="Toronto" if name in _TORONTO_AREAS else base,
        area_codes=_AREA_CODE_OVERLAYS[area_code],
        postal_prefixes=_postal_prefixes(name, area_code, lat, lon, population),
        french_share=french_share,
        french_name_share=french_name_share,
        extra_languages=extra_languages,
        extra_language_share=extra_share,
        radius_km=radius_km,
        km_per_deg_lon=km_per_deg_lon,
        edges=_edges_near(lat, lon, radius_km, km_per_deg_lon),
        centre_on_land=on_land(lat, lon),
    )


@lru_cache(maxsize=1)
def load_places() -> tuple[Place, ...]:
    """The places of ontario_places.csv, in file order."""
    text = resources.files("service.data").joinpath(PLACES_FILE).read_text("utf-8")
    return tuple(
        _place(row["name"], float(row["lat"]), float(row["lon"]), int(row["population"]))
        for row in csv.DictReader(io.StringIO(text))
    )


# --------------------------------------------------------------------------- archetypes


@dataclass(frozen=True)
class Term:
    """A 211/AIRS taxonomy term."""

    code: str
    name: str
    description: str


T_HOMELESS = Term("BH-1800.8500", "Homeless Shelter", "Temporary accommodation and basic necessities for people who have no place to live.")
T_DV_SHELTER = Term("BH-1800.1500-100", "Domestic Violence Shelters", "Confidential emergency housing for people fleeing abuse, and their children.")
T_YOUTH_SHELTER = Term("BH-1800.1500-700", "Runaway/Youth Shelters", "Emergency housing and support for young people who are homeless or have left home.")
T_EXTREME_WEATHER = Term("BH-1800.1900", "Extreme Weather Shelters", "Warming and cooling centres that open during extreme weather.")
T_FOOD_PANTRY = Term("BD-1875.2000", "Food Pantries", "Groceries and household staples for people who cannot afford enough food.")
T_SOUP_KITCHEN = Term("BD-5000.8300", "Soup Kitchens", "Free prepared meals served on site.")
T_COMMUNITY_MEALS = Term("BD-5000.1500", "Community Meals", "Free or low-cost meals shared in a community setting.")
T_HOME_MEALS = Term("BD-5000.3500", "Home Delivered Meals", "Hot or frozen meals delivered to people who cannot shop or cook for themselves.")
T_CRISIS_HOTLINE = Term("RP-1500.1400", "General Crisis Intervention Hotlines", "Telephone support for people in emotional distress or crisis.")
T_SUICIDE_HOTLINE = Term("RP-1500.1400-800", "Suicide Prevention Hotlines", "Immediate support for people thinking about suicide and for those worried about them.")
T_DV_HOTLINE = Term("RP-1500.1400-200", "Domestic Violence Hotlines", "Crisis support, safety planning and shelter referral for people experiencing abuse.")
T_MOBILE_CRISIS = Term("RP-1500.3300", "Mobile Crisis Units", "Mental health workers who respond in person to people in crisis in the community.")
T_WALK_IN = Term("RP-1400.8000-020", "Walk In Counseling", "Single-session counselling without an appointment.")
T_COUNSELLING = Term("RP-1400.8000", "General Counseling Services", "Short-term counselling for personal, emotional and relationship problems.")
T_FAMILY_COUNSELLING = Term("RF-2000", "Family Counseling", "Counselling for families, couples and parents.")
T_DETOX = Term("RX-1700.1500", "Withdrawal Management", "Supervised, safe withdrawal from alcohol or other drugs.")
T_HARM_REDUCTION = Term("RX-8250.3000", "Harm Reduction Services", "Supplies, naloxone and support that reduce the harms of substance use.")
T_SUPERVISED = Term("RX-8250.8000", "Supervised Consumption Services", "A supervised space to use drugs, with staff trained to respond to overdoses.")
T_CLINIC = Term("LN-1500", "Community Clinics", "Primary health care from doctors, nurse practitioners and other providers.")
T_SENIOR_CENTRE = Term("TC-5500.8000", "Senior Centers", "Social, recreational and wellness programs for older adults.")
T_ADULT_DAY = Term("PH-0320", "Adult Day Programs", "Supervised day programs for adults who need support, giving caregivers a break.")
T_LEGAL = Term("FT-3200", "Legal Counseling", "Legal advice and representation for people with low income.")
T_TENANT = Term("FT-4500.4500", "Landlord/Tenant Assistance", "Help with evictions, repairs, rent increases and other tenant problems.")
T_SOCIAL_ASSISTANCE = Term("NL-6000.2000", "Social Assistance Programs", "Financial and employment assistance for people in financial need.")
T_DISABILITY_BENEFITS = Term("NS-1800", "Disability Benefits", "Income support and benefits for people with disabilities.")
T_TAX = Term("DT-8800", "Tax Preparation Assistance", "Free help filing income tax and benefit returns.")
T_JOB_SEARCH = Term("ND-3500", "Job Search/Placement", "Help finding work: job boards, résumés, interview practice and placements.")
T_YOUTH_EMPLOYMENT = Term("ND-6500.9800", "Youth Employment Programs", "Job readiness and placement programs for young people.")
T_NEWCOMER = Term("PH-3500", "Immigrant/Refugee Settlement Services", "Settlement help for newcomers: orientation, forms, referrals and language classes.")
T_NEWCOMER_EMPLOYMENT = Term("ND-6500.3300", "Employment Programs for Newcomers", "Job search support and bridging programs for newcomers.")
T_DROP_IN = Term("TC-1700", "Drop-In Centres", "A place to rest, eat, shower and connect with services, without an appointment.")
T_OUTREACH = Term("PH-8000", "Street Outreach Programs", "Workers who go to people living outside to offer supplies, support and referrals.")
T_MEDICAL_RIDES = Term("BT-4500.4700", "Medical Appointment Transportation", "Rides to medical appointments for people who cannot use transit.")
T_SENIOR_RIDES = Term("BT-4500.6500-800", "Senior Ride Programs", "Door-to-door rides for older adults.")
T_DISABILITY_SUPPORT = Term("LR-8000", "Disability Support Services", "Support for people with developmental or physical disabilities to live in the community.")
T_FAMILY_SUPPORT = Term("PH-6100", "Family Support Centres", "Drop-in play, parenting support and early learning for families with young children.")
T_HOUSING_SEARCH = Term("BH-3700", "Housing Search Assistance", "Help finding and keeping affordable housing.")
T_RENT_BANK = Term("BH-3800.7000", "Rent Payment Assistance", "Grants or loans that cover rent arrears and prevent eviction.")
T_YOUTH_CENTRE = Term("TC-5500.9800", "Youth Centres", "Drop-in, recreation and support programs for young people.")

# Organization name templates shared by several archetypes, and what each organization is.
CMHA = "Canadian Mental Health Association – {place}"
SALVATION_ARMY = "The Salvation Army – {place}"
SUPPORT_SERVICES = "{place} Community Support Services"
PUBLIC_HEALTH = "{place} Public Health"
SOCIAL_SERVICES = "{place} Social Services"
_ORG_DESCRIPTIONS = {
    CMHA: "Community mental health and addiction services for people in {place} and area.",
    SALVATION_ARMY: "Shelter, food and family services in {place}, run by The Salvation Army.",
    SUPPORT_SERVICES: "Home and community support for seniors and adults with disabilities in {place} and area.",
    PUBLIC_HEALTH: "The public health unit serving {place}: clinics, harm reduction and health promotion.",
    SOCIAL_SERVICES: "Municipal social services for {place}: Ontario Works, housing and child care.",
    "Ministry of Children, Community and Social Services": "The Ontario ministry that delivers the Ontario Disability Support Program.",
    "Legal Aid Ontario": "The provincial agency that funds legal aid certificates, clinics and duty counsel across Ontario.",
}
_ORG_DESCRIPTION_DEFAULT = "A non-profit organization serving {place} and area."


@dataclass(frozen=True)
class Archetype:
    """One kind of service: what it is called, does, costs and when it is open."""

    key: str
    weight: float
    terms: tuple[Term, ...]
    names: tuple[tuple[str, str], ...]  # (service name, organization name) templates
    descriptions: tuple[str, ...]
    eligibility: tuple[tuple[str, int | None, int | None], ...]  # (text, minimum age, maximum age)
    application: tuple[str, ...]
    fees: tuple[str, ...]
    hours: tuple[tuple[str, float], ...]  # (schedule pattern, weight)
    path: str  # of the service's page on its organization's web site
    mailbox: str
    # (French service name, French organization name, English service name) templates
    names_fr: tuple[tuple[str, str, str], ...] = ()
    extra_terms: tuple[tuple[Term, float], ...] = ()  # (term, chance it is attached)
    capacity: str | None = None  # description of the beds of a shelter
    hotline: bool = False  # a crisis line: local and toll-free hotline numbers
    private_site: bool = False  # a confidential address (shelters for people fleeing violence)
    second_phone: tuple[str, str] = ("voice", "Intake line")  # (type, description)
    min_population: int = 0  # smaller communities do not have this kind of service


_WALK_IN = "Walk in. No appointment or referral needed."
_WALK_IN_EARLY = "Walk in during open hours; arrive early, space is limited."
_CALL_FIRST = "Call first to book an appointment."
_CALL_INTAKE = "Call first; intake is done by phone."
_REFERRAL = "Referral required from a doctor, nurse practitioner or community agency."
_REFERRAL_CENTRAL = "Referral required through the central intake line."
_FREE = "Free"
_FREE_DONATIONS = "Free; donations welcome"
_FREE_NO_CARD = "Free. No health card or ID needed."
_SLIDING = "Sliding scale based on income; no one is turned away"

ARCHETYPES: tuple[Archetype, ...] = (
    Archetype(
        "emergency_shelter", 6.0, (T_HOMELESS,),
        min_population=8000,
        names=(
            ("{place} Emergency Shelter", "{place} Shelter Services"),
            ("Salvation Army Booth Centre – {place}", SALVATION_ARMY),
            ("{place} Men's Shelter", "{place} Housing and Shelter Network"),
            ("{place} Women's Emergency Shelter", "YWCA {place}"),
            ("{place} Family Shelter", "{place} Family Shelter Inc."),
        ),
        names_fr=(("Refuge d'urgence de {place}", "Services d'hébergement de {place}", "{place} Emergency Shelter"),),
        descriptions=(
            "Emergency beds, meals, showers and laundry for people with nowhere to stay. Staff help residents find housing and connect to health care.",
            "A low-barrier emergency shelter with case management and housing help.",
            "Short-term shelter with three meals a day and help finding permanent housing.",
        ),
        eligibility=(
            ("Adults 16+ experiencing homelessness", 16, None),
            ("Single men 18+ experiencing homelessness", 18, None),
            ("Women and gender-diverse adults 16+ without housing", 16, None),
            ("Families with children experiencing homelessness", None, None),
        ),
        application=("Call first to check bed availability.", "Walk in for intake at any hour; calling ahead helps."),
        fees=(_FREE,),
        hours=(("always", 0.92), ("overnight", 0.05), ("none", 0.03)),
        path="shelter", mailbox="shelter", capacity="Emergency beds",
        extra_terms=((T_HOUSING_SEARCH, 0.2),),
    ),
    Archetype(
        "vaw_shelter", 2.0, (T_DV_SHELTER, T_DV_HOTLINE),
        min_population=4000,
        names=(
            ("{place} Women's Shelter", "{place} Violence Against Women Services"),
            ("Interval House of {place}", "Interval House of {place}"),
            ("{place} Transition House", "{place} Transition House"),
        ),
        names_fr=(("Maison d'hébergement pour femmes de {place}", "Maison d'hébergement pour femmes de {place}", "{place} Women's Shelter"),),
        descriptions=(
            "A confidential shelter and 24-hour crisis line for women and children fleeing violence. Staff offer safety planning, counselling and court support.",
            "Safe, confidential emergency housing for people leaving abusive relationships, with child support workers and transitional housing help.",
        ),
        eligibility=(
            ("Women and their children fleeing violence", None, None),
            ("Women, trans and non-binary people 16+ experiencing abuse, and their children", None, None),
        ),
        application=("Call the crisis line first; the location is confidential.",),
        fees=(_FREE,),
        hours=(("always", 1.0),),
        path="shelter", mailbox="support", capacity="Emergency beds for women and children",
        hotline=True, private_site=True,
    ),
    Archetype(
        "youth_shelter", 1.5, (T_YOUTH_SHELTER,),
        min_population=20000,
        names=(
            ("{place} Youth Shelter", "{place} Youth Services"),
            ("Youth Haven {place}", "Youth Haven {place}"),
        ),
        names_fr=(("Refuge pour jeunes de {place}", "Services à la jeunesse de {place}", "{place} Youth Shelter"),),
        descriptions=(
            "Emergency shelter beds for young people, with meals, life-skills coaching and help returning to school or finding housing.",
            "A safe place to stay for youth who are homeless or cannot go home.",
        ),
        eligibility=(
            ("Youth aged 16 to 24 experiencing homelessness", 16, 24),
            ("Youth aged 12 to 17 in crisis", 12, 17),
        ),
        application=("Call first or walk in; intake is 24 hours a day.",),
        fees=(_FREE,),
        hours=(("always", 0.95), ("none", 0.03)),
        path="youth-shelter", mailbox="youth", capacity="Youth emergency beds",
    ),
    Archetype(
        "warming_centre", 1.5, (T_EXTREME_WEATHER, T_DROP_IN),
        min_population=8000,
        names=(
            ("{place} Warming Centre", "{place} Community Outreach"),
            ("Out of the Cold – {place}", "{place} Out of the Cold"),
        ),
        names_fr=(("Halte-chaleur de {place}", "Services communautaires de {place}", "{place} Warming Centre"),),
        descriptions=(
            "An overnight warming centre with hot drinks, snacks and a place to rest when it is cold.",
            "Overnight space with cots, a hot meal and outreach workers during the winter.",
        ),
        eligibility=(("Anyone who needs a warm place overnight; no ID required", None, None),),
        application=(_WALK_IN,),
        fees=(_FREE,),
        hours=(("warming", 0.7), ("overnight", 0.3)),
        path="warming-centre", mailbox="outreach",
    ),
    Archetype(
        "food_bank", 9.0, (T_FOOD_PANTRY,),
        names=(
            ("{place} Community Food Bank", "{place} Community Food Bank"),
            ("{place} Food Bank", "{place} Food Bank"),
            ("St. Vincent de Paul Food Cupboard – {place}", "Society of St. Vincent de Paul – {place}"),
            ("Salvation Army Food Bank – {place}", SALVATION_ARMY),
        ),
        names_fr=(("Banque alimentaire de {place}", "Banque alimentaire de {place}", "{place} Food Bank"),),
        descriptions=(
            "Emergency groceries, including fresh produce, dairy and baby supplies. Visitors choose their own food.",
            "A food bank offering monthly grocery hampers and referrals to other help in {place}.",
            "Groceries for people who are struggling to afford food, with halal and vegetarian options.",
        ),
        eligibility=(
            ("Residents of {place} and area in financial need; bring ID for each household member", None, None),
            ("Anyone in need; one visit per month", None, None),
        ),
        application=(_WALK_IN, _WALK_IN_EARLY, "Call first to book a pick-up time."),
        fees=(_FREE,),
        hours=(("food_bank", 0.35), ("weekday_9_5", 0.2), ("split_days", 0.15), ("weekday_saturday", 0.1), ("none", 0.12)),
        path="food-bank", mailbox="info",
    ),
    Archetype(
        "soup_kitchen", 3.0, (T_SOUP_KITCHEN,),
        names=(
            ("{place} Soup Kitchen", "{place} Soup Kitchen"),
            ("St. Andrew's Soup Kitchen – {place}", "St. Andrew's Church {place}"),
            ("Good Shepherd Meal Program – {place}", "Good Shepherd Ministries {place}"),
        ),
        names_fr=(("Soupe populaire de {place}", "Soupe populaire de {place}", "{place} Soup Kitchen"),),
        descriptions=(
            "A hot, nutritious meal served every weekday, no questions asked.",
            "Free breakfast and lunch in a welcoming dining room, with take-away bags when available.",
        ),
        eligibility=(("Anyone; no questions asked", None, None),),
        application=(_WALK_IN,),
        fees=(_FREE,),
        hours=(("lunch", 0.4), ("breakfast_lunch", 0.2), ("dinner", 0.2), ("daily_day", 0.1), ("none", 0.07)),
        path="meals", mailbox="info",
    ),
    Archetype(
        "community_meal", 3.0, (T_COMMUNITY_MEALS,),
        names=(
            ("{place} Community Meal", "{place} Community Dinner Network"),
            ("Hot Lunch Program – {place}", "{place} Neighbourhood Centre"),
        ),
        names_fr=(("Repas communautaire de {place}", "Centre communautaire de {place}", "{place} Community Meal"),),
        descriptions=(
            "A free sit-down community dinner prepared by volunteers. Everyone eats together.",
            "A hot lunch and social time for neighbours.",
        ),
        eligibility=(("Everyone welcome", None, None), ("Low-income individuals and families", None, None)),
        application=(_WALK_IN,),
        fees=(_FREE_DONATIONS, "Pay what you can"),
        hours=(("dinner", 0.4), ("sunday_meal", 0.25), ("lunch", 0.2), ("none", 0.1)),
        path="community-meal", mailbox="info",
    ),
    Archetype(
        "meals_on_wheels", 3.0, (T_HOME_MEALS,),
        names=(("Meals on Wheels – {place}", SUPPORT_SERVICES),),
        names_fr=(("Popote roulante de {place}", "Services de soutien communautaire de {place}", "Meals on Wheels – {place}"),),
        descriptions=(
            "Hot and frozen meals delivered to your door by friendly volunteers, with a daily safety check.",
            "Nutritious home-delivered meals for people who have trouble shopping or cooking.",
        ),
        eligibility=(
            ("Seniors and adults with disabilities living at home", 18, None),
            ("Older adults 65+ recovering from illness or surgery", 65, None),
        ),
        application=(_CALL_INTAKE, _REFERRAL),
        fees=("$7 per meal; subsidies available", "$6.50 per hot meal, $5 per frozen meal"),
        hours=(("weekday_830_430", 0.6), ("weekday_9_5", 0.25), ("none", 0.1)),
        path="meals-on-wheels", mailbox="meals", second_phone=("fax", "Fax for referrals"),
    ),
    Archetype(
        "crisis_line", 2.5, (T_CRISIS_HOTLINE, T_SUICIDE_HOTLINE),
        min_population=20000,
        names=(
            ("Distress Centre of {place}", "Distress Centre of {place}"),
            ("{place} Crisis Line", CMHA),
        ),
        names_fr=(("Ligne d'écoute de {place}", "Centre d'écoute de {place}", "{place} Crisis Line"),),
        descriptions=(
            "Confidential emotional support by phone from trained volunteers, any time of day or night.",
            "A 24-hour crisis and suicide prevention line. Callers can talk through a crisis and get referrals.",
        ),
        eligibility=(("Anyone in distress or crisis, any age", None, None), ("People 16+ in emotional distress", 16, None)),
        application=("Call or text any time; no referral needed.",),
        fees=(_FREE,),
        hours=(("always", 0.95), ("distress_evening", 0.05)),
        path="crisis-line", mailbox="crisis", hotline=True,
    ),
    Archetype(
        "mobile_crisis", 2.0, (T_MOBILE_CRISIS,),
        min_population=20000,
        names=(
            ("{place} Mobile Crisis Team", CMHA),
            ("Crisis Outreach and Support Team – {place}", "{place} Crisis Outreach and Support Team"),
        ),
        names_fr=(("Équipe mobile d'intervention de crise de {place}", "Association canadienne pour la santé mentale – {place}", "{place} Mobile Crisis Team"),),
        descriptions=(
            "Mental health workers, often paired with police, who respond in person to people in crisis at home or in the community.",
            "A mobile team that assesses people in a mental health or addiction crisis and connects them to care.",
        ),
        eligibility=(("People of any age in a mental health or addiction crisis in {place}", None, None),),
        application=("Call first; police and paramedics can request the team directly.",),
        fees=(_FREE,),
        hours=(("always", 0.75), ("weekday_8_8", 0.15), ("extended", 0.1)),
        path="mobile-crisis", mailbox="crisis", hotline=True,
    ),
    Archetype(
        "mental_health_walk_in", 4.0, (T_WALK_IN,),
        names=(
            ("{place} Walk-In Counselling", "{place} Counselling Centre"),
            ("Mental Health Walk-In – {place}", CMHA),
        ),
        names_fr=(("Counselling sans rendez-vous de {place}", "Centre de santé mentale de {place}", "{place} Walk-In Counselling"),),
        descriptions=(
            "Free single-session counselling with a therapist, the same day, without an appointment.",
            "Walk-in mental health support for children, youth and adults, with follow-up referrals.",
        ),
        eligibility=(("Anyone 12+; no referral or health card needed", 12, None), ("Children and youth up to 17 and their families", 0, 17)),
        application=(_WALK_IN, "Walk in, or book a virtual session online."),
        fees=(_FREE_NO_CARD,),
        hours=(("weekday_9_5", 0.3), ("extended", 0.25), ("split_days", 0.15), ("evening", 0.1), ("none", 0.12)),
        path="walk-in", mailbox="walkin", second_phone=("text", "Text for support"),
    ),
    Archetype(
        "family_counselling", 4.0, (T_FAMILY_COUNSELLING, T_COUNSELLING),
        names=(
            ("{place} Family Counselling", "{place} Family Services"),
            ("Catholic Family Services of {place}", "Catholic Family Services of {place}"),
            ("Counselling Services – {place}", "Family Service {place}"),
        ),
        names_fr=(("Counselling familial de {place}", "Services à la famille de {place}", "{place} Family Counselling"),),
        descriptions=(
            "Short-term counselling for individuals, couples and families dealing with stress, grief, conflict or abuse.",
            "Professional counselling with fees based on income, in person or by video.",
        ),
        eligibility=(("Individuals, couples and families", None, None), ("Adults 18+", 18, None)),
        application=(_CALL_FIRST, _CALL_INTAKE),
        fees=(_SLIDING, "Free for some programs; sliding scale for others"),
        hours=(("weekday_9_5", 0.35), ("extended", 0.3), ("weekday_saturday", 0.15), ("evening", 0.1), ("none", 0.07)),
        path="counselling", mailbox="intake",
    ),
    Archetype(
        "withdrawal_management", 2.0, (T_DETOX,),
        min_population=25000,
        names=(
            ("{place} Withdrawal Management Centre", "{place} Health Sciences Centre"),
            ("{place} Detox Centre", "{place} Addiction Services"),
        ),
        names_fr=(("Centre de gestion du sevrage de {place}", "Services de toxicomanie de {place}", "{place} Withdrawal Management Centre"),),
        descriptions=(
            "Residential withdrawal management in a safe, supervised setting, with links to treatment afterwards.",
            "Non-medical detox beds and community withdrawal support for alcohol and drugs.",
        ),
        eligibility=(("Adults 16+ who need support to withdraw from alcohol or drugs", 16, None),),
        application=("Call first to check bed availability.", "Walk in or call; police and paramedics may bring clients directly."),
        fees=(_FREE,),
        hours=(("always", 0.85), ("none", 0.1)),
        path="withdrawal-management", mailbox="intake", second_phone=("fax", "Fax for referrals"),
    ),
    Archetype(
        "harm_reduction", 3.0, (T_HARM_REDUCTION,),
        min_population=8000,
        names=(
            ("{place} Harm Reduction Program", PUBLIC_HEALTH),
            ("Consumption and Treatment Services – {place}", "{place} Community Health Centre"),
        ),
        names_fr=(("Programme de réduction des méfaits de {place}", "Santé publique de {place}", "{place} Harm Reduction Program"),),
        descriptions=(
            "Harm reduction supplies, naloxone kits and training, and drug checking. Nurses are on site.",
            "Supervised consumption, overdose response and referrals to treatment and housing.",
        ),
        eligibility=(("Adults 18+ who use drugs", 18, None), ("People who use substances; anonymous", None, None)),
        application=(_WALK_IN,),
        fees=(_FREE_NO_CARD,),
        hours=(("daily_day", 0.3), ("weekday_8_8", 0.2), ("always", 0.15), ("late_outreach", 0.15), ("none", 0.12)),
        path="harm-reduction", mailbox="harmreduction",
        extra_terms=((T_SUPERVISED, 0.3),),
    ),
    Archetype(
        "community_health_centre", 6.0, (T_CLINIC,),
        names=(
            ("{place} Community Health Centre", "{place} Community Health Centre"),
            ("{place} Nurse Practitioner-Led Clinic", "{place} Nurse Practitioner-Led Clinic"),
            ("Indigenous Health Access Centre – {place}", "{place} Indigenous Health Access Centre"),
        ),
        names_fr=(("Centre de santé communautaire de {place}", "Centre de santé communautaire de {place}", "{place} Community Health Centre"),),
        descriptions=(
            "Primary care from doctors, nurse practitioners, dietitians and social workers under one roof.",
            "Team-based primary health care, chronic disease programs and outreach for people who face barriers to care.",
        ),
        eligibility=(
            ("Residents of the catchment area without a family doctor; priority for people facing barriers to care", None, None),
            ("Anyone, including people without OHIP coverage", None, None),
        ),
        application=(_CALL_FIRST, "Walk in for the same-day clinic; call first for other programs."),
        fees=("Free; OHIP not required",),
        hours=(("weekday_830_430", 0.3), ("extended", 0.35), ("weekday_saturday", 0.2), ("none", 0.1)),
        path="primary-care", mailbox="reception",
    ),
    Archetype(
        "seniors_centre", 5.0, (T_SENIOR_CENTRE,),
        names=(
            ("{place} Seniors' Centre", "{place} Seniors' Association"),
            ("{place} Active Living Centre", "{place} Active Living Centre"),
        ),
        names_fr=(("Centre des aînés de {place}", "Club des aînés de {place}", "{place} Seniors' Centre"),),
        descriptions=(
            "Fitness classes, social programs, lunches and foot care for older adults.",
            "A welcoming centre for older adults with recreation, learning and wellness programs.",
        ),
        eligibility=(("Adults 55+", 55, None), ("Older adults 50+", 50, None), ("Seniors 60+", 60, None)),
        application=(_WALK_IN, "Call first to register for programs."),
        fees=("Annual membership $25; some programs extra", _FREE),
        hours=(("weekday_830_430", 0.4), ("weekday_9_5", 0.3), ("split_days", 0.15), ("none", 0.1)),
        path="seniors", mailbox="info",
    ),
    Archetype(
        "adult_day_program", 3.0, (T_ADULT_DAY,),
        min_population=3000,
        names=(
            ("{place} Adult Day Program", SUPPORT_SERVICES),
            ("Alzheimer Society Day Program – {place}", "Alzheimer Society of {place}"),
        ),
        names_fr=(("Programme de jour pour adultes de {place}", "Services de soutien communautaire de {place}", "{place} Adult Day Program"),),
        descriptions=(
            "A supervised day program with activities, a hot lunch and personal care, giving caregivers a break.",
            "Day programs for people living with dementia, with transportation available.",
        ),
        eligibility=(("Seniors 65+ with memory loss or frailty", 65, None), ("Adults 18+ with acquired brain injury or dementia", 18, None)),
        application=(_REFERRAL, _REFERRAL_CENTRAL),
        fees=("Daily fee of $20 to $30; subsidies available",),
        hours=(("weekday_830_430", 0.7), ("split_days", 0.15), ("none", 0.1)),
        path="adult-day-program", mailbox="dayprogram", second_phone=("fax", "Fax for referrals"),
    ),
    Archetype(
        "legal_clinic", 3.0, (T_LEGAL,),
        min_population=8000,
        names=(
            ("{place} Community Legal Services", "{place} Community Legal Services"),
            ("Legal Aid Office – {place}", "Legal Aid Ontario"),
        ),
        names_fr=(("Services juridiques communautaires de {place}", "Clinique juridique communautaire de {place}", "{place} Community Legal Services"),),
        descriptions=(
            "Free legal advice and representation for people with low income in housing, social assistance, employment and human rights law.",
            "Summary legal advice, help with forms and referrals to lawyers.",
        ),
        eligibility=(("Low-income residents of {place}; financial eligibility applies", None, None), ("Tenants and people on social assistance", None, None)),
        application=(_CALL_INTAKE, _CALL_FIRST),
        fees=(_FREE,),
        hours=(("weekday_9_5", 0.6), ("split_days", 0.2), ("none", 0.12)),
        path="legal", mailbox="intake", second_phone=("fax", "Fax"),
        extra_terms=((T_TENANT, 0.5),),
    ),
    Archetype(
        "ontario_works", 3.0, (T_SOCIAL_ASSISTANCE,),
        min_population=5000,
        names=(("Ontario Works – {place}", SOCIAL_SERVICES),),
        names_fr=(("Ontario au travail – {place}", "Services sociaux de {place}", "Ontario Works – {place}"),),
        descriptions=(
            "Financial help for food and housing costs, health benefits and employment support for people in financial need.",
            "Apply for Ontario Works, report changes and get help with emergency assistance.",
        ),
        eligibility=(("Ontario residents in financial need aged 18+ (16–17 in special circumstances)", 16, None),),
        application=("Call first or apply online; walk-in for emergencies.",),
        fees=(_FREE,),
        hours=(("weekday_830_430", 0.85), ("none", 0.1)),
        path="ontario-works", mailbox="ontarioworks",
    ),
    Archetype(
        "odsp_office", 1.5, (T_DISABILITY_BENEFITS,),
        min_population=20000,
        names=(("Ontario Disability Support Program – {place} Office", "Ministry of Children, Community and Social Services"),),
        names_fr=(("Programme ontarien de soutien aux personnes handicapées – {place}", "Ministry of Children, Community and Social Services", "Ontario Disability Support Program – {place} Office"),),
        descriptions=(
            "Income and employment support for people with disabilities. Caseworkers help with applications and benefits.",
        ),
        eligibility=(("Adults 18+ with a disability and in financial need", 18, None),),
        application=(_CALL_INTAKE,),
        fees=(_FREE,),
        hours=(("weekday_830_430", 0.85), ("none", 0.1)),
        path="odsp", mailbox="odsp", second_phone=("fax", "Fax"),
    ),
    Archetype(
        "tax_clinic", 1.5, (T_TAX,),
        names=(
            ("Community Volunteer Income Tax Program – {place}", "{place} Community Volunteer Income Tax Program"),
            ("Free Tax Help – {place}", "{place} Neighbourhood Centre"),
        ),
        names_fr=(("Aide gratuite en matière d'impôt – {place}", "Centre communautaire de {place}", "Free Tax Help – {place}"),),
        descriptions=(
            "Volunteers file income tax and benefit returns for free, so people get the benefits and credits they are owed.",
        ),
        eligibility=(("Households with modest income (about $35,000 for one person)", None, None),),
        application=(_CALL_FIRST, _WALK_IN_EARLY),
        fees=(_FREE,),
        hours=(("split_days", 0.3), ("weekend", 0.2), ("evening", 0.2), ("none", 0.2)),
        path="tax-help", mailbox="tax",
    ),
    Archetype(
        "employment_centre", 6.0, (T_JOB_SEARCH,),
        names=(
            ("{place} Employment Centre", "{place} Employment Services"),
            ("Employment Ontario – {place}", "{place} Career Centre"),
        ),
        names_fr=(("Centre d'emploi de {place}", "Services d'emploi de {place}", "{place} Employment Centre"),),
        descriptions=(
            "Job search help, résumé workshops, training funds and job matching with local employers.",
            "Free employment services: career planning, job postings, computers and placements.",
        ),
        eligibility=(("Job seekers 15+ not in full-time school", 15, None), ("Youth aged 15 to 29 looking for work", 15, 29)),
        application=(_WALK_IN, _CALL_FIRST),
        fees=(_FREE,),
        hours=(("weekday_830_430", 0.4), ("weekday_9_5", 0.3), ("extended", 0.15), ("none", 0.1)),
        path="employment", mailbox="jobs",
        extra_terms=((T_YOUTH_EMPLOYMENT, 0.25),),
    ),
    Archetype(
        "newcomer_settlement", 4.0, (T_NEWCOMER,),
        min_population=20000,
        names=(
            ("{place} Newcomer Settlement Services", "{place} Multicultural Centre"),
            ("Immigrant Services {place}", "Immigrant Services {place}"),
        ),
        names_fr=(("Services d'établissement pour nouveaux arrivants de {place}", "Centre francophone de {place}", "{place} Newcomer Settlement Services"),),
        descriptions=(
            "Settlement counselling, help with forms and documents, English classes and interpretation for newcomers.",
            "Orientation, referrals, language assessment and employment help for immigrants and refugees.",
        ),
        eligibility=(("Permanent residents, refugees and refugee claimants", None, None), ("Newcomers to Canada and their families", None, None)),
        application=(_CALL_FIRST, _WALK_IN),
        fees=(_FREE,),
        hours=(("weekday_9_5", 0.45), ("extended", 0.2), ("weekday_saturday", 0.2), ("none", 0.1)),
        path="settlement", mailbox="settlement",
        extra_terms=((T_NEWCOMER_EMPLOYMENT, 0.3),),
    ),
    Archetype(
        "drop_in_centre", 5.0, (T_DROP_IN,),
        names=(
            ("{place} Community Drop-In", "{place} Neighbourhood Services"),
            ("{place} Indigenous Friendship Centre", "{place} Indigenous Friendship Centre"),
            ("Street Haven Drop-In – {place}", "Street Haven {place}"),
        ),
        names_fr=(("Halte-accueil de {place}", "Services communautaires de {place}", "{place} Community Drop-In"),),
        descriptions=(
            "A drop-in with coffee, meals, showers, laundry, a phone and computers, and workers who help with housing and ID.",
            "A safe daytime space to rest, eat and connect with health and housing workers.",
        ),
        eligibility=(
            ("Adults 18+ who are homeless or precariously housed", 18, None),
            ("Everyone welcome", None, None),
            ("Indigenous people and community members of all ages", None, None),
        ),
        application=(_WALK_IN,),
        fees=(_FREE,),
        hours=(("daily_day", 0.3), ("weekday_9_5", 0.18), ("overnight", 0.18), ("weekend", 0.1), ("always", 0.12), ("none", 0.12)),
        path="drop-in", mailbox="dropin",
    ),
    Archetype(
        "street_outreach", 2.0, (T_OUTREACH,),
        min_population=20000,
        names=(("{place} Street Outreach", "{place} Street Outreach Services"),),
        names_fr=(("Travail de rue de {place}", "Services de travail de rue de {place}", "{place} Street Outreach"),),
        descriptions=(
            "Outreach workers visit encampments and people sleeping outside with food, supplies, naloxone and referrals.",
            "A street outreach van with warm clothing, sleeping bags and transport to shelter.",
        ),
        eligibility=(("People living unsheltered in {place}", None, None),),
        application=("Call first to request a visit from the outreach team.",),
        fees=(_FREE,),
        hours=(("late_outreach", 0.35), ("evening", 0.2), ("daily_day", 0.25), ("none", 0.12)),
        path="outreach", mailbox="outreach",
    ),
    Archetype(
        "transportation", 3.0, (T_MEDICAL_RIDES,),
        names=(
            ("{place} Community Transportation", SUPPORT_SERVICES),
            ("Volunteer Driver Program – {place}", "{place} Volunteer Drivers"),
        ),
        names_fr=(("Transport communautaire de {place}", "Services de soutien communautaire de {place}", "{place} Community Transportation"),),
        descriptions=(
            "Volunteer drivers take people to medical appointments, shopping and day programs.",
            "Accessible rides for people who cannot use regular transit.",
        ),
        eligibility=(("Seniors and adults with disabilities who cannot use public transit", 18, None),),
        application=("Call first; book rides at least 48 hours ahead.",),
        fees=("Per-kilometre fee; subsidies for low-income riders",),
        hours=(("weekday_830_430", 0.6), ("weekday_8_8", 0.2), ("none", 0.12)),
        path="transportation", mailbox="rides",
        extra_terms=((T_SENIOR_RIDES, 0.5),),
    ),
    Archetype(
        "disability_support", 4.0, (T_DISABILITY_SUPPORT,),
        names=(
            ("Community Living {place}", "Community Living {place}"),
            ("{place} Independent Living Centre", "{place} Independent Living Centre"),
            ("March of Dimes Canada – {place}", "March of Dimes Canada – {place}"),
        ),
        names_fr=(("Intégration communautaire {place}", "Intégration communautaire {place}", "Community Living {place}"),),
        descriptions=(
            "Day programs, supported living and employment support for people with developmental disabilities.",
            "Attendant services, home modifications and peer support for people with physical disabilities.",
        ),
        eligibility=(("Adults 18+ with a developmental disability", 18, None), ("People of all ages with physical disabilities", None, None)),
        application=(_REFERRAL_CENTRAL, _CALL_INTAKE),
        fees=(_FREE, "Free for eligible clients"),
        hours=(("weekday_9_5", 0.6), ("weekday_830_430", 0.2), ("none", 0.12)),
        path="support", mailbox="intake", second_phone=("fax", "Fax for referrals"),
    ),
    Archetype(
        "family_centre", 5.0, (T_FAMILY_SUPPORT,),
        names=(
            ("EarlyON Child and Family Centre – {place}", "{place} EarlyON"),
            ("{place} Family Resource Centre", "{place} Family Resource Centre"),
        ),
        names_fr=(("Centre ON y va de {place}", "Centre de ressources familiales de {place}", "EarlyON Child and Family Centre – {place}"),),
        descriptions=(
            "Free drop-in play and learning programs for young children with their parents or caregivers.",
            "Parenting workshops, playgroups and support for families with children up to six.",
        ),
        eligibility=(("Parents and caregivers with children 0 to 6", 0, 6),),
        application=(_WALK_IN, "Walk in; some programs need registration."),
        fees=(_FREE,),
        hours=(("weekday_saturday", 0.35), ("weekday_9_5", 0.3), ("split_days", 0.2), ("none", 0.1)),
        path="earlyon", mailbox="families",
    ),
    Archetype(
        "housing_help", 4.0, (T_HOUSING_SEARCH,),
        names=(
            ("{place} Housing Help Centre", "{place} Housing Help Centre"),
            ("{place} Rent Bank", "{place} Housing Help Centre"),
        ),
        names_fr=(("Centre d'aide au logement de {place}", "Centre d'aide au logement de {place}", "{place} Housing Help Centre"),),
        descriptions=(
            "Help finding affordable housing, applying for subsidized housing and dealing with landlords.",
            "Interest-free loans or grants for rent arrears and help to prevent eviction.",
        ),
        eligibility=(("Tenants and people at risk of losing their housing", None, None), ("Low-income residents facing eviction or arrears", None, None)),
        application=(_CALL_FIRST, _WALK_IN),
        fees=(_FREE,),
        hours=(("weekday_9_5", 0.55), ("split_days", 0.2), ("none", 0.15)),
        path="housing", mailbox="housing",
        extra_terms=((T_RENT_BANK, 0.3),),
    ),
    Archetype(
        "youth_wellness_hub", 2.0, (T_YOUTH_CENTRE, T_COUNSELLING),
        min_population=10000,
        names=(("Youth Wellness Hub – {place}", "Youth Wellness Hubs Ontario – {place}"),),
        names_fr=(("Carrefour bien-être pour les jeunes de {place}", "Carrefour bien-être pour les jeunes de {place}", "Youth Wellness Hub – {place}"),),
        descriptions=(
            "One place for young people to get mental health and substance use support, primary care, and help with school and work.",
        ),
        eligibility=(("Youth aged 12 to 25", 12, 25),),
        application=(_WALK_IN,),
        fees=(_FREE_NO_CARD,),
        hours=(("extended", 0.4), ("evening", 0.2), ("weekday_saturday", 0.2), ("none", 0.12)),
        path="youth", mailbox="youth", second_phone=("text", "Text for support"),
    ),
)

# --------------------------------------------------------------------------- hours

_ALL_DAYS = "MO,TU,WE,TH,FR,SA,SU"
_WEEKDAYS = "MO,TU,WE,TH,FR"
# Weekly opening-hour patterns as (byday, opens_at, closes_at). Conventions: 00:00 to 00:00
# is open the whole day; a closing time earlier than the opening runs past midnight; a
# service without schedules has unknown hours.
SCHEDULE_PATTERNS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "always": ((_ALL_DAYS, "00:00", "00:00"),),
    "weekday_9_5": ((_WEEKDAYS, "09:00", "17:00"),),
    "weekday_830_430": ((_WEEKDAYS, "08:30", "16:30"),),
    "weekday_8_8": ((_WEEKDAYS, "08:00", "20:00"),),
    "extended": (("MO,TU,WE,TH", "09:00", "20:00"), ("FR", "09:00", "17:00")),
    "weekday_saturday": ((_WEEKDAYS, "09:00", "17:00"), ("SA", "10:00", "14:00")),
    "split_days": (("MO,WE,FR", "09:00", "12:00"), ("TU,TH", "13:00", "16:30")),
    "evening": (("MO,TU,WE,TH", "18:00", "21:00"),),
    "dinner": (("MO,WE,FR", "17:00", "19:00"),),
    "lunch": ((_WEEKDAYS, "11:30", "13:30"),),
    "breakfast_lunch": ((_WEEKDAYS, "07:30", "13:30"),),
    "sunday_meal": (("SU", "12:00", "14:00"),),
    "weekend": (("SA,SU", "10:00", "16:00"),),
    "food_bank": (("TU,TH", "10:00", "14:00"), ("WE", "16:00", "19:00")),
    "daily_day": ((_ALL_DAYS, "08:00", "16:00"),),
    "overnight": ((_ALL_DAYS, "20:00", "08:00"),),
    "warming": ((_ALL_DAYS, "19:00", "07:00"),),
    "late_outreach": (("TH,FR,SA", "19:00", "02:00"),),
    "distress_evening": ((_ALL_DAYS, "10:00", "02:00"),),
    "none": (),
}

_DAY_NAMES = {"MO": "Monday", "TU": "Tuesday", "WE": "Wednesday", "TH": "Thursday", "FR": "Friday", "SA": "Saturday", "SU": "Sunday"}
_DAY_ORDER = list(_DAY_NAMES)


def _days_text(byday: str) -> str:
    days = byday.split(",")
    if len(days) == 7:
        return "Every day"
    indexes = [_DAY_ORDER.index(day) for day in days]
    if len(days) >= 3 and indexes == list(range(indexes[0], indexes[-1] + 1)):
        return f"{_DAY_NAMES[days[0]]} to {_DAY_NAMES[days[-1]]}"
    names = [_DAY_NAMES[day] for day in days]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _clock_text(hhmm: str) -> str:
    hour, minute = int(hhmm[:2]), int(hhmm[3:])
    if minute == 0 and hour in (0, 12):
        return "midnight" if hour == 0 else "noon"
    suffix = "a.m." if hour < 12 else "p.m."
    shown = hour % 12 or 12
    return f"{shown} {suffix}" if minute == 0 else f"{shown}:{minute:02d} {suffix}"


def schedule_description(byday: str, opens_at: str, closes_at: str) -> str:
    """Plain-English text for one weekly schedule row."""
    if opens_at == closes_at == "00:00":
        return "Open 24 hours a day, 7 days a week" if byday == _ALL_DAYS else f"{_days_text(byday)}, 24 hours"
    text = f"{_days_text(byday)}, {_clock_text(opens_at)} to {_clock_text(closes_at)}"
    return text + " (overnight)" if closes_at < opens_at and closes_at != "00:00" else text


# (byday, opens_at, closes_at, description) per pattern, built once.
_PATTERN_ROWS = {
    name: tuple((byday, opens, closes, schedule_description(byday, opens, closes)) for byday, opens, closes in rows)
    for name, rows in SCHEDULE_PATTERNS.items()
}

# --------------------------------------------------------------------------- addresses

_STREETS = (
    "Main Street", "King Street", "Queen Street", "Water Street", "Church Street",
    "Victoria Street", "Elgin Street", "Wellington Street", "Ontario Street", "Front Street",
    "Albert Street", "Simcoe Street", "Dufferin Avenue", "Brock Street", "Pine Street",
    "Elm Street", "Maple Avenue", "Park Street", "Second Avenue", "Cedar Street",
    "Durham Street", "John Street", "George Street", "Dundas Street", "James Street",
    "Bay Street", "College Street", "Hospital Road", "Lakeshore Road", "Centre Street",
)
# Streets of each of Toronto's former municipalities.
_TORONTO_STREETS = {
    "Toronto (Downtown)": (
        "Yonge Street", "Bloor Street West", "Queen Street East", "Queen Street West",
        "Dundas Street West", "King Street East", "Spadina Avenue", "Bathurst Street",
        "College Street", "Jarvis Street", "Sherbourne Street", "Parliament Street",
        "Gerrard Street East",
    ),
    "North York": (
        "Yonge Street", "Finch Avenue West", "Sheppard Avenue East", "Jane Street",
        "Keele Street", "Bathurst Street", "Wilson Avenue", "Don Mills Road", "Bayview Avenue",
        "Steeles Avenue West", "Lawrence Avenue West",
    ),
    "Scarborough": (
        "Kennedy Road", "Markham Road", "Kingston Road", "Lawrence Avenue East",
        "Eglinton Avenue East", "Sheppard Avenue East", "Finch Avenue East",
        "Victoria Park Avenue", "Warden Avenue", "Midland Avenue", "Morningside Avenue",
        "McCowan Road",
    ),
    "Etobicoke": (
        "Kipling Avenue", "Islington Avenue", "The Queensway", "Lake Shore Boulevard West",
        "Bloor Street West", "Dundas Street West", "Rexdale Boulevard", "Albion Road",
        "Royal York Road", "Martin Grove Road",
    ),
    "York": (
        "Eglinton Avenue West", "Weston Road", "Jane Street", "Keele Street", "Rogers Road",
        "St. Clair Avenue West", "Oakwood Avenue", "Black Creek Drive",
    ),
    "East York": (
        "Danforth Avenue", "Pape Avenue", "Coxwell Avenue", "O'Connor Drive",
        "Donlands Avenue", "Cosburn Avenue", "Overlea Boulevard", "Woodbine Avenue",
    ),
}
_FRENCH_STREETS = (
    "rue Principale", "rue Notre-Dame", "rue Saint-Joseph", "boulevard Laurier",
    "rue Champlain", "avenue Sainte-Anne", "rue Victoria", "chemin de Montréal",
)
_POSTAL_LETTERS = "ABCEGHJKLMNPRSTVWXYZ"  # letters Canada Post uses after the first
_ACCESSIBILITY = (
    "Wheelchair accessible entrance",
    "Wheelchair accessible entrance and washroom",
    "Elevator to all floors",
    "Accessible parking near the entrance",
    "Ramp at the side entrance; accessible washroom",
    "Hearing loop at reception",
    "Ground-floor access, no steps",
)
_MAIN_LINES = ("Main line", "Reception", "General inquiries")
_TOLL_FREE_PREFIXES = ("800", "833", "844", "855", "866", "877", "888")

# --------------------------------------------------------------------------- time

_DST_BOUNDS: dict[int, tuple[float, float]] = {}


def _dst_bounds(year: int) -> tuple[float, float]:
    """UTC epoch seconds when Toronto's daylight time starts and ends in `year`
    (second Sunday of March 2:00 EST, first Sunday of November 2:00 EDT; rules since 2007)."""
    bounds = _DST_BOUNDS.get(year)
    if bounds is None:
        march_sunday = 1 + (6 - date(year, 3, 1).weekday()) % 7 + 7
        november_sunday = 1 + (6 - date(year, 11, 1).weekday()) % 7
        bounds = (
            datetime(year, 3, march_sunday, 7, tzinfo=timezone.utc).timestamp(),
            datetime(year, 11, november_sunday, 6, tzinfo=timezone.utc).timestamp(),
        )
        _DST_BOUNDS[year] = bounds
    return bounds


def _local_seconds(epoch_s: float) -> tuple[int, str]:
    """Toronto wall-clock seconds (as if UTC) and the UTC offset text at `epoch_s`."""
    start, end = _dst_bounds(time.gmtime(epoch_s).tm_year)
    if start <= epoch_s < end:
        return int(epoch_s) - 4 * 3600, "-04:00"
    return int(epoch_s) - 5 * 3600, "-05:00"


def _iso_datetime(epoch_s: float) -> str:
    local_s, offset = _local_seconds(epoch_s)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(local_s)) + offset


def _iso_date(epoch_s: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(_local_seconds(epoch_s)[0]))


def reference_time(seed: int) -> datetime:
    """The moment a data set of `seed` treats as "now" (a fixed instant in 2025, UTC)."""
    return datetime.fromtimestamp(_REFERENCE_BASE_S + random.Random(seed).randrange(_REFERENCE_SPAN_S), tz=timezone.utc)


# --------------------------------------------------------------------------- stable objects

# What uuid.UUID(int=n, version=4) does to n, as masks (a hot path: ~12 ids per service).
_UUID_CLEAR = ~((0xC000 << 48) | (0xF000 << 64)) & ((1 << 128) - 1)
_UUID_SET = (0x8000 << 48) | (4 << 76)


def uuid4_text(n: int) -> str:
    """str(uuid.UUID(int=n, version=4)), faster."""
    h = f"{(n & _UUID_CLEAR) | _UUID_SET:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def stable_uuid(kind: str, name: str) -> str:
    """The id of a shared object (taxonomy term, organization, unit): equal in every data set."""
    return str(uuid.uuid5(DEMO_NAMESPACE, f"{kind}:{name}"))


AIRS_TAXONOMY = {
    "id": stable_uuid("taxonomy", "AIRS"),
    "name": "AIRS",
    "description": "The 211 LA County / AIRS Taxonomy of Human Services, used by 211 Ontario.",
}
BEDS_UNIT = {"id": stable_uuid("unit", "beds"), "name": "beds"}


@lru_cache(maxsize=None)
def taxonomy_term(term: Term) -> dict:
    return {
        "id": stable_uuid("taxonomy_term", f"AIRS:{term.code}"),
        "code": term.code,
        "name": term.name,
        "description": term.description,
        "taxonomy": "AIRS",
        "taxonomy_id": AIRS_TAXONOMY["id"],
        "taxonomy_detail": AIRS_TAXONOMY,
    }


# The short names people use, for some service names.
_ALTERNATE_NAMES = {
    "Salvation Army Booth Centre – {place}": "Booth Centre",
    "Interval House of {place}": "Interval House",
    "Out of the Cold – {place}": "{place} OOTC",
    "St. Vincent de Paul Food Cupboard – {place}": "SSVP {place} Food Cupboard",
    "{place} Mobile Crisis Team": "{place} MCRRT",
    "Crisis Outreach and Support Team – {place}": "COAST {place}",
    "Mental Health Walk-In – {place}": "CMHA Walk-In {place}",
    "{place} Withdrawal Management Centre": "{place} Detox",
    "Consumption and Treatment Services – {place}": "{place} CTS",
    "{place} Community Health Centre": "{place} CHC",
    "{place} Nurse Practitioner-Led Clinic": "{place} NPLC",
    "Legal Aid Office – {place}": "LAO {place}",
    "Ontario Disability Support Program – {place} Office": "ODSP {place}",
    "Community Volunteer Income Tax Program – {place}": "CVITP {place}",
    "Employment Ontario – {place}": "EO {place}",
    "{place} Independent Living Centre": "{place} ILC",
    "EarlyON Child and Family Centre – {place}": "EarlyON {place}",
    "Youth Wellness Hub – {place}": "YWHO {place}",
    "{place} Rent Bank": "{place} Housing Help Rent Bank",
}


def _slug(text: str, max_length: int = 63) -> str:  # 63: the longest DNS label
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:max_length].strip("-")


# --------------------------------------------------------------------------- generator


class _Weighted:
    """Draw items in proportion to their weights with one uniform number."""

    def __init__(self, items: Sequence, weights: Sequence[float]):
        self.items = tuple(items)
        self.cumulative = []
        total = 0.0
        for weight in weights:
            total += weight
            self.cumulative.append(total)
        self.total = total

    def pick(self, uniform: float):
        index = bisect.bisect_right(self.cumulative, uniform * self.total)
        return self.items[min(index, len(self.items) - 1)]


class _Factory:
    """Builds service objects from one seeded random stream."""

    def __init__(self, rng: random.Random, reference_s: float):
        self.rng = rng
        self.rnd = rng.random
        self.bits = rng.getrandbits
        self.reference_s = reference_s
        places = load_places()
        self.places = _Weighted(places, [place.population for place in places])
        self.archetypes = self._archetypes_by_place(places)
        self.hours = {
            archetype.key: _Weighted([_PATTERN_ROWS[name] for name, _ in archetype.hours], [w for _, w in archetype.hours])
            for archetype in ARCHETYPES
        }
        self.organizations: dict[str, tuple[dict, str]] = {}

    @staticmethod
    def _archetypes_by_place(places: Sequence[Place]) -> dict[str, _Weighted]:
        """Per place, a draw over the archetypes a community of its size has."""
        pickers: dict[tuple[Archetype, ...], _Weighted] = {}
        by_place = {}
        for place in places:
            allowed = tuple(a for a in ARCHETYPES if place.population >= a.min_population)
            if allowed not in pickers:
                pickers[allowed] = _Weighted(allowed, [archetype.weight for archetype in allowed])
            by_place[place.name] = pickers[allowed]
        return by_place

    def uuid(self) -> str:
        return uuid4_text(self.bits(128))

    def pick(self, items: Sequence):
        return items[int(self.rnd() * len(items))]

    # -- the service -----------------------------------------------------------------------

    def service(self) -> dict:
        rnd = self.rnd
        place = self.places.pick(rnd())
        archetype = self.archetypes[place.name].pick(rnd())
        service_id = self.uuid()
        name, org_template, alternate_name, french_name = self._names(place, archetype)
        organization, slug = self._organization(org_template.format(place=place.label), org_template, place)
        eligibility, minimum_age, maximum_age = self.pick(archetype.eligibility)
        assured_s = self.reference_s - rnd() * 730 * _DAY_S  # verified within two years
        modified_s = assured_s + rnd() * (self.reference_s - assured_s)
        sites = [self._site(place, service_id, organization["name"], archetype, first=True)]
        if rnd() < 0.1:  # some services have a second site in the same community
            sites.append(self._site(place, service_id, organization["name"], archetype, first=False))
        return {
            "id": service_id,
            "name": name,
            "alternate_name": alternate_name,
            "description": self.pick(archetype.descriptions).format(place=place.label),
            "url": f"https://{slug}.example.org/{archetype.path}",
            "email": f"{archetype.mailbox}@{slug}.example.org",
            "status": "active",
            "organization": organization,
            "eligibility_description": eligibility.format(place=place.label),
            "minimum_age": minimum_age,
            "maximum_age": maximum_age,
            "application_process": self.pick(archetype.application),
            "fees_description": self.pick(archetype.fees),
            "assured_date": _iso_date(assured_s),
            "last_modified": _iso_datetime(modified_s),
            "attributes": self._attributes(service_id, archetype),
            "phones": self._phones(place, archetype),
            "languages": self._languages(place, french_name),
            "schedules": self._schedules(service_id, archetype),
            "service_at_locations": sites,
            "capacities": self._capacities(service_id, archetype) if archetype.capacity else [],
        }

    def _names(self, place: Place, archetype: Archetype) -> tuple[str, str, str | None, bool]:
        """(service name, organization template, alternate name, whether the name is French)."""
        if archetype.names_fr and self.rnd() < place.french_name_share:
            french, org_template, english = self.pick(archetype.names_fr)
            return french.format(place=place.label), org_template, english.format(place=place.label), True
        template, org_template = self.pick(archetype.names)
        alternate = _ALTERNATE_NAMES.get(template) if self.rnd() < 0.6 else None
        return template.format(place=place.label), org_template, alternate and alternate.format(place=place.label), False

    def _organization(self, name: str, template: str, place: Place) -> tuple[dict, str]:
        """(organization object, web slug). One object per name, so an organization that
        runs several services is identical wherever it appears (importers dedupe by id)."""
        cached = self.organizations.get(name)
        if cached is None:
            slug = _slug(name)
            organization = {
                "id": stable_uuid("organization", name),
                "name": name,
                "description": _ORG_DESCRIPTIONS.get(template, _ORG_DESCRIPTION_DEFAULT).format(place=place.label),
                "website": f"https://{slug}.example.org",
                "email": f"info@{slug}.example.org",
            }
            cached = self.organizations[name] = (organization, slug)
        return cached

    def _attributes(self, service_id: str, archetype: Archetype) -> list[dict]:
        terms = list(archetype.terms)
        terms.extend(term for term, chance in archetype.extra_terms if self.rnd() < chance)
        return [
            {
                "id": self.uuid(),
                "link_entity": "service",
                "link_id": service_id,
                "taxonomy_term_id": taxonomy_term(term)["id"],
                "value": None,
                "taxonomy_term": taxonomy_term(term),
            }
            for term in terms
        ]

    def _phone(self, number: str, kind: str, description: str) -> dict:
        return {"id": self.uuid(), "number": number, "extension": None, "type": kind, "description": description, "languages": []}

    def _local_number(self, place: Place) -> str:
        return f"{self.pick(place.area_codes)}-555-01{int(self.rnd() * 100):02d}"

    def _phones(self, place: Place, archetype: Archetype) -> list[dict]:
        if archetype.hotline:
            toll_free = f"1-{self.pick(_TOLL_FREE_PREFIXES)}-555-01{int(self.rnd() * 100):02d}"
            phones = [
                self._phone(self._local_number(place), "hotline", "24-hour crisis line"),
                self._phone(toll_free, "hotline", "Toll-free crisis line, anywhere in Ontario"),
            ]
            if self.rnd() < 0.25:
                phones.append(self._phone(self._local_number(place), "text", "Crisis text line"))
            return phones
        phones = [self._phone(self._local_number(place), "voice", self.pick(_MAIN_LINES))]
        if self.rnd() < 0.35:
            kind, description = archetype.second_phone
            phones.append(self._phone(self._local_number(place), kind, description))
        return phones

    def _language(self, code: str) -> dict:
        return {"id": self.uuid(), "name": LANGUAGE_NAMES[code], "code": code}

    def _languages(self, place: Place, french_name: bool) -> list[dict]:
        languages = [self._language("en")]
        if french_name or self.rnd() < place.french_share:
            languages.append(self._language("fr"))
        if place.extra_language_share and self.rnd() < place.extra_language_share:
            languages.append(self._language(self.pick(place.extra_languages)))
        return languages

    def _schedules(self, service_id: str, archetype: Archetype) -> list[dict]:
        return [
            {
                "id": self.uuid(),
                "service_id": service_id,
                "freq": "WEEKLY",
                "byday": byday,
                "opens_at": opens_at,
                "closes_at": closes_at,
                "timezone": TIMEZONE,
                "description": description,
            }
            for byday, opens_at, closes_at, description in self.hours[archetype.key].pick(self.rnd())
        ]

    def _capacities(self, service_id: str, archetype: Archetype) -> list[dict]:
        maximum = 10 + int(self.rnd() * 111)
        available = 0 if self.rnd() < 0.3 else 1 + int(self.rnd() * maximum)  # ~30% full
        updated_s = self.reference_s - self.rnd() * 48 * 3600
        return [{
            "id": self.uuid(),
            "service_id": service_id,
            "unit": BEDS_UNIT,
            "available": available,
            "maximum": maximum,
            "description": archetype.capacity,
            "updated": _iso_datetime(updated_s),
        }]

    # -- where -----------------------------------------------------------------------------

    def _point(self, place: Place) -> tuple[float, float]:
        """A point uniform in the place's disc, on land; the centre after too many misses."""
        rnd = self.rnd
        for _ in range(_MAX_SITE_TRIES):
            distance_km = place.radius_km * math.sqrt(rnd())  # sqrt: uniform over the area
            bearing = 2 * math.pi * rnd()
            lat = place.lat + distance_km * math.cos(bearing) / KM_PER_DEG_LAT
            lon = place.lon + distance_km * math.sin(bearing) / place.km_per_deg_lon
            if _stays_on_land(place, lat, lon):
                return round(lat, 5), round(lon, 5)
        return place.lat, place.lon

    def _address_line(self, place: Place) -> tuple[str, str]:
        """(address_1, street name)."""
        top = 2999 if place.population >= 50000 else 400
        number = 1 + int(self.rnd() * top)
        if place.name in _TORONTO_STREETS:
            street = self.pick(_TORONTO_STREETS[place.name])
        elif place.french_name_share >= 0.4 and self.rnd() < 0.5:
            street = self.pick(_FRENCH_STREETS)
            return f"{number}, {street}", street
        else:
            street = self.pick(_STREETS)
        return f"{number} {street}", street

    def _postal_code(self, place: Place) -> str:
        letters, pick = _POSTAL_LETTERS, self.pick
        return f"{pick(place.postal_prefixes)}{pick(letters)} {int(self.rnd() * 10)}{pick(letters)}{int(self.rnd() * 10)}"

    def _site(self, place: Place, service_id: str, org_name: str, archetype: Archetype, first: bool) -> dict:
        location_id = self.uuid()
        lat, lon = self._point(place)
        address_1, street = self._address_line(place)
        accessibility = []
        if self.rnd() < 0.6:
            accessibility.append({"id": self.uuid(), "location_id": location_id, "description": self.pick(_ACCESSIBILITY)})
        location = {
            "id": location_id,
            "location_type": "physical",
            "name": org_name if first else f"{org_name} ({street})",
            "latitude": lat,
            "longitude": lon,
            "addresses": [{
                "id": self.uuid(),
                "location_id": location_id,
                "address_1": address_1,
                "city": place.city,
                "state_province": "ON",
                "postal_code": self._postal_code(place),
                "country": "CA",
                "address_type": "physical",
            }],
            "accessibility": accessibility,
            "address_private": archetype.private_site,
        }
        return {"id": self.uuid(), "service_id": service_id, "location_id": location_id, "location": location}


def _stays_on_land(place: Place, lat: float, lon: float) -> bool:
    # Walking from the centre to the point, each crossing of the outline flips land/water.
    on = place.centre_on_land
    for edge in place.edges:
        if _segments_cross(place.lon, place.lat, lon, lat, edge):
            on = not on
    return on


# --------------------------------------------------------------------------- public API


def generate_services(count: int, seed: int, *, reference: datetime | None = None) -> Iterator[dict]:
    """Yield `count` HSDS 3.0 compiled service objects, the same ones for the same seed.

    `reference` overrides the data set's "now" (see reference_time); the services are
    otherwise unchanged, only their dates move.
    """
    if count < 0:
        raise ValueError(f"count must be 0 or more, not {count}")
    rng = random.Random(seed)
    reference_s = _REFERENCE_BASE_S + rng.randrange(_REFERENCE_SPAN_S)  # == reference_time(seed)
    if reference is not None:
        reference_s = reference.timestamp()
    factory = _Factory(rng, reference_s)
    for _ in range(count):
        yield factory.service()


def _dumps(obj: dict) -> bytes:
    if orjson is not None:
        return orjson.dumps(obj)
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def write_ndjson(path: str | Path, count: int, seed: int, *, reference: datetime | None = None) -> int:
    """Write `count` services to `path`, one JSON object per line; returns the count.
    `reference`: as generate_services."""
    written = 0
    batch: list[bytes] = []
    with open(path, "wb") as out:
        for service in generate_services(count, seed, reference=reference):
            batch.append(_dumps(service))
            written += 1
            if len(batch) == 1000:
                out.write(b"\n".join(batch) + b"\n")
                batch.clear()
        if batch:
            out.write(b"\n".join(batch) + b"\n")
    return written


def main(argv: Sequence[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Write a demo Ontario HSDS data set as ndjson.")
    parser.add_argument("out", type=Path)
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    written = write_ndjson(args.out, args.count, args.seed)
    elapsed_s = time.perf_counter() - started
    print(f"wrote {written} services to {args.out} in {elapsed_s:.1f} s ({written / max(elapsed_s, 1e-9):,.0f}/s)")


if __name__ == "__main__":
    main()
