"""A deterministic, realistic data set of Ontario community services in HSDS 3.0 form.

``generate_services(count, seed)`` yields compiled HSDS 3.0 service objects (the shape of
``schema/compiled/service.json``) with fieldnav's extensions: ``location.address_private``
for confidential sites (shelters for people fleeing violence) and HSDS 3.1 ``capacities``
(shelter beds). The same seed always gives the same data; nothing reads the wall clock.

Places come from ``data/ontario_places.csv`` (real coordinates, 2021 census populations)
and are picked in proportion to population. Each site is jittered uniformly in a disc
whose radius grows with the square root of the population, and kept on Ontario land by a
coarse outline (``data/ontario_outline.geojson``) that follows the borders and the Great
Lakes shores near towns. Services come from ~30 archetypes (``data/demo_archetypes.yaml``:
names, terms, descriptions, eligibility, fees, hours) whose 211/AIRS codes cover every
category group in ``data/category_groups.yaml``. Both files are read once.

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
from datetime import UTC, date, datetime
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path

import yaml

try:
    import orjson
except ImportError:  # pragma: no cover - orjson is a dependency; json is the fallback
    _HAVE_ORJSON = False
else:
    _HAVE_ORJSON = True

TIMEZONE = "America/Toronto"
PLACES_FILE = "ontario_places.csv"
ARCHETYPES_FILE = "demo_archetypes.yaml"
OUTLINE_FILE = "ontario_outline.geojson"

# Ids that must be equal in every data set (shared terms, organizations, the bed unit)
# are uuid5 names under this namespace; service-specific ids come from the seeded rng.
DEMO_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://fieldnav.example.org/demo-data")

# The reference "now" of a data set: a moment in 2025 chosen by the seed, so timestamps
# ("last verified", "beds updated") look recent but never depend on the wall clock.
_REFERENCE_BASE_S = datetime(2025, 1, 1, tzinfo=UTC).timestamp()
_REFERENCE_SPAN_S = 365 * 86400
_DAY_S = 86400

KM_PER_DEG_LAT = 111.32
_SMALL_TOWN_RADIUS_KM = 1.5  # jitter radius of a 2,000-person town ...
_SMALL_TOWN_POPULATION = 2000
_MAX_RADIUS_KM = 15.0  # ... growing with sqrt(population) up to this (Toronto rows)
_MAX_SITE_TRIES = 16  # then the site sits at the place centre

# --------------------------------------------------------------------------- land outline

# Ontario's land, coarse (a few km) but closer near towns: borders with Manitoba, Quebec and
# the United States, the shores of Hudson and James Bay and the Great Lakes, Manitoulin
# Island, and the inland lakes next to towns as holes (data/ontario_outline.geojson). A point
# is on land when it is inside an odd number of rings.

Edge = tuple[float, float, float, float]  # lon1, lat1, lon2, lat2


@lru_cache(maxsize=1)
def land_edges() -> tuple[Edge, ...]:
    """The edges of every ring of the outline, in file order (read once)."""
    outline = json.loads(resources.files("service.data").joinpath(OUTLINE_FILE).read_text("utf-8"))
    edges: list[Edge] = []
    for feature in outline["features"]:
        ring = feature["geometry"]["coordinates"][0]  # closed: its last point is its first
        edges.extend((*ring[i], *ring[i + 1]) for i in range(len(ring) - 1))
    return tuple(edges)


def on_land(lat: float, lon: float) -> bool:
    """True when (lat, lon) is on Ontario land, per the coarse outline (ray casting)."""
    inside = False
    for x1, y1, x2, y2 in land_edges():
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
    "Toronto (Downtown)": "456",
    "North York": "23",
    "Scarborough": "1",
    "Etobicoke": "89",
    "York": "6",
    "East York": "4",
}
# The name used inside service names, when it is not the place name before " (".
_LABELS = {
    "Toronto (Downtown)": "Toronto",
    "Ottawa (Centre)": "Ottawa",
    "Ottawa (Kanata)": "Kanata",
    "Ottawa (Orléans)": "Orléans",
    "Ottawa (Barrhaven)": "Barrhaven",
    "Ohsweken (Six Nations)": "Six Nations",
}
# French-language communities: (chance a service offers French, chance its name is French).
_FRANCOPHONE = {
    **dict.fromkeys(
        [
            "Hawkesbury",
            "Hearst",
            "Kapuskasing",
            "Casselman",
            "Rockland",
            "Embrun",
            "Sturgeon Falls",
            "Ottawa (Orléans)",
            "Alexandria",
            "Smooth Rock Falls",
        ],
        (0.85, 0.45),
    ),
    **dict.fromkeys(
        [
            "Ottawa (Centre)",
            "Ottawa (Kanata)",
            "Ottawa (Barrhaven)",
            "Sudbury",
            "Timmins",
            "Cornwall",
            "Cochrane",
            "Iroquois Falls",
            "Temiskaming Shores",
            "Penetanguishene",
            "North Bay",
            "Welland",
            "Kirkland Lake",
            "Chapleau",
            "Mattawa",
            "Elliot Lake",
            "Espanola",
            "Geraldton",
            "Englehart",
        ],
        (0.5, 0.15),
    ),
}
_FRENCH_ELSEWHERE = 0.15
_BIG_CITY_LANGUAGES = ("ar", "es", "zh")  # the default extra languages
# (extra language codes, chance a service offers one of them)
_PLACE_LANGUAGES = {
    "Toronto (Downtown)": (("zh", "es", "ar", "ta"), 0.3),
    "North York": (("zh", "es", "ar"), 0.3),
    "Scarborough": (("ta", "zh", "ar"), 0.35),
    "Etobicoke": (("es", "ar", "pa"), 0.25),
    "York": (("es", "zh"), 0.25),
    "East York": (("ar", "zh"), 0.2),
    "Brampton": (("pa", "ta", "es"), 0.4),
    "Mississauga": (("ar", "pa", "zh", "es"), 0.3),
    "Markham": (("zh", "ta"), 0.4),
    "Richmond Hill": (("zh", "ar"), 0.3),
    "Vaughan": (("es", "zh", "ar"), 0.2),
    "Milton": (("pa", "ar"), 0.2),
    "Ajax": (("ta", "ar"), 0.15),
    "Pickering": (("ta", "zh"), 0.15),
    "Windsor": (("ar", "es"), 0.2),
    "London": (("ar", "es"), 0.15),
    "Kitchener": (("ar", "es"), 0.12),
    "Ottawa (Centre)": (("ar", "es", "zh"), 0.15),
    "Hamilton": (("ar", "es"), 0.12),
}
# Indigenous communities and towns with large Indigenous populations: (language, chance).
_INDIGENOUS_LANGUAGES = {
    **dict.fromkeys(
        ["Moosonee", "Moose Factory", "Attawapiskat", "Kashechewan", "Fort Albany", "Peawanuck", "Fort Severn"],
        ("cr", 0.7),
    ),
    **dict.fromkeys(["Sandy Lake", "Big Trout Lake"], ("ojs", 0.7)),
    **dict.fromkeys(["Pikangikum", "Fort Hope (Eabametoong)", "Wikwemikong", "Walpole Island"], ("oj", 0.7)),
    **dict.fromkeys(
        ["Akwesasne (Cornwall Island)", "Tyendinaga Mohawk Territory", "Ohsweken (Six Nations)"], ("moh", 0.5)
    ),
    **dict.fromkeys(
        [
            "Sioux Lookout",
            "Kenora",
            "Thunder Bay",
            "Red Lake",
            "Dryden",
            "Fort Frances",
            "Nipigon",
            "Geraldton",
            "Little Current",
            "Sault Ste. Marie",
            "Sudbury",
        ],
        ("oj", 0.12),
    ),
    "Timmins": ("cr", 0.12),
}
LANGUAGE_NAMES = {
    "en": "English",
    "fr": "French",
    "ar": "Arabic",
    "pa": "Punjabi",
    "zh": "Mandarin",
    "es": "Spanish",
    "ta": "Tamil",
    "oj": "Ojibwe",
    "cr": "Cree",
    "ojs": "Oji-Cree",
    "moh": "Mohawk",
}
# Places whose area code or postal letter the coarse rules below get wrong.
_AREA_CODE_OVERRIDES = {
    "Peterborough": "705",
    "Alliston": "705",
    "Owen Sound": "519",
    "Kincardine": "519",
    "Port Elgin": "519",
    "Hanover": "519",
    "Meaford": "519",
    "Walkerton": "519",
    "Keswick": "905",
    "Bancroft": "613",
}
_AREA_CODE_OVERLAYS = {
    "416": ("416", "647", "437"),
    "905": ("905", "289", "365"),
    "613": ("613", "343"),
    "705": ("705", "249"),
    "519": ("519", "226", "548"),
    "807": ("807",),
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
        edge
        for edge in land_edges()
        if max(edge[0], edge[2]) >= lon - dlon
        and min(edge[0], edge[2]) <= lon + dlon
        and max(edge[1], edge[3]) >= lat - dlat
        and min(edge[1], edge[3]) <= lat + dlat
    )


def _place(name: str, lat: float, lon: float, population: int) -> Place:
    base = name.split(" (")[0]
    area_code = _primary_area_code(name, lat, lon)
    french_share, french_name_share = _FRANCOPHONE.get(name, (_FRENCH_ELSEWHERE, 0.0))
    extra_languages: tuple[str, ...]
    if name in _INDIGENOUS_LANGUAGES:
        code, share = _INDIGENOUS_LANGUAGES[name]
        extra_languages, extra_share = (code,), share
    else:
        extra_languages, extra_share = _PLACE_LANGUAGES.get(
            name, (_BIG_CITY_LANGUAGES, 0.06 if population >= 50000 else 0.0)
        )
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


@dataclass(frozen=True)
class Catalogue:
    """What data/demo_archetypes.yaml holds, ready for the generator."""

    archetypes: tuple[Archetype, ...]
    # Weekly opening hours per pattern: (byday, opens_at, closes_at, description) rows.
    schedules: dict[str, tuple[tuple[str, str, str, str], ...]]
    alternate_names: dict[str, str]  # service name template -> the short name people use
    organization_descriptions: dict[str, str]  # organization name template -> what it is
    organization_default: str


_ARCHETYPE_FIELDS = {
    "key",
    "weight",
    "min_population",
    "terms",
    "extra_terms",
    "names",
    "names_fr",
    "descriptions",
    "eligibility",
    "application",
    "fees",
    "hours",
    "path",
    "mailbox",
    "capacity",
    "hotline",
    "private_site",
    "second_phone",
}


def _archetype(entry: dict, terms: dict[str, Term], schedules: dict) -> Archetype:
    where = f"{ARCHETYPES_FILE}, archetype {entry.get('key')!r}"
    unknown = set(entry) - _ARCHETYPE_FIELDS
    if unknown:
        raise ValueError(f"{where}: unknown fields {sorted(unknown)}")
    missing = sorted(key for key in (*entry["terms"], *entry.get("extra_terms", {})) if key not in terms)
    missing += sorted(name for name in entry["hours"] if name not in schedules)
    if missing:
        raise ValueError(f"{where}: no term or schedule named {missing}")
    optional = {}
    if "second_phone" in entry:
        optional["second_phone"] = (entry["second_phone"]["type"], entry["second_phone"]["description"])
    return Archetype(
        key=entry["key"],
        weight=float(entry["weight"]),
        terms=tuple(terms[key] for key in entry["terms"]),
        names=tuple((name["service"], name["organization"]) for name in entry["names"]),
        descriptions=tuple(entry["descriptions"]),
        eligibility=tuple((e["text"], e.get("minimum_age"), e.get("maximum_age")) for e in entry["eligibility"]),
        application=tuple(entry["application"]),
        fees=tuple(entry["fees"]),
        hours=tuple((name, float(weight)) for name, weight in entry["hours"].items()),
        path=entry["path"],
        mailbox=entry["mailbox"],
        names_fr=tuple((name["service"], name["organization"], name["english"]) for name in entry.get("names_fr", ())),
        extra_terms=tuple((terms[key], float(chance)) for key, chance in entry.get("extra_terms", {}).items()),
        capacity=entry.get("capacity"),
        hotline=bool(entry.get("hotline", False)),
        private_site=bool(entry.get("private_site", False)),
        min_population=int(entry.get("min_population", 0)),
        **optional,
    )


@lru_cache(maxsize=1)
def load_catalogue() -> Catalogue:
    """The archetypes, schedules and organization texts of data/demo_archetypes.yaml (read once)."""
    data = yaml.safe_load(resources.files("service.data").joinpath(ARCHETYPES_FILE).read_text("utf-8"))
    terms = {key: Term(t["code"], t["name"], t["description"]) for key, t in data["terms"].items()}
    schedules = {
        name: tuple((byday, opens, closes, schedule_description(byday, opens, closes)) for byday, opens, closes in rows)
        for name, rows in data["schedules"].items()
    }
    entries = data["archetypes"]
    return Catalogue(
        archetypes=tuple(_archetype(entry, terms, schedules) for entry in entries),
        schedules=schedules,
        alternate_names={
            name["service"]: name["alternate"] for entry in entries for name in entry["names"] if "alternate" in name
        },
        organization_descriptions=dict(data["organizations"]),
        organization_default=data["organization_default"],
    )


# --------------------------------------------------------------------------- hours

_ALL_DAYS = "MO,TU,WE,TH,FR,SA,SU"
# Weekly opening-hour patterns are in data/demo_archetypes.yaml (schedules). Conventions:
# 00:00 to 00:00 is open the whole day; a closing time earlier than the opening runs past
# midnight; a service without schedules has unknown hours.

_DAY_NAMES = {
    "MO": "Monday",
    "TU": "Tuesday",
    "WE": "Wednesday",
    "TH": "Thursday",
    "FR": "Friday",
    "SA": "Saturday",
    "SU": "Sunday",
}
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


# --------------------------------------------------------------------------- addresses

_STREETS = (
    "Main Street",
    "King Street",
    "Queen Street",
    "Water Street",
    "Church Street",
    "Victoria Street",
    "Elgin Street",
    "Wellington Street",
    "Ontario Street",
    "Front Street",
    "Albert Street",
    "Simcoe Street",
    "Dufferin Avenue",
    "Brock Street",
    "Pine Street",
    "Elm Street",
    "Maple Avenue",
    "Park Street",
    "Second Avenue",
    "Cedar Street",
    "Durham Street",
    "John Street",
    "George Street",
    "Dundas Street",
    "James Street",
    "Bay Street",
    "College Street",
    "Hospital Road",
    "Lakeshore Road",
    "Centre Street",
)
# Streets of each of Toronto's former municipalities.
_TORONTO_STREETS = {
    "Toronto (Downtown)": (
        "Yonge Street",
        "Bloor Street West",
        "Queen Street East",
        "Queen Street West",
        "Dundas Street West",
        "King Street East",
        "Spadina Avenue",
        "Bathurst Street",
        "College Street",
        "Jarvis Street",
        "Sherbourne Street",
        "Parliament Street",
        "Gerrard Street East",
    ),
    "North York": (
        "Yonge Street",
        "Finch Avenue West",
        "Sheppard Avenue East",
        "Jane Street",
        "Keele Street",
        "Bathurst Street",
        "Wilson Avenue",
        "Don Mills Road",
        "Bayview Avenue",
        "Steeles Avenue West",
        "Lawrence Avenue West",
    ),
    "Scarborough": (
        "Kennedy Road",
        "Markham Road",
        "Kingston Road",
        "Lawrence Avenue East",
        "Eglinton Avenue East",
        "Sheppard Avenue East",
        "Finch Avenue East",
        "Victoria Park Avenue",
        "Warden Avenue",
        "Midland Avenue",
        "Morningside Avenue",
        "McCowan Road",
    ),
    "Etobicoke": (
        "Kipling Avenue",
        "Islington Avenue",
        "The Queensway",
        "Lake Shore Boulevard West",
        "Bloor Street West",
        "Dundas Street West",
        "Rexdale Boulevard",
        "Albion Road",
        "Royal York Road",
        "Martin Grove Road",
    ),
    "York": (
        "Eglinton Avenue West",
        "Weston Road",
        "Jane Street",
        "Keele Street",
        "Rogers Road",
        "St. Clair Avenue West",
        "Oakwood Avenue",
        "Black Creek Drive",
    ),
    "East York": (
        "Danforth Avenue",
        "Pape Avenue",
        "Coxwell Avenue",
        "O'Connor Drive",
        "Donlands Avenue",
        "Cosburn Avenue",
        "Overlea Boulevard",
        "Woodbine Avenue",
    ),
}
_FRENCH_STREETS = (
    "rue Principale",
    "rue Notre-Dame",
    "rue Saint-Joseph",
    "boulevard Laurier",
    "rue Champlain",
    "avenue Sainte-Anne",
    "rue Victoria",
    "chemin de Montréal",
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
            datetime(year, 3, march_sunday, 7, tzinfo=UTC).timestamp(),
            datetime(year, 11, november_sunday, 6, tzinfo=UTC).timestamp(),
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
    return datetime.fromtimestamp(_REFERENCE_BASE_S + random.Random(seed).randrange(_REFERENCE_SPAN_S), tz=UTC)


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


@cache
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
        self.catalogue = catalogue = load_catalogue()
        places = load_places()
        self.places = _Weighted(places, [place.population for place in places])
        self.archetypes = self._archetypes_by_place(places, catalogue.archetypes)
        self.hours = {
            archetype.key: _Weighted(
                [catalogue.schedules[name] for name, _ in archetype.hours], [weight for _, weight in archetype.hours]
            )
            for archetype in catalogue.archetypes
        }
        self.organizations: dict[str, tuple[dict, str]] = {}

    @staticmethod
    def _archetypes_by_place(places: Sequence[Place], archetypes: Sequence[Archetype]) -> dict[str, _Weighted]:
        """Per place, a draw over the archetypes a community of its size has."""
        pickers: dict[tuple[Archetype, ...], _Weighted] = {}
        by_place = {}
        for place in places:
            allowed = tuple(a for a in archetypes if place.population >= a.min_population)
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
            **_service_areas(service_id, place, sites[0]["location"]),
        }

    def _names(self, place: Place, archetype: Archetype) -> tuple[str, str, str | None, bool]:
        """(service name, organization template, alternate name, whether the name is French)."""
        if archetype.names_fr and self.rnd() < place.french_name_share:
            french, org_template, english = self.pick(archetype.names_fr)
            return french.format(place=place.label), org_template, english.format(place=place.label), True
        template, org_template = self.pick(archetype.names)
        alternate = self.catalogue.alternate_names.get(template) if self.rnd() < 0.6 else None
        return (
            template.format(place=place.label),
            org_template,
            alternate and alternate.format(place=place.label),
            False,
        )

    def _organization(self, name: str, template: str, place: Place) -> tuple[dict, str]:
        """(organization object, web slug). One object per name, so an organization that
        runs several services is identical wherever it appears (importers dedupe by id)."""
        cached = self.organizations.get(name)
        if cached is None:
            slug = _slug(name)
            description = self.catalogue.organization_descriptions.get(template, self.catalogue.organization_default)
            organization = {
                "id": stable_uuid("organization", name),
                "name": name,
                "description": description.format(place=place.label),
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
        return {
            "id": self.uuid(),
            "number": number,
            "extension": None,
            "type": kind,
            "description": description,
            "languages": [],
        }

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
        return [
            {
                "id": self.uuid(),
                "service_id": service_id,
                "unit": BEDS_UNIT,
                "available": available,
                "maximum": maximum,
                "description": archetype.capacity,
                "updated": _iso_datetime(updated_s),
            }
        ]

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
        return (
            f"{pick(place.postal_prefixes)}{pick(letters)} {int(self.rnd() * 10)}{pick(letters)}{int(self.rnd() * 10)}"
        )

    def _site(self, place: Place, service_id: str, org_name: str, archetype: Archetype, first: bool) -> dict:
        location_id = self.uuid()
        lat, lon = self._point(place)
        address_1, street = self._address_line(place)
        accessibility = []
        if self.rnd() < 0.6:
            accessibility.append(
                {"id": self.uuid(), "location_id": location_id, "description": self.pick(_ACCESSIBILITY)}
            )
        location = {
            "id": location_id,
            "location_type": "physical",
            "name": org_name if first else f"{org_name} ({street})",
            "latitude": lat,
            "longitude": lon,
            "addresses": [
                {
                    "id": self.uuid(),
                    "location_id": location_id,
                    "address_1": address_1,
                    "city": place.city,
                    "state_province": "ON",
                    "postal_code": self._postal_code(place),
                    "country": "CA",
                    "address_type": "physical",
                }
            ],
            "accessibility": accessibility,
            "address_private": archetype.private_site,
        }
        return {"id": self.uuid(), "service_id": service_id, "location_id": location_id, "location": location}


# --------------------------------------------------------------------------- service areas

# Shares of services with a service area: a generated circle around their first site (an
# HSDS GeoJSON extent), or the named area "Ontario" (matched to the default boundary:
# service/areas/). Drawn from a stream of their own, seeded by the service id, so the rest
# of a data set is the same as without them.
AREA_EXTENT_SHARE = 0.20
AREA_ONTARIO_SHARE = 0.05
AREA_RADIUS_KM = (5.0, 30.0)
_AREA_VERTICES = 16
_KM_PER_DEG_LAT = 111.32
# About 100 m: enough for a circle of 5 km or more, and a vertex never looks like a site's
# position (5 decimals, which the confidentiality tests look for).
_AREA_DECIMALS = 3


def _service_areas(service_id: str, place: Place, location: dict) -> dict:
    """``{"service_areas": [...]}`` for some services, else ``{}``. The shapes are made up
    (DEMO data only, and said so in their name and description)."""
    draw = random.Random(f"service-area/{service_id}")
    choice = draw.random()
    area_id = stable_uuid("service_area", service_id)
    if choice < AREA_EXTENT_SHARE and not location["address_private"]:
        # (A confidential site gets no circle: its centre would give the site away.)
        radius_km = round(draw.uniform(*AREA_RADIUS_KM), 1)
        lat, lon = location["latitude"], location["longitude"]
        km_per_deg_lon = _KM_PER_DEG_LAT * math.cos(math.radians(lat))
        ring = [
            [
                round(lon + radius_km / km_per_deg_lon * math.cos(2 * math.pi * i / _AREA_VERTICES), _AREA_DECIMALS),
                round(lat + radius_km / _KM_PER_DEG_LAT * math.sin(2 * math.pi * i / _AREA_VERTICES), _AREA_DECIMALS),
            ]
            for i in range(_AREA_VERTICES)
        ]
        ring.append(ring[0])
        area = {
            "id": area_id,
            "service_id": service_id,
            "name": f"{place.label} and {radius_km:g} km around (demo area)",
            "description": f"Demo data: a generated circle of {radius_km:g} km, not a real service area.",
            "extent": json.dumps({"type": "Polygon", "coordinates": [ring]}, separators=(",", ":")),
            "extent_type": "geojson",
        }
    elif choice < AREA_EXTENT_SHARE + AREA_ONTARIO_SHARE:
        area = {
            "id": area_id,
            "service_id": service_id,
            "name": "Ontario",
            "description": "Demo data: a province-wide service (a generated example).",
        }
    else:
        return {}
    return {"service_areas": [area]}


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
    if _HAVE_ORJSON:
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
