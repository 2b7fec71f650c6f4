"""Delta sync: a client replaying snapshot pages and deltas ends with what a fresh snapshot
holds; expired and foreign cursors get 410; pruning keeps what current cursors need."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from service.importer import import_path
from service.maps.sync import prune_change_log
from tests.support.servers import start_server, stop_server

PAGE_SIZE = 7
ORIGIN = (43.6532, -79.3832)


def _service(
    name: str,
    *,
    index: int,
    locations: int = 1,
    private: bool = False,
    description: str = "",
    status: str = "active",
    source: str = "sync",
) -> dict:
    """A small HSDS 3 service (a shelter) with ``locations`` sites near downtown Toronto."""
    service_id = str(uuid.uuid5(uuid.NAMESPACE_URL, "sync/" + name))
    sites = []
    for n in range(locations):
        key = f"sync/{name}/{n}"
        location = {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, key + "/loc")),
            "location_type": "physical",
            "name": f"{name} site {n}",
            "latitude": ORIGIN[0] + index / 1000,
            "longitude": ORIGIN[1] + n / 1000,
        }
        if private:
            location["address_private"] = True
        sites.append({"id": str(uuid.uuid5(uuid.NAMESPACE_URL, key + "/sal")), "location": location})
    return {
        "id": service_id,
        "name": name,
        "status": status,
        "description": description,
        "attributes": [
            {
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, name + "/a")),
                "taxonomy_term": {
                    "id": str(uuid.uuid5(uuid.NAMESPACE_URL, source + "/BH-1800.8500")),
                    "code": "BH-1800.8500",
                    "name": "Shelter",
                    "description": "x",
                },
            }
        ],
        "service_at_locations": sites,
    }


def _import(engine, tmp_path: Path, services: list[dict], source: str = "sync") -> None:
    path = tmp_path / f"{source}-{uuid.uuid4().hex}.json"
    path.write_text(json.dumps(services))
    import_path(engine, path, source=source)


def _first_import() -> list[dict]:
    services = [_service(f"Shelter {i:02d}", index=i) for i in range(18)]
    services.append(_service("Two Site Drop-in", index=30, locations=2))
    services.append(_service("Confidential Refuge", index=31, private=True))
    return services


class Client:
    """What the app does: apply pages to a local store keyed by service id."""

    def __init__(self, http):
        self.http, self.store, self.cursor = http, {}, None
        self.pages: list[dict] = []

    def pull(self) -> None:
        while True:
            params = {"cursor": self.cursor} if self.cursor else {}
            response = self.http.get("/v1/sync/services", params=params)
            assert response.status_code == 200, response.text
            page = response.json()
            self.pages.append(page)
            assert len(page["services"]) + len(page["tombstones"]) <= PAGE_SIZE
            for service in page["services"]:
                assert service["op"] == "upsert" and service["sites"]
                self.store[service["id"]] = service["sites"]
            for tombstone in page["tombstones"]:
                self.store.pop(tombstone["id"], None)
            self.cursor = page["next_cursor"]
            if not page["has_more"]:
                return


def _fresh(http) -> dict:
    client = Client(http)
    client.pull()
    return client.store


@pytest.fixture
def sync_setup(database_url, tmp_path):
    engine = create_engine(database_url)
    _import(engine, tmp_path, _first_import())
    server = start_server(database_url, env={"FIELDNAV_SYNC_PAGE_SIZE": str(PAGE_SIZE)})
    yield engine, server
    stop_server(server)
    engine.dispose()


def test_replaying_deltas_equals_a_fresh_snapshot(sync_setup, tmp_path):
    engine, server = sync_setup
    with server.client() as http:
        phone = Client(http)
        phone.pull()
        assert [p["mode"] for p in phone.pages] == ["snapshot"] * 3  # 20 services, 7 a page
        assert [len(p["services"]) for p in phone.pages] == [7, 7, 6]
        assert len(phone.store) == 20
        assert len(phone.store[str(uuid.uuid5(uuid.NAMESPACE_URL, "sync/Two Site Drop-in"))]) == 2
        refuge = phone.store[str(uuid.uuid5(uuid.NAMESPACE_URL, "sync/Confidential Refuge"))][0]
        assert refuge["confidential"] and refuge["lat"] is None and refuge["label"] == "call to connect"
        # Sites carry what /v1/services/nearest shows, minus the distance and the hours of the
        # moment, plus the hours rule (weekly or dated) so the app can tell "open now" offline.
        nearest = http.get("/v1/services/nearest", params={"lat": ORIGIN[0], "lon": ORIGIN[1]}).json()["results"][0]
        assert set(refuge) == set(nearest) - {
            "distance_m",
            "distance_is_approximate",
            "bearing_deg",
            "hours",
            "serves_location",
        } | {
            "week_intervals",
            "open_ranges",
            "serves_area",  # the phone answers serves_location from it
        }
        assert refuge["week_intervals"] is None or all(0 <= a < b <= 10080 for a, b in refuge["week_intervals"])

        # Nothing changed: an empty delta, the same cursor, and 304 for the same answer.
        before = phone.cursor
        response = http.get("/v1/sync/services", params={"cursor": before})
        assert response.json()["mode"] == "delta" and response.json()["services"] == response.json()["tombstones"] == []
        assert response.json()["next_cursor"] == before and response.headers["cache-control"] == "private, no-cache"
        again = http.get(
            "/v1/sync/services", params={"cursor": before}, headers={"If-None-Match": response.headers["etag"]}
        )
        assert again.status_code == 304

        # A full re-import: 9 services renamed... no, re-described, one added, one left out (a
        # tombstone), the two-site service down to one site; plus another source.
        services = _first_import()
        for service in services[:9]:
            service["description"] = "Now with lockers."
        removed = services.pop(12)
        services[-2] = _service("Two Site Drop-in", index=30, locations=1)
        services.append(_service("New Warming Centre", index=40))
        _import(engine, tmp_path, services)
        _import(engine, tmp_path, [_service("Other Source Hostel", index=50, source="other")], source="other")

        phone.pages.clear()
        phone.pull()
        deltas = phone.pages
        assert all(p["mode"] == "delta" for p in deltas) and len(deltas) == 2  # 13 changed services, 7 a page
        assert {t["id"] for p in deltas for t in p["tombstones"]} == {removed["id"]}
        assert deltas[-1]["data_version"] == http.get("/").json()["data_version"]
        assert phone.store == _fresh(http)
        assert removed["id"] not in phone.store and len(phone.store) == 21

        # Deleting a whole source tombstones all of it; making a service inactive removes it too.
        services[0]["status"] = "inactive"
        _import(engine, tmp_path, services)
        _import(engine, tmp_path, [], source="other")
        phone.pull()
        assert phone.store == _fresh(http) and len(phone.store) == 19


def _cursor(seq: int, position: str | None = None) -> str:
    return base64.urlsafe_b64encode(json.dumps({"s": seq, "p": position}).encode()).rstrip(b"=").decode()


def _age_log(engine, days: int) -> None:
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE change_log SET changed_at = changed_at - make_interval(days => :d)"), {"d": days}
        )


def test_a_cursor_older_than_the_log_is_gone(sync_setup, tmp_path):
    engine, server = sync_setup
    with server.client() as http:
        stale = Client(http)
        stale.pull()  # up to date with the first import
        _import(engine, tmp_path, [_service("Second Wave", index=60), *_first_import()])
        current = Client(http)
        current.cursor, current.store = stale.cursor, dict(stale.store)
        current.pull()  # up to date with the second import
        _age_log(engine, 40)
        _import(engine, tmp_path, [_service("Third Wave", index=61), *_first_import()])
        with engine.begin() as connection:
            pruned = prune_change_log(connection, datetime.now(UTC), retention_days=30)
        assert pruned == 21  # both old imports; the third's row is recent

        gone = http.get("/v1/sync/services", params={"cursor": stale.cursor})
        assert gone.status_code == 410 and gone.headers["content-type"] == "application/problem+json"
        problem = gone.json()
        assert problem["type"].endswith("/cursor-expired") and "offline pack" in problem["detail"]
        assert "without a cursor" in problem["detail"]

        # The client that saw every pruned change still syncs.
        current.pull()
        assert current.store == _fresh(http)

        # A cursor from another database (beyond the log) is gone too.
        assert http.get("/v1/sync/services", params={"cursor": _cursor(10_000)}).status_code == 410


def test_pruning_never_removes_the_newest_change(sync_setup):
    engine, server = sync_setup
    with server.client() as http:
        phone = Client(http)
        phone.pull()
        _age_log(engine, 100)
        with engine.begin() as connection:
            assert prune_change_log(connection, datetime.now(UTC), retention_days=1) == 19
            assert connection.execute(text("SELECT count(*) FROM change_log")).scalar_one() == 1
        response = http.get("/v1/sync/services", params={"cursor": phone.cursor})
        assert response.status_code == 200 and response.json()["services"] == []


@pytest.mark.parametrize("cursor", ["not base64!", "e30", _cursor(-1), "eyJzIjogMX0", _cursor(1, "no-uuid"), "x" * 201])
def test_malformed_cursors_are_problems(sync_setup, cursor):
    _, server = sync_setup
    with server.client() as http:
        response = http.get("/v1/sync/services", params={"cursor": cursor})
    assert response.status_code in (400, 422) and response.headers["content-type"] == "application/problem+json"


def test_sync_prune_command(sync_setup):
    engine, _ = sync_setup
    _age_log(engine, 100)
    result = subprocess.run(
        [sys.executable, "-m", "service.maps.cli", "sync", "prune", "--retention-days", "10"],
        env={**os.environ, "FIELDNAV_DATABASE_URL": engine.url.render_as_string(hide_password=False)},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert result.returncode == 0, result.stderr
    assert "pruned 19 change-log entries" in result.stdout
