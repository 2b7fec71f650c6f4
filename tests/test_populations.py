"""Who a service is for (service/directory/populations.py): the mapping from eligibility text
and taxonomy terms to population groups, what sites store, and the population= and gender=
filters of nearest and search over real HTTP on a real PostGIS, against a brute force over
the demo data."""

from __future__ import annotations

import csv
import io
import random
import zipfile

import pytest
from sqlalchemy import create_engine, text

from service.directory.categories import TermRef
from service.directory.populations import (
    CELL_ANY_GENDER,
    CELL_UNRESTRICTED,
    GENDER_CODES,
    GENDERS,
    groups_for,
    is_restricted,
    population_codes,
    population_groups,
)
from spatial.geodesy import round_up_km
from tests.support.site_distances import site_distances_m

PROBLEM = "application/problem+json"

# Eligibility text as 211 records and the demo data write it, and the groups it must give.
MAPPING = [
    # shelters: the ones a wrong answer wastes the night on
    ("Women and gender-diverse adults 16+ without housing", ["women", "gender_diverse"]),
    ("Single men 18+ experiencing homelessness", ["men"]),
    ("* Homeless males in Miami-Dade County.\\n* Photo ID required.", ["men"]),
    ("* Program for single homeless men\\n* No sex offenders allowed", ["men"]),
    ("Families with children experiencing homelessness", ["families"]),
    ("Women and their children fleeing violence", ["women", "families", "fleeing_violence"]),
    (
        "Women, trans and non-binary people 16+ experiencing abuse, and their children",
        ["women", "gender_diverse", "families", "fleeing_violence"],
    ),
    ("* Women and children. \\n* Proper identification requested.", ["women", "families"]),
    ("Homeless women and children 6 years old or younger on a case by case basis", ["women", "families"]),
    ("Youth aged 16 to 24 experiencing homelessness", ["youth"]),
    ("Youth aged 12 to 17 in crisis", ["youth"]),
    ("Adults 16+ experiencing homelessness; pets welcome", ["pets"]),
    ("Anyone who needs a warm place overnight; no ID required; pets welcome", ["pets"]),
    ("Pet-friendly shelter for single adults", ["pets"]),
    ("Women only. Pets are welcome.", ["women", "pets"]),
    # negations: the group is named, and refused
    ("No pets allowed", []),
    ("Pets are not allowed", []),
    ("Adults 18+; no animals except service animals", []),
    ("Service animals only", []),
    ("Not for men", []),
    ("No men or boys on site", []),
    ("Pas d'animaux", []),
    ("Animaux interdits", []),
    ("Men only; no pets", ["men"]),
    # everyone, in so many words
    ("Persons experiencing homelessness or are low income, including men, women and children.", []),
    ("Men, women and children", []),
    ("Women, men, children, members of the LGBTQ community. Please contact the shelter directly.", []),
    ("Single men, single women and families", []),
    ("Adults 18+, including 2SLGBTQ+ people and newcomers", []),
    ("Individuals, couples and families", []),
    ("Low-income individuals and families", []),
    ("Everyone welcome", []),
    ("Anyone in distress or crisis, any age", []),
    ("Open to the public within the City of Miami limits, no restrictions, all welcomed", []),
    # "family" that is not a family service
    ("Residents of the catchment area without a family doctor; priority for people facing barriers to care", []),
    ("Anyone below 18 years old must be accompanied by a parent.", []),
    ("Adult, child or family who has lost a loved one", []),
    ("Veterans and their families", ["veterans"]),
    ("US Veterans with an Honorable Discharge", ["veterans"]),
    ("Newcomers to Canada and their families", ["newcomers"]),
    ("Permanent residents, refugees and refugee claimants", ["newcomers"]),
    ("Parents and caregivers with children 0 to 6", ["families"]),
    ("Families 200% below the poverty level.", ["families"]),
    # ages written as numbers
    ("Youth aged 15 to 29 looking for work", ["youth"]),
    ("Young people 16-24", ["youth"]),
    ("Ontario residents in financial need aged 18+ (16–17 in special circumstances)", []),
    ("Children 6 weeks - 5 years old for migrant and low income families", ["families"]),
    ("Men 21-60 years old. Must have a photo ID.", ["men"]),
    ("Adults 55+", ["seniors"]),
    ("Older adults 50+", ["seniors"]),
    ("Anyone 60 years or older", ["seniors"]),
    ("Adults over 60 years old, disabled adults 18-59 years old", ["seniors"]),
    ("Seniors 65+ with memory loss or frailty", ["seniors"]),
    ("Adults 18+", []),
    ("Job seekers 15+ not in full-time school", []),
    # the other groups
    ("Indigenous people and community members of all ages", ["indigenous"]),
    ("First Nations, Inuit and Métis youth", ["youth", "indigenous"]),
    ("2SLGBTQ+ people of all ages", ["2slgbtq"]),
    ("LGBTQ youth 14 to 24", ["youth", "2slgbtq"]),
    (
        "FIU register student, faculty and staff who are victims of domestic violence/abuse and/or stalking.",
        ["fleeing_violence"],
    ),
    ("People fleeing domestic or intimate partner violence", ["fleeing_violence"]),
    ("Survivors of human trafficking", ["fleeing_violence"]),
    ("Crime victims", []),
    # French
    ("Femmes et enfants fuyant la violence conjugale", ["women", "families", "fleeing_violence"]),
    ("Femmes et personnes de diverses identités de genre de 16 ans et plus", ["women", "gender_diverse"]),
    ("Hommes seuls de 18 ans et plus", ["men"]),
    ("Jeunes de 16 à 24 ans", ["youth"]),
    ("Aînés de 65 ans et plus", ["seniors"]),
    ("Personnes âgées et adultes ayant un handicap", ["seniors"]),
    ("Familles avec enfants", ["families"]),
    ("Nouveaux arrivants et réfugiés", ["newcomers"]),
    ("Autochtones de tous âges", ["indigenous"]),
    ("Vétérans et leurs familles", ["veterans"]),
    ("Anciens combattants", ["veterans"]),
    ("Animaux de compagnie acceptés", ["pets"]),
    ("Sans animaux", []),
    ("Personnes 2SLGBTQ+", ["2slgbtq"]),
    ("Résidents sans médecin de famille", []),
    ("", []),
]


@pytest.mark.parametrize(("eligibility", "expected"), MAPPING, ids=[m[0][:50] or "empty" for m in MAPPING])
def test_eligibility_text_gives_its_groups(eligibility, expected):
    assert groups_for([], eligibility) == expected


TERMS = [
    ([TermRef("YS-2000.9500", "Women")], ["women"]),
    ([TermRef("YS-5000", "Males")], ["men"]),
    ([TermRef("YT-2400.8500", "Transsexual/Transgender Individuals")], ["gender_diverse", "2slgbtq"]),
    ([TermRef("YB-9500.0500", "Adolescents")], ["youth"]),
    ([TermRef("YB-8000", "Older Adults")], ["seniors"]),
    ([TermRef("YV-3000.3000", "Homeless Families")], ["families"]),
    ([TermRef("YE-7000", "Refugees/Entrants/Asylees")], ["newcomers"]),
    ([TermRef("YN-9000.9000", "Vietnam Era Veterans")], ["veterans"]),
    ([TermRef("YK-6600", "Pets")], ["pets"]),
    ([TermRef("YM-1500.1900", "Domestic Violence Shelter Residents")], ["fleeing_violence"]),
    ([TermRef(None, "Native American Community")], ["indigenous"]),  # by name: no AIRS code we trust
    ([TermRef("BH-1800.8500", "Homeless Shelter")], []),  # a service term, not a population
    ([TermRef("YB-80001", "Not a boundary")], []),
    ([TermRef("YS-2000", "Females"), TermRef("YS-5000", "Males")], []),  # both: no gender restriction
]


@pytest.mark.parametrize(("terms", "expected"), TERMS, ids=[str(t[0][0].code or t[0][0].name) for t in TERMS])
def test_taxonomy_terms_give_their_groups(terms, expected):
    assert groups_for(terms, None) == expected


def test_groups_and_labels_come_from_the_data_file():
    groups = population_groups()
    assert [g.code for g in groups] == [
        "women",
        "men",
        "gender_diverse",
        "youth",
        "seniors",
        "families",
        "indigenous",
        "newcomers",
        "veterans",
        "pets",
        "fleeing_violence",
        "2slgbtq",
    ]
    assert all(g.label_en and g.label_fr for g in groups)
    assert [g.code for g in groups if g.gender] == list(GENDER_CODES)
    assert [g.code for g in groups if not g.restricts] == ["pets"]
    assert not is_restricted([]) and not is_restricted(["pets"]) and is_restricted(["pets", "youth"])
    assert not any(code.startswith("_") for code in population_codes())  # the cell markers never clash


def _miami_rows(shared_data, name: str) -> list[dict]:
    with zipfile.ZipFile(shared_data / "hsds-miami-2019/open211-miami-hsds1.zip") as archive:
        return list(csv.DictReader(io.TextIOWrapper(archive.open(f"data/{name}"), encoding="utf-8", errors="replace")))


def test_real_211_export_eligibility_and_target_populations(shared_data):
    """The Miami 211 export: its eligibility texts map without a surprise, and its "Y" target
    population terms (the codes the data file names) give their groups."""
    texts = [row["eligibility"] for row in _miami_rows(shared_data, "eligibility.csv")]
    found = {text: groups_for([], text) for text in texts}
    by_group = {code: [t for t, groups in found.items() if code in groups] for code in population_codes()}
    assert len(by_group["veterans"]) >= 5 and all("veteran" in t.lower() for t in by_group["veterans"])
    assert all(any(word in t.lower() for word in ("men", "male", "boys", "father")) for t in by_group["men"])
    assert by_group["seniors"] and by_group["youth"] and by_group["families"] and by_group["women"]
    # Most records restrict nobody by group: a filter must not hide the bulk of a directory.
    assert sum(1 for groups in found.values() if groups) < len(found) * 0.5
    terms = {row["id"]: row["name"] for row in _miami_rows(shared_data, "taxonomy.csv")}
    for code, group in (("YS-2000.9500", "women"), ("YS-5000.5000", "men"), ("YN-9000", "veterans")):
        assert terms[code] and group in groups_for([TermRef(code, terms[code])], None)
    assert groups_for([TermRef("YK-6600", terms["YK-6600"])], None) == ["pets"]
    assert groups_for([TermRef("YB-8000", terms["YB-8000"])], None) == ["seniors"]


# --- what the sites hold (the demo data set) -------------------------------------------------


@pytest.fixture(scope="module")
def sites(demo_database_url):
    engine = create_engine(demo_database_url)
    with engine.connect() as connection:
        rows = (
            connection.execute(
                text("""
            SELECT s.service_id::text AS service_id, s.location_id::text AS location_id, s.is_private, s.status,
                   s.category_groups, s.population_groups, s.card, sv.eligibility_description,
                   ST_AsText(CASE WHEN s.is_private THEN s.coarse_geom ELSE s.geom END) AS wkt
            FROM service_site s JOIN service sv ON sv.id = s.service_id
        """)
            )
            .mappings()
            .all()
        )
    engine.dispose()
    return [dict(r) for r in rows]


def test_demo_sites_carry_their_groups_on_the_card(sites):
    seen = set()
    for site in sites:
        card = site["card"]
        assert card["populations"] == site["population_groups"]
        assert card["population_restricted"] == is_restricted(site["population_groups"])
        assert site["population_groups"] == groups_for([], site["eligibility_description"])
        seen.update(site["population_groups"])
    # The demo data shows the range the filter offers.
    assert {"women", "men", "gender_diverse", "youth", "seniors", "families", "pets"} <= seen
    assert {"indigenous", "newcomers", "veterans", "fleeing_violence", "2slgbtq"} <= seen
    unrestricted = [s for s in sites if not s["card"]["population_restricted"]]
    assert len(unrestricted) > len(sites) // 2, "most services state no restriction"
    # Women's shelters say women; confidential ones (fleeing violence) carry their groups too.
    private = [s for s in sites if s["is_private"]]
    assert private and all({"women", "fleeing_violence"} <= set(s["population_groups"]) for s in private)
    assert all("populations" in s["card"] and "population_restricted" in s["card"] for s in private)


def test_private_cells_hold_the_groups_of_their_sites_with_markers(demo_database_url, sites):
    engine = create_engine(demo_database_url)
    with engine.connect() as connection:
        cells = {
            row.wkt: set(row.population_groups)
            for row in connection.execute(text("SELECT ST_AsText(centre) AS wkt, population_groups FROM private_cell"))
        }
    engine.dispose()
    expected: dict[str, set[str]] = {}
    for site in sites:
        if not site["is_private"] or site["wkt"] is None:
            continue
        groups = set(site["population_groups"])
        cell = expected.setdefault(site["wkt"], set())
        cell |= groups
        if not is_restricted(groups):
            cell.add(CELL_UNRESTRICTED)
        if not groups & set(GENDER_CODES):
            cell.add(CELL_ANY_GENDER)
    assert cells == expected


# --- the filters, against a brute force ----------------------------------------------------------


def _passes(site: dict, params: dict) -> bool:
    """The rule, written plainly: population= keeps a site for one of the groups or restricting
    nobody; gender= keeps a site with no gender group or with that gender's."""
    if site["status"] != "active":
        return False
    groups = set(site["population_groups"])
    if "category" in params and not set(params["category"].split(",")) & set(site["category_groups"]):
        return False
    if "population" in params:
        wanted = set(params["population"].split(","))
        if is_restricted(groups) and not groups & wanted:
            return False
    gender = GENDERS.get(params.get("gender", ""))
    return not (gender and groups & set(GENDER_CODES) and gender not in groups)


def _brute_force(engine, sites, lat: float, lon: float, params: dict, limit: int) -> list[tuple[str, str, int]]:
    distances = site_distances_m(engine, lat, lon)
    ranked = []
    for site in sites:
        key = f"{site['service_id']}/{site['location_id']}"
        if key not in distances or distances[key] > 200_000 or not _passes(site, params):
            continue
        distance_m = round_up_km(distances[key]) if site["is_private"] else distances[key]
        ranked.append((distance_m, site["service_id"], site["location_id"]))
    ranked.sort()
    return [(service_id, location_id, round(d)) for d, service_id, location_id in ranked[:limit]]


def _probe_points(sites: list[dict], count: int, seed: int) -> list[tuple[float, float]]:
    rng = random.Random(seed)
    coordinates = [tuple(map(float, s["wkt"][6:-1].split())) for s in sites if s["wkt"]]
    # Near confidential cells too: their sites are ranked by the cell.
    private = [tuple(map(float, s["wkt"][6:-1].split())) for s in sites if s["wkt"] and s["is_private"]]
    points = []
    for _ in range(count):
        lon, lat = rng.choice(coordinates)
        points.append((lat + rng.uniform(-0.05, 0.05), lon + rng.uniform(-0.05, 0.05)))
    for lon, lat in rng.sample(private, min(3, len(private))):
        points.append((lat, lon))
    return points


FILTER_CASES = [
    *({"population": code} for code in population_codes()),
    {"population": "youth,women"},
    {"population": "pets,families"},
    *({"gender": gender} for gender in GENDERS),
    {"population": "youth,women", "gender": "woman"},
    {"population": "fleeing_violence", "gender": "man"},
    {"population": "pets", "gender": "gender_diverse", "category": "shelter"},
    {"gender": "man", "category": "shelter"},
    {"gender": "woman", "category": "shelter"},
]


@pytest.mark.parametrize(
    "params", FILTER_CASES, ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items()) or "no-filter"
)
def test_nearest_who_filters_equal_brute_force(demo_server, demo_database_url, sites, params):
    engine = create_engine(demo_database_url)
    points = _probe_points(sites, 10, seed=len(str(params)))
    confidential_seen = expected_private = 0
    private = {(s["service_id"], s["location_id"]) for s in sites if s["is_private"]}
    with demo_server.client() as client:
        for lat, lon in points:
            response = client.get("/v1/services/nearest", params={"lat": lat, "lon": lon, "limit": 15, **params})
            assert response.status_code == 200, response.text
            results = response.json()["results"]
            got = [(r["service_id"], r["location_id"], r["distance_m"]) for r in results]
            expected = _brute_force(engine, sites, lat, lon, params, 15)
            assert [g[:2] for g in got] == [e[:2] for e in expected], f"at {lat},{lon} with {params}"
            assert all(abs(g[2] - e[2]) <= 1 for g, e in zip(got, expected, strict=True))
            for result in results:
                assert result["population_restricted"] == is_restricted(result["populations"])
            confidential_seen += sum(1 for r in results if r["confidential"])
            expected_private += sum(1 for e in expected if e[:2] in private)
    engine.dispose()
    assert confidential_seen == expected_private
    if params in ({"population": "fleeing_violence"}, {"gender": "woman"}):
        assert confidential_seen, "standing at a confidential cell, its sites are in the list"


def test_search_who_filters_equal_brute_force(demo_server, sites):
    with demo_server.client() as client:
        for params in ({"population": "veterans"}, {"gender": "man"}, {"population": "youth,pets", "gender": "woman"}):
            body = client.get("/v1/services", params={**params, "per_page": 100}).json()
            expected = [s for s in sites if _passes(s, params)]
            assert body["total_items"] == len(expected), params
            for item in body["contents"]:
                site = next(
                    s for s in sites if (s["service_id"], s["location_id"]) == (item["service_id"], item["location_id"])
                )
                assert _passes(site, params)
                assert item["populations"] == site["population_groups"]


@pytest.mark.parametrize(
    ("params", "field", "value", "code"),
    [
        ({"population": "youth,teens"}, "query.population", "teens", "unknown_population"),
        ({"population": "Women"}, "query.population", "Women", "unknown_population"),
        ({"gender": "female"}, "query.gender", "female", "unknown_gender"),
    ],
)
@pytest.mark.parametrize("path", ["/v1/services/nearest", "/v1/services"])
def test_unknown_who_values_are_422_naming_them(demo_server, params, field, value, code, path):
    query = {"lat": 43.65, "lon": -79.38, **params} if path.endswith("nearest") else params
    with demo_server.client() as client:
        english = client.get(path, params=query)
        french = client.get(path, params=query, headers={"Accept-Language": "fr-CA"})
    for response in (english, french):
        assert response.status_code == 422
        assert response.headers["content-type"].startswith(PROBLEM)
        body = response.json()
        assert body["type"].endswith("validation-error")
        assert value in body["detail"]
        (error,) = body["errors"]
        assert error["field"] == field and error["code"] == code and value in error["message"]
    assert "inconnu" in french.json()["detail"] and "inconnu" in french.json()["errors"][0]["message"]


def test_sync_and_nearest_carry_the_groups_for_phones(demo_server):
    with demo_server.client() as client:
        page = client.get("/v1/sync/services").json()
        nearest = client.get("/v1/services/nearest", params={"lat": 43.65, "lon": -79.38, "limit": 50}).json()
    sites = [site for service in page["services"] for site in service["sites"]]
    assert sites and all("populations" in s and "population_restricted" in s for s in sites)
    assert all(isinstance(r["populations"], list) for r in nearest["results"])
