"""The demo data generator: deterministic, realistic, valid HSDS 3.0. No database needed."""

from __future__ import annotations

import csv
import json
import random
import re
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import jsonschema
import pytest

from service.directory import demo_data
from service.directory.categories import TermRef, category_codes, groups_for
from service.directory.demo_data import generate_services, load_places, on_land, reference_time, write_ndjson

PROJECT_ROOT = Path(__file__).resolve().parent.parent
HSDS = PROJECT_ROOT / "tests" / "data" / "hsds-3.0"
SERVICE_SCHEMA = HSDS / "schema" / "compiled" / "service.json"
CAPACITY_SCHEMA = HSDS / "schema-3.1-additions" / "service_capacity.json"
UNIT_SCHEMA = HSDS / "schema-3.1-additions" / "unit.json"

LAT_RANGE, LON_RANGE = (41.6, 57.0), (-95.2, -74.3)  # Ontario's bounding box
SEED = 42
SHELTER_CODES = {"BH-1800.8500", "BH-1800.1500-100", "BH-1800.1500-700"}  # the ones with beds
VAW_CODE = "BH-1800.1500-100"
TORONTO_TZ = ZoneInfo("America/Toronto")
HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
LOCAL_NUMBER = re.compile(r"^(416|647|437|905|289|365|613|343|705|249|519|226|548|807)-555-01\d\d$")
TOLL_FREE = re.compile(r"^1-8(00|33|44|55|66|77|88)-555-01\d\d$")
POSTAL_CODE = re.compile(r"^[KLMNP]\d[ABCEGHJ-NPRSTV-Z] \d[ABCEGHJ-NPRSTV-Z]\d$")
DAYS = {"MO", "TU", "WE", "TH", "FR", "SA", "SU"}


@pytest.fixture(scope="module")
def services() -> list[dict]:
    return list(generate_services(1000, SEED))


def codes(service: dict) -> set[str]:
    return {attribute["taxonomy_term"]["code"] for attribute in service["attributes"]}


def locations(service: dict) -> list[dict]:
    return [sal["location"] for sal in service["service_at_locations"]]


def city(service: dict) -> str:
    return locations(service)[0]["addresses"][0]["city"]


def parse_offset_datetime(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    assert moment.tzinfo is not None, f"{text} has no UTC offset"
    assert text[-6:] in ("-04:00", "-05:00"), f"{text} is not Toronto time"
    # The offset must be Toronto's real one at that instant (EDT in summer, EST in winter).
    assert moment.utcoffset() == moment.astimezone(TORONTO_TZ).utcoffset(), text
    return moment


# --------------------------------------------------------------------------- determinism


def test_same_seed_gives_the_same_services():
    first = json.dumps(list(generate_services(200, 5)))
    assert json.dumps(list(generate_services(200, 5))) == first


def test_a_different_seed_gives_different_services():
    first = list(generate_services(50, 5))
    other = list(generate_services(50, 6))
    assert {s["id"] for s in first}.isdisjoint(s["id"] for s in other)
    assert [s["name"] for s in first] != [s["name"] for s in other]


def test_count_is_honoured():
    for count in (0, 1, 37):
        assert len(list(generate_services(count, 1))) == count
    with pytest.raises(ValueError):
        list(generate_services(-1, 1))


def test_reference_override_moves_dates_only():
    reference = datetime(2030, 6, 1, 12, tzinfo=TORONTO_TZ)
    default = list(generate_services(20, 3))
    moved = list(generate_services(20, 3, reference=reference))
    assert [s["id"] for s in moved] == [s["id"] for s in default]
    assert [s["name"] for s in moved] == [s["name"] for s in default]
    assert all(s["assured_date"] >= "2028-06-01" for s in moved)


def test_fast_uuid_matches_the_standard_library():
    rng = random.Random(0)
    for _ in range(1000):
        n = rng.getrandbits(128)
        assert demo_data.uuid4_text(n) == str(uuid.UUID(int=n, version=4))


def test_ids_are_unique_within_a_data_set(services):
    ids = []
    for s in services:
        ids.append(s["id"])
        ids += [a["id"] for a in s["attributes"]] + [p["id"] for p in s["phones"]]
        ids += (
            [x["id"] for x in s["languages"]] + [x["id"] for x in s["schedules"]] + [c["id"] for c in s["capacities"]]
        )
        for sal in s["service_at_locations"]:
            location = sal["location"]
            ids += [
                sal["id"],
                location["id"],
                *(a["id"] for a in location["addresses"]),
                *(a["id"] for a in location["accessibility"]),
            ]
    assert len(ids) == len(set(ids))


def test_shared_objects_have_stable_ids(services):
    terms: dict[str, dict] = {}
    organizations: dict[str, dict] = {}
    for s in services:
        for attribute in s["attributes"]:
            term = attribute["taxonomy_term"]
            assert attribute["taxonomy_term_id"] == term["id"] and attribute["link_id"] == s["id"]
            assert attribute["link_entity"] == "service" and attribute["value"] is None
            assert term["taxonomy"] == "AIRS" and term["taxonomy_id"] == term["taxonomy_detail"]["id"]
            assert terms.setdefault(term["code"], term) == term  # one term per code
        organization = s["organization"]
        assert organizations.setdefault(organization["name"], organization) == organization
    for code, term in terms.items():
        assert term["id"] == str(uuid.uuid5(demo_data.DEMO_NAMESPACE, f"taxonomy_term:AIRS:{code}"))
    # The same term and organization ids come out of another seed.
    other = {
        a["taxonomy_term"]["code"]: a["taxonomy_term"]["id"]
        for s in generate_services(300, 99)
        for a in s["attributes"]
    }
    assert all(terms[code]["id"] == term_id for code, term_id in other.items() if code in terms)


# --------------------------------------------------------------------------- categories


def test_every_category_group_appears_in_1000_services(services):
    seen = set()
    for s in services:
        terms = [TermRef(a["taxonomy_term"]["code"], a["taxonomy_term"]["name"]) for a in s["attributes"]]
        groups = groups_for(terms, [s["name"]])
        assert groups, f"{s['name']} maps to no category group"
        seen.update(groups)
    assert seen == set(category_codes())


# --------------------------------------------------------------------------- places


def test_places_file_is_real_ontario_places():
    text = (PROJECT_ROOT / "service" / "data" / "ontario_places.csv").read_text("utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    assert list(rows[0]) == ["name", "lat", "lon", "population"]
    assert 140 <= len(rows) <= 200
    assert len({row["name"] for row in rows}) == len(rows)
    for row in rows:
        assert re.fullmatch(r"-?\d+\.\d{5}", row["lat"]) and re.fullmatch(r"-?\d+\.\d{5}", row["lon"]), row
        assert (
            LAT_RANGE[0] <= float(row["lat"]) <= LAT_RANGE[1] and LON_RANGE[0] <= float(row["lon"]) <= LON_RANGE[1]
        ), row
        assert int(row["population"]) > 0
    names = {row["name"] for row in rows}
    for expected in (
        "Toronto (Downtown)",
        "Scarborough",
        "North York",
        "Etobicoke",
        "York",
        "Ottawa (Centre)",
        "Thunder Bay",
        "Moosonee",
        "Kenora",
        "Hawkesbury",
        "Hearst",
        "Sioux Lookout",
    ):
        assert expected in names


def test_every_place_centre_is_on_land():
    off = [place.name for place in load_places() if not on_land(place.lat, place.lon)]
    assert off == []


def test_the_land_outline_excludes_lakes_and_neighbours():
    for lat, lon in [
        (43.60, -79.40),
        (42.40, -81.00),
        (42.33, -83.08),
        (44.45, -79.35),
        (45.48, -75.60),
        (46.50, -84.40),
    ]:
        # Lake Ontario, Lake Erie, Detroit, Lake Simcoe, Gatineau, Sault Ste. Marie (Michigan)
        assert not on_land(lat, lon), (lat, lon)


def test_sites_are_inside_ontario_and_jittered(services):
    points = set()
    for s in services:
        for location in locations(s):
            lat, lon = location["latitude"], location["longitude"]
            assert LAT_RANGE[0] <= lat <= LAT_RANGE[1] and LON_RANGE[0] <= lon <= LON_RANGE[1]
            assert round(lat, 5) == lat and round(lon, 5) == lon
            assert on_land(lat, lon), (s["name"], lat, lon)
            points.add((lat, lon))
    assert len(points) > 0.95 * sum(len(s["service_at_locations"]) for s in services)
    assert any(len(s["service_at_locations"]) == 2 for s in services)


def test_addresses_are_plausible(services):
    for s in services:
        for location in locations(s):
            assert location["location_type"] == "physical"
            (address,) = location["addresses"]
            assert address["location_id"] == location["id"]
            assert (
                address["state_province"] == "ON"
                and address["country"] == "CA"
                and address["address_type"] == "physical"
            )
            assert POSTAL_CODE.match(address["postal_code"]), address["postal_code"]
            assert re.match(r"^\d+,? \S", address["address_1"]), address["address_1"]
            if address["city"] == "Toronto":
                assert address["postal_code"].startswith("M")
    assert "(" not in "".join(city(s) for s in services)  # "Toronto (Downtown)" is cleaned to "Toronto"
    share = sum(1 for s in services if locations(s)[0]["accessibility"]) / len(services)
    assert 0.5 < share < 0.7


# --------------------------------------------------------------------------- hours


def test_schedules_mix_24_7_unknown_and_overnight(services):
    always = unknown = overnight = 0
    for s in services:
        rows = s["schedules"]
        unknown += not rows
        for row in rows:
            assert row["service_id"] == s["id"] and row["freq"] == "WEEKLY" and row["timezone"] == "America/Toronto"
            assert HHMM.match(row["opens_at"]) and HHMM.match(row["closes_at"]), row
            assert set(row["byday"].split(",")) <= DAYS and row["description"]
        if (
            len(rows) == 1
            and rows[0]["byday"] == "MO,TU,WE,TH,FR,SA,SU"
            and rows[0]["opens_at"] == rows[0]["closes_at"] == "00:00"
        ):
            always += 1
        overnight += any(row["closes_at"] < row["opens_at"] for row in rows)
    assert 0.10 < always / len(services) < 0.20
    assert 0.06 < unknown / len(services) < 0.15
    assert overnight > 10
    assert any(len(s["schedules"]) == 2 and s["schedules"][0]["byday"] != s["schedules"][1]["byday"] for s in services)


# --------------------------------------------------------------------------- fieldnav extensions


def test_only_shelters_for_people_fleeing_violence_are_private(services):
    private = [s for s in services if any(location["address_private"] for location in locations(s))]
    assert 0.005 < len(private) / len(services) < 0.035
    assert all(VAW_CODE in codes(s) for s in private)
    assert all(s in private for s in services if VAW_CODE in codes(s))
    for s in private:  # the coordinates stay in the data: the API hides them
        assert all(location["latitude"] and location["longitude"] for location in locations(s))


def test_shelters_have_bed_capacities_updated_recently(services):
    reference = reference_time(SEED)
    full = 0
    shelters = [s for s in services if codes(s) & SHELTER_CODES]
    assert shelters
    for s in services:
        if s not in shelters:
            assert s["capacities"] == []
            continue
        (capacity,) = s["capacities"]
        assert capacity["service_id"] == s["id"]
        assert capacity["unit"] == {"id": demo_data.BEDS_UNIT["id"], "name": "beds"}
        assert 10 <= capacity["maximum"] <= 120 and 0 <= capacity["available"] <= capacity["maximum"]
        full += capacity["available"] == 0
        updated = parse_offset_datetime(capacity["updated"])
        assert reference - timedelta(hours=48) <= updated <= reference
    assert 0.15 < full / len(shelters) < 0.45


def test_dates_are_recent_and_carry_offsets(services):
    reference = reference_time(SEED)
    for s in services:
        assured = date.fromisoformat(s["assured_date"])
        assert reference.date() - timedelta(days=731) <= assured <= reference.date()
        modified = parse_offset_datetime(s["last_modified"])
        assert modified <= reference and modified.date() >= assured - timedelta(days=1)


# --------------------------------------------------------------------------- contact and languages


def test_phone_numbers_are_fictional_and_regional(services):
    for s in services:
        assert 1 <= len(s["phones"]) <= 3
        for phone in s["phones"]:
            assert LOCAL_NUMBER.match(phone["number"]) or TOLL_FREE.match(phone["number"]), phone["number"]
            assert phone["type"] in ("voice", "text", "fax", "hotline") and phone["extension"] is None
        if city(s) == "Toronto":
            assert s["phones"][0]["number"][:3] in ("416", "647", "437")
        if city(s) in ("Thunder Bay", "Kenora", "Sioux Lookout"):
            assert s["phones"][0]["number"].startswith("807")
    crisis_lines = [s for s in services if "RP-1500.1400" in codes(s)]
    assert crisis_lines
    assert all(any(TOLL_FREE.match(p["number"]) for p in s["phones"]) for s in crisis_lines)


def test_languages_include_french_more_often_in_francophone_areas(services):
    def offers_french(s):
        return any(language["code"] == "fr" for language in s["languages"])

    francophone = {
        "Ottawa",
        "Sudbury",
        "Hawkesbury",
        "Hearst",
        "Kapuskasing",
        "Timmins",
        "Cornwall",
        "Rockland",
        "Embrun",
        "Casselman",
    }
    inside = [offers_french(s) for s in services if city(s) in francophone]
    outside = [offers_french(s) for s in services if city(s) not in francophone]
    assert sum(inside) / len(inside) > 0.35 > sum(outside) / len(outside) > 0.08
    for s in services:
        assert s["languages"][0] == {"id": s["languages"][0]["id"], "name": "English", "code": "en"}
        assert len({language["code"] for language in s["languages"]}) == len(s["languages"])
    others = {language["code"] for s in services for language in s["languages"]} - {"en", "fr"}
    assert others & {"ar", "pa", "zh", "es", "ta"}
    french_names = [
        s for s in generate_services(3000, SEED) if city(s) in francophone and s["alternate_name"] and offers_french(s)
    ]
    assert any(
        s["name"].startswith(("Banque", "Centre", "Maison", "Refuge", "Ligne", "Programme", "Services"))
        for s in french_names
    )


# --------------------------------------------------------------------------- HSDS 3.0 schema


def _without_nulls(value):
    # HSDS 3.0's JSON schema types are not nullable; importers read null as "absent".
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _for_hsds_3_0(service: dict) -> dict:
    checked = _without_nulls(service)
    for schedule in checked["schedules"]:
        # HSDS 3.0 types schedule.timezone as a number (a UTC offset); fieldnav uses the
        # IANA name, which also knows daylight time. Checked separately above.
        del schedule["timezone"]
    return checked


def test_services_validate_against_the_hsds_3_0_schema(services):
    assert SERVICE_SCHEMA.exists(), f"the HSDS 3.0 schema is in tests/data ({SERVICE_SCHEMA})"
    schema = json.loads(SERVICE_SCHEMA.read_text("utf-8"))
    # Extension keys (location.address_private, capacities) are allowed: the schema does
    # not forbid additional properties. Make sure that stays true.
    assert "additionalProperties" not in SERVICE_SCHEMA.read_text("utf-8")
    validator = jsonschema.validators.validator_for(schema)(schema, format_checker=jsonschema.FormatChecker())
    for s in services[:300]:
        errors = sorted(validator.iter_errors(_for_hsds_3_0(s)), key=str)
        assert not errors, f"{s['name']}: {errors[0].message} at {list(errors[0].absolute_path)}"


def test_capacities_validate_against_the_hsds_3_1_schema(services):
    assert CAPACITY_SCHEMA.exists(), f"the HSDS 3.1 schema is in tests/data ({CAPACITY_SCHEMA})"
    schema = json.loads(CAPACITY_SCHEMA.read_text("utf-8"))
    schema["properties"]["unit"] = json.loads(UNIT_SCHEMA.read_text("utf-8"))  # inline the $ref
    validator = jsonschema.validators.validator_for(schema)(schema, format_checker=jsonschema.FormatChecker())
    capacities = [c for s in services for c in s["capacities"]]
    assert capacities
    for capacity in capacities:
        validator.validate(capacity)


# --------------------------------------------------------------------------- ndjson


def test_write_ndjson_writes_one_service_per_line(tmp_path):
    path = tmp_path / "demo.ndjson"
    assert write_ndjson(path, 25, 11) == 25
    lines = path.read_text("utf-8").splitlines()
    assert len(lines) == 25
    assert [json.loads(line) for line in lines] == json.loads(json.dumps(list(generate_services(25, 11))))
    assert write_ndjson(tmp_path / "empty.ndjson", 0, 11) == 0
