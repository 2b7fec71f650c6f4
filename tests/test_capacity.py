"""Live capacity from providers (issue 16, part 1), on the real stack: a fresh PostGIS
database per test, a small HSDS file imported with the importer, `fieldnav serve` in a
subprocess, real HTTP.

What is proven here:
- a provider token reads and updates only the services of the organizations an admin granted
  it (PUT /v1/admin/providers/...); any other service is 404 (never 403), also after revoke;
- PUT /v1/services/{id}/capacity and the bulk POST /v1/capacity (all or nothing, every item's
  problem listed), both idempotent, every change kept with who, old and new;
- the import-vs-live rule (service/capacity/merge.py) both ways;
- an update is seen at once by nearest, search, the service detail, has_capacity, the sync
  delta, TileJSON's version and the tile's properties, and offline pack snapshots;
- staleness at FIELDNAV_CAPACITY_STALE_AFTER_H (12 h): exactly at the boundary and past it;
- every kind of bad input gets a 4xx problem and changes nothing in the database.
"""

from __future__ import annotations

import itertools
import json
import math
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import mapbox_vector_tile
import pytest
from sqlalchemy import Engine, create_engine, text

from service.auth.principal import Role
from service.auth.tokens import create_token
from service.capacity import merge
from service.directory.nearest import NearestQuery, find_nearest
from service.importer import import_path
from tests.support.servers import LiveServer, start_server, stop_server

PROBLEM = "application/problem+json"
PROBLEM_BASE = "tag:fieldnav.org,2026:problem/"
STALE_AFTER = timedelta(hours=12)
TORONTO = (43.6534, -79.3839)  # City Hall: every test site is within 2 km
VISIBLE_WITHIN_S = 2.0

ORG_A = uuid.UUID("4a1f2c3d-0000-4000-8000-00000000000a")
ORG_B = uuid.UUID("4a1f2c3d-0000-4000-8000-00000000000b")
# Org A: two shelters; org B: one shelter and a drop-in without a count.
A1 = uuid.UUID("5b2e3d4c-0000-4000-8000-0000000000a1")
A2 = uuid.UUID("5b2e3d4c-0000-4000-8000-0000000000a2")
B1 = uuid.UUID("5b2e3d4c-0000-4000-8000-0000000000b1")
B2 = uuid.UUID("5b2e3d4c-0000-4000-8000-0000000000b2")
NAMES = {
    A1: "Harbourfront Emergency Shelter",
    A2: "Harbourfront Youth Shelter",
    B1: "Lakeview Family Shelter",
    B2: "Lakeview Warming Centre",
}
ORG_OF = {A1: ORG_A, A2: ORG_A, B1: ORG_B, B2: ORG_B}
POINTS = {A1: (43.6480, -79.3760), A2: (43.6560, -79.3900), B1: (43.6600, -79.3700), B2: (43.6450, -79.3950)}
BEDS_UNIT = "7c0d1e2f-0000-5000-8000-0000000000be"


# --------------------------------------------------------------------------- data


def service_record(service_id: uuid.UUID, *, beds: tuple[int, int, datetime] | None = None) -> dict:
    """One HSDS 3 compiled service, open 24/7 at one site near Toronto City Hall;
    ``beds``: (available, maximum, updated) of an HSDS 3.1 service_capacity in beds."""
    organization = ORG_OF[service_id]
    location_id = uuid.uuid5(service_id, "location")
    lat, lon = POINTS[service_id]
    record = {
        "id": str(service_id),
        "name": NAMES[service_id],
        "description": "Emergency beds, meals and help finding housing.",
        "status": "active",
        "organization": {
            "id": str(organization),
            "name": "Harbourfront Housing Services" if organization == ORG_A else "Lakeview Family Services",
        },
        "eligibility_description": "Adults and families",
        "application_process": "Walk in any time.",
        "schedules": [
            {
                "id": str(uuid.uuid5(service_id, "schedule")),
                "service_id": str(service_id),
                "freq": "WEEKLY",
                "byday": "MO,TU,WE,TH,FR,SA,SU",
                "opens_at": "00:00",
                "closes_at": "00:00",
                "timezone": "America/Toronto",
            }
        ],
        "service_at_locations": [
            {
                "id": str(uuid.uuid5(service_id, "sal")),
                "service_id": str(service_id),
                "location_id": str(location_id),
                "location": {
                    "id": str(location_id),
                    "location_type": "physical",
                    "name": NAMES[service_id],
                    "latitude": lat,
                    "longitude": lon,
                    "addresses": [
                        {
                            "id": str(uuid.uuid5(service_id, "address")),
                            "location_id": str(location_id),
                            "address_1": "1 Front Street",
                            "city": "Toronto",
                            "state_province": "ON",
                            "postal_code": "M5J 1A1",
                            "country": "CA",
                            "address_type": "physical",
                        }
                    ],
                },
            }
        ],
        "capacities": [],
    }
    if beds is not None:
        available, maximum, updated = beds
        record["capacities"] = [
            {
                "id": str(uuid.uuid5(service_id, f"capacity-{updated.isoformat()}")),
                "service_id": str(service_id),
                "unit": {"id": BEDS_UNIT, "name": "beds"},
                "available": available,
                "maximum": maximum,
                "description": "Emergency beds",
                "updated": updated.isoformat(),
            }
        ]
    return record


def write_hsds(path: Path, beds: dict[uuid.UUID, tuple[int, int, datetime]]) -> Path:
    """The four services as an HSDS JSON list, with file counts in ``beds``."""
    path.write_text(json.dumps([service_record(s, beds=beds.get(s)) for s in (A1, A2, B1, B2)]))
    return path


def iso(moment: datetime) -> str:
    return moment.isoformat()


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


# --------------------------------------------------------------------------- the stack


def token(role: Role, subject: str, agency: str = "test-agency") -> str:
    return create_token(agency=agency, role=role, subject=subject, ttl=timedelta(hours=2))[0]


@dataclass
class Stack:
    url: str
    engine: Engine
    server: LiveServer
    client: httpx.Client
    folder: Path
    imported_at: datetime
    tokens: dict[str, str] = field(default_factory=dict)

    def auth(self, who: str) -> dict:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def put(
        self,
        service_id,
        capacities: list[dict],
        who: str = "admin",
        key: str | None = None,
        headers: dict | None = None,
    ) -> httpx.Response:
        sent = {**self.auth(who), "Idempotency-Key": key or str(uuid.uuid4()), **(headers or {})}
        return self.client.put(f"/v1/services/{service_id}/capacity", json={"capacities": capacities}, headers=sent)

    def bulk(self, items: list[dict], who: str = "admin", key: str | None = None) -> httpx.Response:
        return self.client.post(
            "/v1/capacity",
            json={"items": items},
            headers={**self.auth(who), "Idempotency-Key": key or str(uuid.uuid4())},
        )

    def get(self, path: str, who: str = "worker", **params) -> httpx.Response:
        return self.client.get(path, params=params, headers=self.auth(who))

    def nearest(self, who: str = "worker", **params) -> dict[str, dict]:
        """{service_id: result} of nearest from City Hall."""
        response = self.get("/v1/services/nearest", who, lat=TORONTO[0], lon=TORONTO[1], limit=50, **params)
        assert response.status_code == 200, response.text
        return {r["service_id"]: r for r in response.json()["results"]}

    def search(self, q: str) -> dict[str, dict]:
        response = self.get("/v1/services", q=q, per_page=50)
        assert response.status_code == 200, response.text
        return {r["service_id"]: r for r in response.json()["contents"]}

    def detail(self, service_id, who: str = "worker") -> httpx.Response:
        return self.get(f"/v1/services/{service_id}", who)

    def reimport(self, beds: dict[uuid.UUID, tuple[int, int, datetime]]) -> None:
        path = write_hsds(self.folder / f"directory-{uuid.uuid4().hex[:6]}.json", beds)
        import_path(self.engine, path, source="directory")

    def grant(self, subject: str, organization: uuid.UUID, **params) -> httpx.Response:
        return self.client.put(
            f"/v1/admin/providers/{subject}/organizations/{organization}", params=params, headers=self.auth("admin")
        )

    def state(self) -> dict:
        """Everything a capacity write touches, to prove a refused one changed nothing."""
        with self.engine.connect() as connection:

            def rows(sql: str) -> list:
                return [tuple(r) for r in connection.execute(text(sql))]

            return {
                "live": rows(
                    "SELECT service_id, unit, available, maximum, updated, recorded_at, recorded_by "
                    "FROM capacity_live ORDER BY 1, 2"
                ),
                "history": rows("SELECT id FROM capacity_history ORDER BY id"),
                "version": rows("SELECT version, changed_at FROM data_version"),
                "change_log": rows("SELECT max(seq), count(*) FROM change_log"),
                "sites": rows("SELECT id, card, capacity_available, capacity_as_of FROM service_site ORDER BY id"),
                "points": rows("SELECT site_id, capacity, capacity_as_of FROM map_point ORDER BY site_id"),
                "keys": rows("SELECT principal_key, idempotency_key, state FROM handoff_idempotency ORDER BY 1, 2"),
                "grants": rows("SELECT principal_key, organization_id FROM provider_grant ORDER BY 1, 2"),
            }

    def data_version(self) -> int:
        with self.engine.connect() as connection:
            return connection.execute(text("SELECT version FROM data_version")).scalar_one()

    def history_rows(self, service_id) -> list[dict]:
        with self.engine.connect() as connection:
            return [
                dict(r._mapping)
                for r in connection.execute(
                    text("SELECT * FROM capacity_history WHERE service_id = :id ORDER BY id"), {"id": service_id}
                )
            ]


@pytest.fixture
def stack(database_url: str, tmp_path: Path) -> Iterator[Stack]:
    """A1 with a fresh file count (5 of 20 beds, 2 h old), B1 with a fresh one (3 of 10, 1 h
    old), A2 and B2 without. Provider desk-a is granted org A."""
    now = datetime.now(UTC)
    engine = create_engine(database_url)
    path = write_hsds(
        tmp_path / "directory.json", {A1: (5, 20, now - timedelta(hours=2)), B1: (3, 10, now - timedelta(hours=1))}
    )
    report = import_path(engine, path, source="directory")
    assert report.counts["service_site"] == 4, report.summary_line()
    server = start_server(
        database_url, env={"FIELDNAV_CAPACITY_LOCK_TIMEOUT_S": "1", "FIELDNAV_PACKS_DIR": str(tmp_path / "packs")}
    )
    client = server.client(timeout=20)
    stack = Stack(
        database_url,
        engine,
        server,
        client,
        tmp_path,
        now,
        tokens={
            "admin": token(Role.ADMIN, "admin-1", "fieldnav-ops"),
            "desk-a": token(Role.PROVIDER, "desk-a", "harbourfront"),
            "desk-b": token(Role.PROVIDER, "desk-b", "lakeview"),
            "worker": token(Role.FIELD_WORKER, "badge-17", "toronto-police"),
            "supervisor": token(Role.SUPERVISOR, "sgt-3", "toronto-police"),
            "navigator": token(Role.NAVIGATOR, "nav-2", "211-ontario"),
        },
    )
    try:
        assert stack.grant("desk-a", ORG_A).status_code == 201
        yield stack
    finally:
        client.close()
        stop_server(server)
        engine.dispose()


def problem(response: httpx.Response, status: int, slug: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM, response.headers
    body = response.json()
    assert body["type"] == PROBLEM_BASE + slug and body["status"] == status, body
    assert body["detail"], body
    return body


def error_fields(body: dict) -> dict[str, str]:
    """{field: code} of a problem's errors[]; every one has a message a person can read."""
    for error in body.get("errors", []):
        assert error["message"] and error["code"], error
    return {e["field"]: e["code"] for e in body.get("errors", [])}


def poll(check: Callable[[], bool], within_s: float = VISIBLE_WITHIN_S, since: float | None = None) -> float:
    """Seconds from ``since`` (default: now) until ``check()`` held; asserts it held within
    ``within_s``."""
    started = time.monotonic() if since is None else since
    while True:
        if check():
            return time.monotonic() - started
        if time.monotonic() - started > within_s:
            raise AssertionError(f"not visible within {within_s} s")
        time.sleep(0.05)


def tile_xy(lat: float, lon: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


def tile_features(client: httpx.Client, headers: dict, tiles_url: str, lat: float, lon: float, z: int = 15) -> dict:
    """{feature id (site_key): properties} of the services layer of the tile holding the point,
    fetched from TileJSON's (versioned) URL template."""
    x, y = tile_xy(lat, lon, z)
    url = tiles_url.replace("{z}", str(z)).replace("{x}", str(x)).replace("{y}", str(y))
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    layers = mapbox_vector_tile.decode(response.content)
    return {f["id"]: f["properties"] for f in layers["services"]["features"]}


def tilejson_version(stack: Stack) -> tuple[int, str]:
    response = stack.get("/v1/tiles.json")
    assert response.status_code == 200, response.text
    url = response.json()["tiles"][0]
    return int(parse_qs(urlparse(url).query)["v"][0]), url


def beds(available: int, maximum: int | None = None, updated: datetime | None = None) -> dict:
    entry = {"unit": "beds", "available": available}
    if maximum is not None:
        entry["maximum"] = maximum
    if updated is not None:
        entry["updated"] = iso(updated)
    return entry


# --------------------------------------------------------------------------- provider scope


def test_admin_grants_organizations_and_lists_provider_accounts(stack):
    again = stack.grant("desk-a", ORG_A)
    assert again.status_code == 200 and again.json() == {
        "issuer": "fieldnav",
        "subject": "desk-a",
        "organization_id": str(ORG_A),
        "created": False,
    }
    problem(stack.grant("desk-a", uuid.uuid4()), 404, "not-found")
    other_idp = stack.grant("desk-b", ORG_B, issuer="https://idp.lakeview.example")
    assert other_idp.status_code == 201 and other_idp.json()["issuer"] == "https://idp.lakeview.example"
    for who in ("worker", "desk-a", "navigator", "supervisor"):
        before = stack.state()
        refused = stack.client.put(f"/v1/admin/providers/{who}/organizations/{ORG_B}", headers=stack.auth(who))
        problem(refused, 403, "forbidden")
        problem(stack.get("/v1/admin/providers", who), 403, "forbidden")
        assert stack.state() == before

    listed = stack.get("/v1/admin/providers", "admin")
    assert listed.status_code == 200 and listed.headers["cache-control"] == "no-store"
    accounts = {(a["issuer"], a["subject"]): a["organizations"] for a in listed.json()["providers"]}
    assert set(accounts) == {("fieldnav", "desk-a"), ("https://idp.lakeview.example", "desk-b")}
    [org] = accounts[("fieldnav", "desk-a")]
    assert org["id"] == str(ORG_A) and org["name"] == "Harbourfront Housing Services" and org["service_count"] == 2
    assert org["granted_by"] == "fieldnav|admin-1" and at(org["granted_at"]).tzinfo is not None

    # The same subject signed by fieldnav is another account than the one of that identity provider.
    problem(stack.put(B1, [beds(1)], who="desk-b"), 404, "not-found")

    assert (
        stack.client.delete(
            f"/v1/admin/providers/desk-b/organizations/{ORG_B}",
            params={"issuer": "https://idp.lakeview.example"},
            headers=stack.auth("admin"),
        ).status_code
        == 204
    )
    problem(
        stack.client.delete(
            f"/v1/admin/providers/desk-b/organizations/{ORG_B}",
            params={"issuer": "https://idp.lakeview.example"},
            headers=stack.auth("admin"),
        ),
        404,
        "not-found",
    )
    assert [a["subject"] for a in stack.get("/v1/admin/providers", "admin").json()["providers"]] == ["desk-a"]


def test_a_provider_reads_and_updates_only_its_organizations_services(stack):
    own = stack.put(A1, [beds(2, 20)], who="desk-a")
    assert own.status_code == 200, own.text
    assert own.json()["capacities"][0] | {"as_of": None} == {
        "unit": "beds",
        "available": 2,
        "maximum": 20,
        "as_of": None,
        "state": "available",
        "origin": "live",
        "stale": False,
    }
    assert stack.put(A2, [beds(6, 8)], who="desk-a").status_code == 200
    assert stack.get(f"/v1/services/{A1}/capacity", "desk-a").status_code == 200
    assert stack.detail(A1, "desk-a").status_code == 200

    # Another organization's service is "no such service", exactly as one that does not exist.
    before = stack.state()
    missing = uuid.uuid4()
    for service_id in (B1, missing):
        put = problem(stack.put(service_id, [beds(1)], who="desk-a"), 404, "not-found")
        assert (
            str(service_id) in put["detail"]
            and put["detail"].replace(str(service_id), "<id>") == "No service with id <id>."
        )
        problem(stack.get(f"/v1/services/{service_id}/capacity", "desk-a"), 404, "not-found")
        problem(stack.detail(service_id, "desk-a"), 404, "not-found")
    bulk = problem(
        stack.bulk(
            [{"service_id": str(A1), "capacities": [beds(1)]}, {"service_id": str(B1), "capacities": [beds(1)]}],
            who="desk-a",
        ),
        422,
        "validation-error",
    )
    assert error_fields(bulk) == {"body.items.1.service_id": "service_not_found"}
    assert stack.state() == before
    # A provider is no field worker: the directory's other reads are not for it.
    problem(stack.get("/v1/services/nearest", "desk-a", lat=TORONTO[0], lon=TORONTO[1]), 403, "forbidden")

    listed = stack.get("/v1/provider/services", "desk-a").json()
    assert [(s["service_id"], s["capacities"][0]["available"]) for s in listed["services"]] == [
        (str(A1), 2),
        (str(A2), 6),
    ]
    assert listed["stale_after_s"] == 43200 and listed["units"][0] == "beds"
    assert stack.get("/v1/provider/services", "desk-b").json()["services"] == []

    # Revoked: every one of its services is gone for it at once.
    assert (
        stack.client.delete(
            f"/v1/admin/providers/desk-a/organizations/{ORG_A}", headers=stack.auth("admin")
        ).status_code
        == 204
    )
    problem(stack.put(A1, [beds(3)], who="desk-a"), 404, "not-found")
    problem(stack.get(f"/v1/services/{A1}/capacity", "desk-a"), 404, "not-found")
    problem(stack.detail(A1, "desk-a"), 404, "not-found")
    assert stack.get("/v1/provider/services", "desk-a").json()["services"] == []
    # Admins update any service, granted or not.
    assert stack.put(B1, [beds(4, 10)], who="admin").status_code == 200


# --------------------------------------------------------------------------- seen everywhere


def test_an_update_is_seen_everywhere_within_2_s(stack):
    version_before, tiles_before = tilejson_version(stack)
    cursor = None
    while True:  # page through the snapshot to the delta cursor a phone holds
        page = stack.get("/v1/sync/services", **({"cursor": cursor} if cursor else {})).json()
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    site_key = stack.nearest()[str(A2)]["site_key"]
    assert stack.nearest()[str(A2)]["capacity"] is None
    assert str(A2) not in stack.nearest(has_capacity="true")
    assert stack.detail(A2).json()["capacities"] == []  # now in this worker's detail cache
    assert (
        "capacity_as_of" not in tile_features(stack.client, stack.auth("worker"), tiles_before, *POINTS[A2])[site_key]
    )

    response = stack.put(A2, [beds(7, 12)], who="desk-a")
    written_at = time.monotonic()
    assert response.status_code == 200, response.text
    written = response.json()
    as_of = written["capacities"][0]["as_of"]
    assert written["data_version"] > version_before and written["service_id"] == str(A2)
    expected = {
        "unit": "beds",
        "available": 7,
        "maximum": 12,
        "as_of": as_of,
        "state": "available",
        "origin": "live",
        "stale": False,
    }

    def nearest_shows() -> bool:
        result = stack.nearest()[str(A2)]
        return result["capacity"] == expected and result["capacities"] == [expected]

    def has_capacity_shows() -> bool:
        return str(A2) in stack.nearest(has_capacity="true", category="shelter")

    def search_shows() -> bool:
        return stack.search("Harbourfront")[str(A2)]["capacity"] == expected

    def detail_shows() -> bool:
        capacities = stack.detail(A2).json()["capacities"]
        return [(c["available"], c["maximum"], c["updated"], c["unit"]["name"]) for c in capacities] == [
            (7, 12, as_of, "beds")
        ]

    def tilejson_moved() -> bool:
        return tilejson_version(stack)[0] == written["data_version"]

    for check in (nearest_shows, has_capacity_shows, search_shows, detail_shows, tilejson_moved):
        poll(check, since=written_at)  # each within 2 s of the update's answer

    _, tiles_after = tilejson_version(stack)
    assert tiles_after != tiles_before
    point = tile_features(stack.client, stack.auth("worker"), tiles_after, *POINTS[A2])[site_key]
    assert point["capacity"] == "available" and abs(point["capacity_as_of"] - at(as_of).timestamp()) < 1

    delta = stack.get("/v1/sync/services", cursor=cursor).json()
    assert delta["mode"] == "delta" and delta["tombstones"] == [] and delta["data_version"] == written["data_version"]
    assert [s["id"] for s in delta["services"]] == [str(A2)]
    [site] = delta["services"][0]["sites"]
    assert site["capacity"] == expected and site["site_key"] == site_key
    assert delta["capacity_stale_after_s"] == 43200

    # Full now: out of has_capacity, "full" on the map.
    full = stack.put(A2, [beds(0, 12)], who="desk-a")
    assert full.status_code == 200
    poll(lambda: str(A2) not in stack.nearest(has_capacity="true"))
    poll(lambda: tilejson_version(stack)[0] == full.json()["data_version"])
    point = tile_features(stack.client, stack.auth("worker"), tilejson_version(stack)[1], *POINTS[A2])[site_key]
    assert point["capacity"] == "full"
    again = stack.get("/v1/sync/services", cursor=delta["next_cursor"]).json()
    assert [s["id"] for s in again["services"]] == [str(A2)] and again["services"][0]["sites"][0]["capacity"][
        "available"
    ] == 0


def test_offline_pack_snapshots_carry_the_count_and_its_time(stack):
    taken = datetime.now(UTC) - timedelta(minutes=30)
    before = stack.client.post(
        "/v1/offline/packs",
        json={"bbox": [-79.41, 43.63, -79.36, 43.67], "min_zoom": 12, "max_zoom": 13},
        headers=stack.auth("worker"),
    )
    assert before.status_code == 201, before.text
    written = stack.put(A1, [beds(1, 20, taken)], who="desk-a")
    assert written.status_code == 200
    poll(lambda: tilejson_version(stack)[0] == written.json()["data_version"])
    after = stack.client.post(
        "/v1/offline/packs",
        json={"bbox": [-79.41, 43.63, -79.36, 43.67], "min_zoom": 12, "max_zoom": 13},
        headers=stack.auth("worker"),
    )
    assert after.status_code == 201, after.text
    manifest = after.json()
    # A pack built before the update is not handed out for the new data.
    assert manifest["id"] != before.json()["id"] and manifest["data_version"] == written.json()["data_version"]
    snapshot = stack.client.get(manifest["urls"]["services"], headers=stack.auth("worker")).json()
    assert snapshot["capacity_stale_after_s"] == 43200
    sites = {s["service_id"]: s for s in snapshot["services"]}
    assert sites[str(A1)]["capacity"] | {"stale": None} == {
        "unit": "beds",
        "available": 1,
        "maximum": 20,
        "as_of": iso(taken),
        "state": "available",
        "origin": "live",
        "stale": None,
    }
    assert at(sites[str(B1)]["capacity"]["as_of"]) == stack.imported_at - timedelta(hours=1)


# --------------------------------------------------------------------------- history, idempotency


def test_every_change_is_kept_with_who_old_and_new_and_retries_replay(stack):
    file_as_of = stack.imported_at - timedelta(hours=2)
    key = str(uuid.uuid4())
    first = stack.put(A1, [beds(2, 20)], who="desk-a", key=key)
    assert first.status_code == 200 and "idempotent-replayed" not in first.headers
    after_first = stack.state()

    replay = stack.put(A1, [beds(2, 20)], who="desk-a", key=key)
    assert replay.status_code == 200 and replay.headers["idempotent-replayed"] == "true"
    assert replay.content == first.content
    assert stack.state() == after_first
    # The same key for something else is refused, and changes nothing.
    problem(stack.put(A1, [beds(9, 20)], who="desk-a", key=key), 422, "idempotency-key-reused")
    assert stack.state() == after_first
    # Keys belong to their caller: the admin's same key and body is a request of its own.
    admin_same_key = stack.put(A1, [beds(2, 20)], who="admin", key=key)
    assert admin_same_key.status_code == 200 and "idempotent-replayed" not in admin_same_key.headers

    bulk_key = str(uuid.uuid4())
    items = [{"service_id": str(A1), "capacities": [beds(4, 20)]}, {"service_id": str(B1), "capacities": [beds(1, 10)]}]
    bulk = stack.bulk(items, who="admin", key=bulk_key)
    assert bulk.status_code == 200, bulk.text
    after_bulk = stack.state()
    replayed = stack.bulk(items, who="admin", key=bulk_key)
    assert replayed.status_code == 200 and replayed.headers["idempotent-replayed"] == "true"
    assert replayed.content == bulk.content and stack.state() == after_bulk
    assert [(i["service_id"], i["capacities"][0]["available"]) for i in bulk.json()["items"]] == [
        (str(A1), 4),
        (str(B1), 1),
    ]

    history = stack.get(f"/v1/services/{A1}/capacity", "desk-a").json()["history"]
    assert [(h["via"], h["by"]["subject"], h["by"]["role"], h["by"]["agency"]) for h in history] == [
        ("bulk", "admin-1", "admin", "fieldnav-ops"),
        ("single", "admin-1", "admin", "fieldnav-ops"),
        ("single", "desk-a", "provider", "harbourfront"),
    ]
    oldest = history[-1]
    assert oldest["old"] == {"available": 5, "maximum": 20, "as_of": iso(file_as_of)}  # the file's count it replaced
    assert oldest["new"] | {"as_of": None} == {"available": 2, "maximum": 20, "as_of": None}
    assert history[0]["old"] == {"available": 2, "maximum": 20, "as_of": history[1]["new"]["as_of"]}
    assert history[0]["new"]["available"] == 4
    rows = stack.history_rows(A1)
    assert [(r["actor_key"], r["old_available"], r["new_available"]) for r in rows] == [
        ("fieldnav|desk-a", 5, 2),
        ("fieldnav|admin-1", 2, 2),
        ("fieldnav|admin-1", 2, 4),
    ]
    [b1] = stack.history_rows(B1)
    assert (b1["old_available"], b1["new_available"], b1["via"]) == (3, 1, "bulk")
    # One data version for the whole bulk update, one change per service.
    with stack.engine.connect() as connection:
        changes = connection.execute(
            text("SELECT service_id, version FROM change_log WHERE version = :v ORDER BY 1"),
            {"v": bulk.json()["data_version"]},
        ).all()
    assert [c.service_id for c in changes] == [A1, B1]


# --------------------------------------------------------------------------- bulk: all or nothing


def test_bulk_update_is_all_or_nothing_and_lists_every_items_problems(stack):
    before = stack.state()
    now = datetime.now(UTC)
    missing = uuid.uuid4()
    refused = problem(
        stack.bulk(
            [
                {"service_id": str(A1), "capacities": [beds(1, 20)]},
                {"service_id": str(missing), "capacities": [beds(1)]},
                {"service_id": str(B1), "capacities": [beds(2, 10, now - timedelta(hours=3))]},  # the file's is 1 h old
                {"service_id": str(A2), "capacities": [beds(4)]},
            ]
        ),
        422,
        "validation-error",
    )
    assert error_fields(refused) == {
        "body.items.1.service_id": "service_not_found",
        "body.items.2.capacities.0.updated": "capacity_outdated",
    }
    assert "nothing was changed" in refused["detail"]
    assert stack.state() == before

    shapes = problem(
        stack.bulk(
            [
                {"service_id": str(A1), "capacities": [beds(-1)]},
                {"service_id": str(A2), "capacities": [beds(1)]},
                {"service_id": str(B1), "capacities": [{"unit": "bedz", "available": 1}]},
                {"service_id": str(B2), "capacities": [beds(5, 4)]},
            ]
        ),
        422,
        "validation-error",
    )
    assert error_fields(shapes) == {
        "body.items.0.capacities.0.available": "greater_than_equal",
        "body.items.2.capacities.0.unit": "unknown_unit",
        "body.items.3.capacities.0": "available_above_maximum",
    }
    assert stack.state() == before

    # Bad values and unknown services together: every problem in one answer.
    mixed = problem(
        stack.bulk(
            [
                {"service_id": str(A1), "capacities": [beds(-1)]},
                {"service_id": str(missing), "capacities": [beds(1)]},
                {"service_id": str(B1), "capacities": [beds(2, 10, now - timedelta(hours=3))]},
                {"service_id": str(A2), "capacities": [beds(1), beds(2)]},
            ]
        ),
        422,
        "validation-error",
    )
    assert error_fields(mixed) == {
        "body.items.0.capacities.0.available": "greater_than_equal",
        "body.items.1.service_id": "service_not_found",
        "body.items.2.capacities.0.updated": "capacity_outdated",
        "body.items.3.capacities": "duplicate_unit",
    }
    assert stack.state() == before

    twice = problem(
        stack.bulk(
            [
                {"service_id": str(A1), "capacities": [beds(1)]},
                {"service_id": str(A2), "capacities": [beds(1)]},
                {"service_id": str(A1), "capacities": [beds(2)]},
            ]
        ),
        422,
        "validation-error",
    )
    assert error_fields(twice) == {"body.items.2.service_id": "duplicate_service"}
    # FIELDNAV_CAPACITY_MAX_BULK_ITEMS (300) items are taken (here, 300 that do not exist), one more is not.
    most = problem(
        stack.bulk([{"service_id": str(uuid.uuid4()), "capacities": [beds(1)]} for _ in range(300)]),
        422,
        "validation-error",
    )
    assert len(most["errors"]) == 300 and {e["code"] for e in most["errors"]} == {"service_not_found"}
    too_many = problem(
        stack.bulk([{"service_id": str(uuid.uuid4()), "capacities": [beds(1)]} for _ in range(301)]),
        422,
        "validation-error",
    )
    assert error_fields(too_many) == {"body.items": "too_long"}
    assert error_fields(problem(stack.bulk([]), 422, "validation-error")) == {"body.items": "too_short"}
    problem(stack.bulk([{"service_id": str(A1), "capacities": [beds(1)]}], who="worker"), 403, "forbidden")
    missing_key = stack.client.post(
        "/v1/capacity", json={"items": [{"service_id": str(A1), "capacities": [beds(1)]}]}, headers=stack.auth("admin")
    )
    problem(missing_key, 400, "idempotency-key-missing")
    assert stack.state() == before

    done = stack.bulk([{"service_id": str(s), "capacities": [beds(n, 20)]} for n, s in enumerate((A1, A2, B1, B2))])
    assert done.status_code == 200, done.text
    assert {s: stack.nearest()[str(s)]["capacity"]["available"] for s in (A1, A2, B1, B2)} == {
        A1: 0,
        A2: 1,
        B1: 2,
        B2: 3,
    }


# --------------------------------------------------------------------------- bad input changes nothing


def _in(**delta) -> str:
    return iso(datetime.now(UTC) + timedelta(**delta))


# (name, body or capacities, who, headers, service, status, type, {field: code} or None)
BAD_PUTS = [
    ("negative count", [beds(-1, 20)], 422, "validation-error", {"body.capacities.0.available": "greater_than_equal"}),
    (
        "negative maximum",
        [{"unit": "beds", "available": 0, "maximum": -5}],
        422,
        "validation-error",
        {"body.capacities.0.maximum": "greater_than_equal"},
    ),
    (
        "available above maximum",
        [beds(21, 20)],
        422,
        "validation-error",
        {"body.capacities.0": "available_above_maximum"},
    ),
    (
        "unknown unit",
        [{"unit": "bedz", "available": 1}],
        422,
        "validation-error",
        {"body.capacities.0.unit": "unknown_unit"},
    ),
    (
        "unit in another case",
        [{"unit": "Beds", "available": 1}],
        422,
        "validation-error",
        {"body.capacities.0.unit": "unknown_unit"},
    ),
    (
        "naive updated",
        [{"unit": "beds", "available": 1, "updated": "2026-12-04T09:00:00"}],
        422,
        "validation-error",
        {"body.capacities.0.updated": "offset_required"},
    ),
    (
        "future updated",
        [{"unit": "beds", "available": 1, "updated": "FUTURE"}],
        422,
        "validation-error",
        {"body.capacities.0.updated": "updated_in_future"},
    ),
    (
        "updated not a time",
        [{"unit": "beds", "available": 1, "updated": "yesterday"}],
        422,
        "validation-error",
        {"body.capacities.0.updated": "datetime_from_date_parsing"},
    ),
    ("duplicate unit", [beds(1), beds(2)], 422, "validation-error", {"body.capacities": "duplicate_unit"}),
    ("no counts", [], 422, "validation-error", {"body.capacities": "too_short"}),
    (
        "fraction",
        [{"unit": "beds", "available": 2.5}],
        422,
        "validation-error",
        {"body.capacities.0.available": "int_type"},
    ),
    (
        "number as text",
        [{"unit": "beds", "available": "3"}],
        422,
        "validation-error",
        {"body.capacities.0.available": "int_type"},
    ),
    (
        "boolean",
        [{"unit": "beds", "available": True}],
        422,
        "validation-error",
        {"body.capacities.0.available": "int_type"},
    ),
    ("absurd count", [beds(100_001)], 422, "validation-error", {"body.capacities.0.available": "less_than_equal"}),
    ("missing available", [{"unit": "beds"}], 422, "validation-error", {"body.capacities.0.available": "missing"}),
    (
        "unknown field",
        [{"unit": "beds", "available": 1, "note": "x"}],
        422,
        "validation-error",
        {"body.capacities.0.note": "extra_forbidden"},
    ),
    (
        "count older than the one shown",
        "OUTDATED",
        409,
        "capacity-outdated",
        {"body.capacities.0.updated": "capacity_outdated"},
    ),
]


@pytest.mark.parametrize("name, capacities, status, slug, fields", BAD_PUTS, ids=[c[0] for c in BAD_PUTS])
def test_bad_counts_are_refused_and_change_nothing(stack, name, capacities, status, slug, fields):
    if capacities == "OUTDATED":  # A1 shows the file's count of 2 h ago
        capacities = [beds(1, 20, stack.imported_at - timedelta(hours=3))]
    for entry in capacities:
        if entry.get("updated") == "FUTURE":
            entry["updated"] = _in(minutes=10)
    before = stack.state()
    body = problem(stack.put(A1, capacities, who="desk-a"), status, slug)
    assert error_fields(body) == fields
    french = stack.put(A1, capacities, who="desk-a", headers={"Accept-Language": "fr"})
    assert french.status_code == status and french.headers["content-language"] == "fr"
    assert stack.state() == before


BAD_REQUESTS = [
    # (name, service, who, headers, body, status, type)
    ("service that does not exist", "MISSING", "admin", {}, None, 404, "not-found"),
    ("service id that is no uuid", "not-a-uuid", "admin", {}, None, 422, "validation-error"),
    ("field worker", A1, "worker", {}, None, 403, "forbidden"),
    ("supervisor", A1, "supervisor", {}, None, 403, "forbidden"),
    ("navigator", A1, "navigator", {}, None, 403, "forbidden"),
    ("provider without a grant", A1, "desk-b", {}, None, 404, "not-found"),
    ("no token", A1, None, {}, None, 401, "unauthorized"),
    ("missing Idempotency-Key", A1, "admin", {"Idempotency-Key": None}, None, 400, "idempotency-key-missing"),
    ("malformed Idempotency-Key", A1, "admin", {"Idempotency-Key": "two words"}, None, 400, "idempotency-key-invalid"),
    ("body not JSON", A1, "admin", {"Content-Type": "application/json"}, b"{capacities:", 422, "validation-error"),
    ("no body", A1, "admin", {}, b"", 422, "validation-error"),
    ("unknown top-level field", A1, "admin", {}, {"capacities": [beds(1)], "force": True}, 422, "validation-error"),
]


@pytest.mark.parametrize(
    "name, service, who, headers, body, status, slug", BAD_REQUESTS, ids=[c[0] for c in BAD_REQUESTS]
)
def test_bad_requests_are_refused_and_change_nothing(stack, name, service, who, headers, body, status, slug):
    service = uuid.uuid4() if service == "MISSING" else service
    sent = {"Idempotency-Key": str(uuid.uuid4()), **(stack.auth(who) if who else {}), **headers}
    sent = {k: v for k, v in sent.items() if v is not None}
    before = stack.state()
    if body is None:
        body = {"capacities": [beds(1, 20)]}
    if isinstance(body, bytes):
        response = stack.client.put(f"/v1/services/{service}/capacity", content=body, headers=sent)
    else:
        response = stack.client.put(f"/v1/services/{service}/capacity", json=body, headers=sent)
    problem(response, status, slug)
    if who is not None and status != 422:  # reading is refused alike
        read = stack.client.get(f"/v1/services/{service}/capacity", headers=stack.auth(who))
        assert read.status_code == (200 if status == 400 else status)
    assert stack.state() == before


def test_an_update_waiting_for_an_import_gets_503_and_nothing_changes(stack):
    """An import holds the directory lock (for minutes on a big source): the update waits
    FIELDNAV_CAPACITY_LOCK_TIMEOUT_S, answers 503 with Retry-After and releases its key, so
    the same request sent again later goes through."""
    before = stack.state()
    key = str(uuid.uuid4())
    with stack.engine.connect() as connection, connection.begin():
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": 0x66_69_65_6C_64})
        started = time.monotonic()
        busy = problem(stack.put(A1, [beds(1, 20)], who="desk-a", key=key), 503, "directory-busy")
        assert busy and stack.client  # (answered while the lock is held)
        waited = time.monotonic() - started
    assert 0.9 <= waited < 5, waited  # the stack's servers wait 1 s (FIELDNAV_CAPACITY_LOCK_TIMEOUT_S)
    assert stack.state() == before
    again = stack.put(A1, [beds(1, 20)], who="desk-a", key=key)
    assert again.status_code == 200 and "idempotent-replayed" not in again.headers


# --------------------------------------------------------------------------- staleness


def test_staleness_boundary_of_the_rule():
    as_of = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
    entry = {"unit": "beds", "available": 3, "maximum": 10, "as_of": iso(as_of), "state": "available", "origin": "live"}
    assert merge.stale_after() == STALE_AFTER
    assert merge.is_stale(iso(as_of), as_of + STALE_AFTER) is False  # exactly 12 h: still news
    assert merge.is_stale(iso(as_of), as_of + STALE_AFTER + timedelta(microseconds=1)) is True
    assert merge.with_freshness(entry, as_of + STALE_AFTER)["stale"] is False
    assert merge.with_freshness(entry, as_of + STALE_AFTER + timedelta(seconds=1)) == {**entry, "stale": True}
    assert merge.with_freshness(None, as_of) is None


def test_has_capacity_leaves_out_counts_older_than_12_h(stack):
    now = datetime.now(UTC)
    fresh_at = now - STALE_AFTER + timedelta(minutes=3)  # just inside 12 h
    stale_at = now - STALE_AFTER - timedelta(minutes=1)  # just past
    assert stack.put(A2, [beds(4, 9, fresh_at)], who="desk-a").status_code == 200
    assert stack.put(B2, [beds(6, 9, stale_at)], who="admin").status_code == 200

    # The boundary in nearest's own SQL, on the database: a count taken exactly at the cut-off
    # is in, a microsecond earlier is out (the same rule as `stale`, merge.is_stale).
    with stack.engine.connect() as connection:

        def found(since: datetime) -> set[uuid.UUID]:
            query = NearestQuery(lat=TORONTO[0], lon=TORONTO[1], limit=50, has_capacity=True, fresh_since=since)
            return {uuid.UUID(hit.card["service_id"]) for hit in find_nearest(connection, query)}

        assert A2 in found(fresh_at) and A2 not in found(fresh_at + timedelta(microseconds=1))
        assert B2 in found(stale_at) and B2 not in found(stale_at + timedelta(microseconds=1))

    results = stack.nearest()
    assert results[str(A2)]["capacity"]["stale"] is False and results[str(A2)]["capacities"][0]["stale"] is False
    assert results[str(B2)]["capacity"]["stale"] is True and results[str(B2)]["capacities"][0]["stale"] is True
    assert at(results[str(B2)]["capacity"]["as_of"]) == stale_at
    with_capacity = stack.nearest(has_capacity="true")
    assert str(A2) in with_capacity and str(B2) not in with_capacity
    assert {str(A2), str(B2)} <= set(stack.nearest(has_capacity="false"))  # without the filter: both, B2 greyed
    assert {s for s, r in with_capacity.items() if r["capacity"] and not r["capacity"]["stale"]} == set(with_capacity)

    assert stack.search("Warming")[str(B2)]["capacity"]["stale"] is True
    assert stack.search("Youth")[str(A2)]["capacity"]["stale"] is False
    sites = {s["id"]: s["sites"][0] for s in stack.get("/v1/sync/services").json()["services"]}
    assert sites[str(B2)]["capacity"]["stale"] is True and sites[str(A2)]["capacity"]["stale"] is False
    for service_id, who, stale in ((A2, "desk-a", False), (B2, "admin", True)):
        shown = stack.get(f"/v1/services/{service_id}/capacity", who).json()
        assert shown["capacities"][0]["stale"] is stale and shown["stale_after_s"] == 43200
    # The HSDS detail carries the count's time; the map, its time in Unix seconds.
    assert at(stack.detail(B2).json()["capacities"][0]["updated"]) == stale_at
    tilejson = stack.get("/v1/tiles.json").json()
    assert tilejson["capacity_stale_after_s"] == 43200
    points = tile_features(stack.client, stack.auth("worker"), tilejson["tiles"][0], *POINTS[B2])
    b2_point = points[results[str(B2)]["site_key"]]
    assert b2_point["capacity"] == "available" and abs(b2_point["capacity_as_of"] - stale_at.timestamp()) < 1
    assert time.time() - b2_point["capacity_as_of"] > tilejson["capacity_stale_after_s"]

    # A stale file count is out as well; a fresh one is in.
    stack.reimport({A1: (5, 20, now - timedelta(hours=13)), B1: (3, 10, now - timedelta(hours=11))})
    with_capacity = stack.nearest(has_capacity="true")
    assert str(A1) not in with_capacity and str(B1) in with_capacity
    assert stack.nearest()[str(A1)]["capacity"]["stale"] is True


# --------------------------------------------------------------------------- imports and live counts


def test_an_older_file_never_overwrites_a_newer_live_count_and_a_newer_file_wins(stack):
    now = datetime.now(UTC)
    live_at = now - timedelta(minutes=10)
    assert stack.put(A1, [beds(0, 20, live_at)], who="desk-a").status_code == 200
    live_rows = stack.state()["live"]

    # Last night's export (older than the provider's "0 beds") changes nothing that is shown.
    stack.reimport({A1: (9, 20, now - timedelta(hours=1)), B1: (3, 10, now - timedelta(hours=1))})
    shown = stack.nearest()[str(A1)]["capacity"]
    assert (shown["available"], shown["origin"], at(shown["as_of"])) == (0, "live", live_at)
    assert str(A1) not in stack.nearest(has_capacity="true")
    detail = stack.detail(A1).json()["capacities"]
    assert [(c["available"], at(c["updated"])) for c in detail] == [(0, live_at)]
    assert stack.state()["live"] == live_rows  # imports never touch live counts

    # The same time in the file and live: the live count stays.
    stack.reimport({A1: (9, 20, live_at), B1: (3, 10, now - timedelta(hours=1))})
    assert stack.nearest()[str(A1)]["capacity"]["origin"] == "live"

    # A file really newer than the live count (the provider's own system, exported since) wins.
    file_at = now - timedelta(minutes=1)
    stack.reimport({A1: (9, 20, file_at), B1: (3, 10, now - timedelta(hours=1))})
    shown = stack.nearest()[str(A1)]["capacity"]
    assert (shown["available"], shown["origin"], at(shown["as_of"])) == (9, "file", file_at)
    assert str(A1) in stack.nearest(has_capacity="true")
    # (Each worker reads the new data version within FIELDNAV_DATA_VERSION_TTL_S, 1 s.)
    poll(lambda: stack.detail(A1).json()["capacities"][0]["id"] == str(uuid.uuid5(A1, f"capacity-{iso(file_at)}")))
    [from_file] = stack.detail(A1).json()["capacities"]
    assert (from_file["available"], at(from_file["updated"])) == (9, file_at)
    # ... and a live count older than it is refused, one without a time taken now is not.
    before = stack.state()
    outdated = problem(stack.put(A1, [beds(1, 20, now - timedelta(minutes=5))], who="desk-a"), 409, "capacity-outdated")
    assert error_fields(outdated) == {"body.capacities.0.updated": "capacity_outdated"}
    assert stack.state() == before
    current = stack.put(A1, [beds(2, 20)], who="desk-a")
    assert current.status_code == 200
    assert stack.nearest()[str(A1)]["capacity"]["origin"] == "live"
    history = stack.get(f"/v1/services/{A1}/capacity", "desk-a").json()["history"]
    assert history[0]["old"] == {"available": 9, "maximum": 20, "as_of": iso(file_at)}


def test_a_count_from_a_phone_clock_slightly_ahead_does_not_block_the_next_update(stack):
    """A phone 1 minute ahead sends "updated" in the server's future (allowed: 2 minutes of
    leeway). The count is taken as sent now, so the next update without a time is not
    refused as older than it."""
    ahead = datetime.now(UTC) + timedelta(minutes=1)
    first = stack.put(A1, [beds(3, 20, ahead)], who="desk-a")
    assert first.status_code == 200, first.text
    assert at(first.json()["capacities"][0]["as_of"]) <= datetime.now(UTC)
    second = stack.put(A1, [beds(2, 20)], who="desk-a")
    assert second.status_code == 200, second.text
    assert stack.nearest()[str(A1)]["capacity"]["available"] == 2


def test_concurrent_updates_without_a_time_all_go_through(stack):
    """Updates of one service at the same moment queue on the directory lock. "Now" is when
    each one gets its turn, so none is refused as older than the one that went before it."""
    import concurrent.futures

    def send(n: int) -> httpx.Response:
        with stack.server.client(timeout=30) as client:
            return client.put(
                f"/v1/services/{A1}/capacity",
                json={"capacities": [beds(n % 20, 20)]},
                headers={**stack.auth("desk-a"), "Idempotency-Key": str(uuid.uuid4())},
            )

    with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(send, range(24)))
    assert [a.status_code for a in answers] == [200] * 24, [a.text for a in answers if a.status_code != 200]
    rows = stack.history_rows(A1)
    assert len(rows) == 24
    # Each change's "old" is the one before it: the history is a chain.
    for before, after in itertools.pairwise(rows):
        assert (after["old_available"], after["old_updated"]) == (before["new_available"], before["new_updated"])
        assert after["new_updated"] >= before["new_updated"]


def test_fieldnav_capacity_stale_after_h_moves_the_boundary(stack):
    """A1's file count is 2 h old, B1's 1 h: fresh under the default 12 h; with 1.5 h, A1's is
    stale everywhere the rule is applied or handed to phones, and B1's is not."""
    assert {str(A1), str(B1)} <= set(stack.nearest(has_capacity="true"))
    strict = start_server(stack.url, env={"FIELDNAV_CAPACITY_STALE_AFTER_H": "1.5"})
    try:
        with strict.client() as client:

            def get(path: str, who: str = "worker", **params) -> dict:
                response = client.get(path, params=params, headers=stack.auth(who))
                assert response.status_code == 200, response.text
                return response.json()

            results = {
                r["service_id"]: r for r in get("/v1/services/nearest", lat=TORONTO[0], lon=TORONTO[1])["results"]
            }
            assert results[str(A1)]["capacity"]["stale"] is True and results[str(B1)]["capacity"]["stale"] is False
            found = {
                r["service_id"]
                for r in get("/v1/services/nearest", lat=TORONTO[0], lon=TORONTO[1], has_capacity="true")["results"]
            }
            assert str(A1) not in found and str(B1) in found
            assert get("/v1/tiles.json")["capacity_stale_after_s"] == 5400
            assert get("/v1/sync/services")["capacity_stale_after_s"] == 5400
            shown = get(f"/v1/services/{A1}/capacity", "desk-a")
            assert shown["stale_after_s"] == 5400 and shown["capacities"][0]["stale"] is True
    finally:
        stop_server(strict)


def test_a_count_sent_without_its_maximum_keeps_the_maximum_shown(stack):
    assert stack.put(A1, [beds(3, 10)], who="desk-a").status_code == 200
    kept = stack.put(A1, [beds(4)], who="desk-a")
    assert kept.status_code == 200, kept.text
    assert [(c["available"], c["maximum"]) for c in kept.json()["capacities"]] == [(4, 10)]
    # More free than the maximum kept: refused, naming the count, and nothing changes.
    before = stack.state()
    refused = problem(stack.put(A1, [beds(11)], who="desk-a"), 422, "validation-error")
    assert [(e["field"], e["code"]) for e in refused["errors"]] == [
        ("body.capacities.0.available", "available_above_maximum")
    ]
    assert stack.state() == before
    # An explicit null clears the maximum.
    cleared = stack.put(A1, [{"unit": "beds", "available": 11, "maximum": None}], who="desk-a")
    assert cleared.status_code == 200 and cleared.json()["capacities"][0]["maximum"] is None


def test_an_imported_count_from_the_future_is_refused_and_live_updates_go_on(stack):
    assert stack.put(A1, [beds(3, 10)], who="desk-a").status_code == 200
    # A local time labelled UTC: five hours ahead. Kept, it would win over every live update.
    ahead = datetime.now(UTC) + timedelta(hours=5)
    path = write_hsds(stack.folder / "future.json", {A1: (9, 10, ahead)})
    report = import_path(stack.engine, path, source="directory")
    assert [(p.field, p.action) for p in report.problems if "in the future" in p.reason] == [
        ("service.capacities[0].updated", "row skipped")
    ]
    shown = stack.get(f"/v1/services/{A1}/capacity", "desk-a").json()["capacities"]
    assert [(c["available"], c["origin"]) for c in shown] == [(3, "live")]
    assert stack.put(A1, [beds(2)], who="desk-a").status_code == 200
