"""Wrong data reported from the field (issue 16, part 2), on the real stack: `fieldnav serve` on
a PostGIS holding 1,500 demo services and the navigator centres, real HTTP, real tokens.

Creating (idempotent, one open report per person and kind, the hourly cap, every refusal
writes nothing), the warning every result carries until the centre resolves the report (and
the data version, sync delta and tile URLs that move with it), who sees which reports, the
CSV export, the audit of notes read, and the purge of old resolved reports.
"""

from __future__ import annotations

import csv
import io
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text

from service.auth.principal import Principal, Role
from service.reports.queries import CSV_COLUMNS, ReportFilter, csv_cell, export_csv
from tests.support.handoffs import DEFAULT_CENTRE, EAST_CENTRE, HANDOFF_ENV, fieldnav, load_test_centres
from tests.support.servers import start_server, stop_server
from tests.support.tokens import auth

PER_HOUR = 5
SERVER_ENV = {**HANDOFF_ENV, "FIELDNAV_REPORTS_PER_HOUR": str(PER_HOUR)}
PROBLEM = "application/problem+json"
TYPE = "tag:fieldnav.org,2026:problem/"


@pytest.fixture(scope="module")
def reports_url(demo_database_url, tmp_path_factory) -> str:
    load_test_centres(demo_database_url, tmp_path_factory.mktemp("centres"))
    return demo_database_url


@pytest.fixture(scope="module")
def engine(reports_url):
    engine = create_engine(reports_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def server(reports_url):
    server = start_server(reports_url, env=SERVER_ENV)
    yield server
    output = stop_server(server)
    assert "Traceback" not in output, output[-4000:]


@pytest.fixture
def http(server):
    with server.client() as client:
        yield client


class Services:
    """Public single-site services by the centre whose area holds them, handed out once each
    (a test's reports never meet another's), and one confidential service."""

    def __init__(self, engine):
        with engine.connect() as connection:
            rows = (
                connection.execute(
                    text("""
                SELECT s.service_id, ST_Y(s.geom) AS lat, ST_X(s.geom) AS lon, c.id AS centre_id
                FROM service_site s
                CROSS JOIN LATERAL (SELECT id FROM navigator_centre WHERE ST_Covers(area, s.geom)
                                    ORDER BY area_km2 LIMIT 1) c
                WHERE s.geom IS NOT NULL AND s.status = 'active'
                  AND (SELECT count(*) FROM service_site o WHERE o.service_id = s.service_id) = 1
                  AND NOT s.is_private
                ORDER BY s.service_id
            """)
                )
                .mappings()
                .all()
            )
            self.confidential = connection.execute(
                text("SELECT service_id FROM service_site WHERE is_private ORDER BY service_id LIMIT 1")
            ).scalar_one()
        self.free = {
            centre: [dict(r) for r in rows if r["centre_id"] == centre] for centre in (EAST_CENTRE, DEFAULT_CENTRE)
        }
        assert all(len(free) >= 10 for free in self.free.values()), {c: len(f) for c, f in self.free.items()}

    def take(self, centre: str = DEFAULT_CENTRE) -> dict:
        return self.free[centre].pop()


@pytest.fixture(scope="module")
def services(engine) -> Services:
    return Services(engine)


def _person() -> str:
    return f"worker-{uuid.uuid4().hex[:8]}"


def _report(
    http,
    service_id,
    body: dict | None = None,
    *,
    subject: str | None = None,
    role: Role = Role.FIELD_WORKER,
    agency: str = "agency-a",
    key: str | None = None,
):
    return http.post(
        f"/v1/services/{service_id}/reports",
        json=body or {"kind": "closed_today"},
        headers=auth(role, agency, subject or _person(), key),
    )


def _created(http, service_id, body: dict | None = None, **kwargs) -> dict:
    response = _report(http, service_id, body, **kwargs)
    assert response.status_code == 201, response.text
    return response.json()


def _rows(engine, service_id=None) -> int:
    with engine.connect() as connection:
        return connection.execute(
            text("SELECT count(*) FROM field_report WHERE CAST(:id AS uuid) IS NULL OR service_id = :id"),
            {"id": service_id},
        ).scalar_one()


def _data_version(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT version FROM data_version")).scalar_one()


def _eventually(check: Callable[[], object], timeout_s: float = 10) -> object:
    """``check()``'s first truthy answer: workers see a new data version within 1 s
    (FIELDNAV_DATA_VERSION_TTL_S), so a change shows shortly after its commit."""
    deadline_s = time.monotonic() + timeout_s
    while True:
        found = check()
        if found or time.monotonic() > deadline_s:
            return found
        time.sleep(0.1)


def _admin() -> dict:
    return auth(Role.ADMIN, "fieldnav-ops", "admin-1", key=False)


def _navigator(centre: str) -> dict:
    return auth(Role.NAVIGATOR, centre, f"nav-{centre}", key=False)


def _reader() -> dict:
    return auth(Role.FIELD_WORKER, "agency-a", "reader", key=False)


# --------------------------------------------------------------------------- creating


def test_a_report_is_created_once_per_idempotency_key(http, engine, services):
    site = services.take(EAST_CENTRE)
    key, person = str(uuid.uuid4()), _person()
    body = {
        "kind": "wrong_phone",
        "note": "  The number rings out.  ",
        "location": {"lat": site["lat"] + 0.001, "lon": site["lon"]},
    }
    first = _report(http, site["service_id"], body, subject=person, key=key)
    assert first.status_code == 201, first.text
    created = first.json()
    assert created["service_id"] == str(site["service_id"]) and created["kind"] == "wrong_phone"
    assert created["status"] == "open" and created["centre_id"] == EAST_CENTRE and created["location_kept"] is True
    assert first.headers["Location"] == created["links"]["self"] == f"/v1/admin/reports/{created['id']}"
    assert first.headers["Cache-Control"] == "no-store"
    assert datetime.fromisoformat(created["created_at"]).tzinfo is not None

    again = _report(http, site["service_id"], body, subject=person, key=key)
    assert again.status_code == 201 and again.json() == created
    assert again.headers["Idempotent-Replayed"] == "true" and again.headers["Location"] == created["links"]["self"]
    assert _rows(engine, site["service_id"]) == 1

    shown = http.get(created["links"]["self"], headers=_navigator(EAST_CENTRE)).json()
    assert shown["note"] == "The number rings out."  # stripped
    assert shown["location"] == {"lat": round(site["lat"] + 0.001, 5), "lon": round(site["lon"], 5)}
    assert shown["reporter"] == {"role": "field_worker", "agency": "agency-a"} and person not in str(shown)


def test_a_second_open_report_of_the_same_kind_names_the_first(http, engine, services):
    site, person = services.take(), _person()
    first = _created(http, site["service_id"], {"kind": "full"}, subject=person)
    again = _report(http, site["service_id"], {"kind": "full", "note": "still full"}, subject=person)
    assert again.status_code == 409 and again.headers["content-type"] == PROBLEM
    problem = again.json()
    assert problem["type"] == TYPE + "report-exists" and problem["report_id"] == first["id"]
    assert _rows(engine, site["service_id"]) == 1
    # Another kind, or another person, is another report.
    _created(http, site["service_id"], {"kind": "wrong_hours"}, subject=person)
    _created(http, site["service_id"], {"kind": "full"}, subject=_person())
    assert _rows(engine, site["service_id"]) == 3
    # In French too.
    french = http.post(
        f"/v1/services/{site['service_id']}/reports",
        json={"kind": "full"},
        headers={**auth(Role.FIELD_WORKER, "agency-a", person), "Accept-Language": "fr-CA"},
    )
    assert (
        french.status_code == 409
        and french.json()["title"] == "Déjà signalé"
        and first["id"] in french.json()["detail"]
    )


def test_more_reports_than_the_hourly_cap_are_refused_with_retry_after(http, engine, services):
    person, kinds = _person(), ["closed_today", "full", "wrong_phone", "wrong_hours", "moved", "other"]
    site = services.take()
    for kind in kinds[:PER_HOUR]:
        _created(http, site["service_id"], {"kind": kind}, subject=person)
    refused = _report(http, site["service_id"], {"kind": kinds[PER_HOUR]}, subject=person)
    assert refused.status_code == 429 and refused.headers["content-type"] == PROBLEM
    assert refused.json()["type"] == TYPE + "too-many-reports"
    assert 3500 <= int(refused.headers["Retry-After"]) <= 3600  # when the first of the hour leaves it
    assert _rows(engine, site["service_id"]) == PER_HOUR
    # Someone else is not held back.
    _created(http, site["service_id"], {"kind": kinds[PER_HOUR]})


BAD_BODIES = [
    ({"kind": "closed_for_good"}, "body.kind", "unknown_report_kind"),
    ({"kind": "other", "note": "x" * 501}, "body.note", "string_too_long"),
    ({"kind": "other", "location": {"lat": 91.0, "lon": -79.0}}, "body.location.lat", "less_than_equal"),
    ({"kind": "other", "location": {"lat": "43.6", "lon": -79.0}}, "body.location.lat", "float_type"),
    ({"kind": "other", "location": {"lat": 43.6}}, "body.location.lon", "missing"),
    ({"kind": "other", "phone": "+1 416 555 0199"}, "body.phone", "extra_forbidden"),
    ({"note": "no kind"}, "body.kind", "missing"),
]


@pytest.mark.parametrize("body, field, code", BAD_BODIES, ids=[b[2] for b in BAD_BODIES])
def test_a_bad_body_is_a_422_naming_the_field_and_writes_nothing(http, engine, services, body, field, code):
    before = _rows(engine)
    refused = _report(http, services.take()["service_id"], body)
    assert refused.status_code == 422 and refused.headers["content-type"] == PROBLEM
    assert {"field": field, "code": code} in [
        {"field": e["field"], "code": e["code"]} for e in refused.json()["errors"]
    ]
    assert _rows(engine) == before


def test_every_other_refusal_is_a_problem_and_writes_nothing(http, engine, services):
    service_id = services.take()["service_id"]
    before = _rows(engine)
    token_only = auth(Role.FIELD_WORKER, "agency-a", _person(), key=False)
    refusals = [
        (
            http.post(f"/v1/services/{uuid.uuid4()}/reports", json={"kind": "other"}, headers=auth(Role.FIELD_WORKER)),
            404,
            "not-found",
        ),
        (
            http.post("/v1/services/not-a-uuid/reports", json={"kind": "other"}, headers=auth(Role.FIELD_WORKER)),
            422,
            "validation-error",
        ),
        (
            http.post(f"/v1/services/{service_id}/reports", json={"kind": "other"}, headers=token_only),
            400,
            "idempotency-key-missing",
        ),
        (
            http.post(
                f"/v1/services/{service_id}/reports", json={"kind": "other"}, headers=auth(Role.PROVIDER, "shelter")
            ),
            403,
            "forbidden",
        ),
        (
            http.post(f"/v1/services/{service_id}/reports", json={"kind": "other"}, headers=auth(Role.ADMIN)),
            403,
            "forbidden",
        ),
        (
            http.post(
                f"/v1/services/{service_id}/reports",
                json={"kind": "other"},
                headers={"Idempotency-Key": str(uuid.uuid4())},
            ),
            401,
            "unauthorized",
        ),
        (
            http.post(
                f"/v1/services/{service_id}/reports",
                content=b"{not json",
                headers={**auth(Role.FIELD_WORKER), "Content-Type": "application/json"},
            ),
            422,
            "validation-error",
        ),
    ]
    for response, status, slug in refusals:
        assert (response.status_code, response.headers["content-type"]) == (status, PROBLEM), response.text
        assert response.json()["type"] == TYPE + slug
    assert _rows(engine) == before


def test_a_confidential_services_report_keeps_no_location(http, engine, services):
    created = _created(http, services.confidential, {"kind": "closed_today", "location": {"lat": 43.65, "lon": -79.38}})
    assert created["location_kept"] is False and created["centre_id"] is not None
    with engine.connect() as connection:
        stored = connection.execute(
            text("SELECT location FROM field_report WHERE id = :id"), {"id": created["id"]}
        ).scalar_one()
    assert stored is None
    assert http.get(created["links"]["self"], headers=_admin()).json()["location"] is None


# --------------------------------------------------------------------------- the warning in results


def _sync_to_end(http, cursor: str | None = None) -> tuple[str, list[dict]]:
    services = []
    while True:
        page = http.get("/v1/sync/services", params={"cursor": cursor} if cursor else {}, headers=_reader()).json()
        services += page["services"]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return cursor, services


def _shown(http, site: dict, kind: str) -> dict:
    """The open_reports of ``kind`` the service's card carries in nearest and in search (None where absent)."""

    def entry(results) -> dict | None:
        [card] = [r for r in results if r["service_id"] == str(site["service_id"])]
        return next((e for e in card["open_reports"] if e["kind"] == kind), None)

    near = http.get(
        "/v1/services/nearest", params={"lat": site["lat"], "lon": site["lon"], "limit": 50}, headers=_reader()
    )
    search = http.get(
        "/v1/services", params={"near": f"{site['lat']},{site['lon']}", "per_page": 100}, headers=_reader()
    )
    return {"nearest": entry(near.json()["results"]), "search": entry(search.json()["contents"])}


def _tile_version(http) -> int:
    template = http.get("/v1/tiles.json", headers=_reader()).json()["tiles"][0]
    return int(template.split("v=")[1].split("&")[0])


def test_an_open_report_warns_every_result_until_it_is_resolved(http, engine, services):
    site = services.take()
    assert _shown(http, site, "closed_today") == {"nearest": None, "search": None}
    cursor, _ = _sync_to_end(http)
    version, tiles_version = _data_version(engine), _tile_version(http)

    created = _created(
        http, site["service_id"], {"kind": "closed_today", "note": "Door locked, sign says closed tonight."}
    )
    assert _data_version(engine) > version
    shown = _eventually(lambda: all(_shown(http, site, "closed_today").values()) and _shown(http, site, "closed_today"))
    assert (
        shown["nearest"]
        == shown["search"]
        == {"kind": "closed_today", "reported_at": shown["nearest"]["reported_at"], "count": 1}
    )
    assert datetime.fromisoformat(shown["nearest"]["reported_at"]) == datetime.fromisoformat(created["created_at"])
    assert "Door locked" not in str(shown)  # the note stays on the desk
    cursor, delta = _sync_to_end(http, cursor)
    [synced] = [s for s in delta if s["id"] == str(site["service_id"])]
    assert [e["kind"] for e in synced["sites"][0]["open_reports"]] == ["closed_today"]
    assert _eventually(lambda: _tile_version(http) > tiles_version)

    version = _data_version(engine)
    resolved = http.post(
        f"/v1/admin/reports/{created['id']}/resolve",
        json={"resolution_note": "Called: open again tomorrow."},
        headers=_navigator(DEFAULT_CENTRE),
    )
    assert resolved.status_code == 200, resolved.text
    answer = resolved.json()
    assert answer["status"] == "resolved" and answer["resolution_note"] == "Called: open again tomorrow."
    assert answer["resolved_by"] == {"role": "navigator", "agency": DEFAULT_CENTRE} and answer["resolved_at"]
    assert resolved.headers["Cache-Control"] == "no-store"
    assert _data_version(engine) > version
    assert _eventually(lambda: _shown(http, site, "closed_today") == {"nearest": None, "search": None})
    _, delta = _sync_to_end(http, cursor)
    [synced] = [s for s in delta if s["id"] == str(site["service_id"])]
    assert synced["sites"][0]["open_reports"] == []

    again = http.post(f"/v1/admin/reports/{created['id']}/resolve", json={"resolution_note": "twice"}, headers=_admin())
    assert again.status_code == 409 and again.json()["type"] == TYPE + "report-resolved"
    assert again.json()["resolved_at"] == answer["resolved_at"]
    # Resolved, the same person may report the same thing again.
    _created(http, site["service_id"], {"kind": "closed_today"})


def test_resolving_needs_a_note_and_the_desk_role(http, services):
    created = _created(http, services.take()["service_id"], {"kind": "moved"})
    url = f"/v1/admin/reports/{created['id']}/resolve"
    for body, code in (
        ({}, "missing"),
        ({"resolution_note": "   "}, "string_too_short"),
        ({"resolution_note": "x" * 1001}, "string_too_long"),
    ):
        refused = http.post(url, json=body, headers=_admin())
        assert refused.status_code == 422 and refused.json()["errors"][0]["code"] == code
    assert http.post(url, json={"resolution_note": "ok"}, headers=auth(Role.FIELD_WORKER, key=False)).status_code == 403
    assert http.post(url, json={"resolution_note": "ok"}, headers=_navigator(EAST_CENTRE)).status_code == 404
    assert (
        http.post(
            f"/v1/admin/reports/{uuid.uuid4()}/resolve", json={"resolution_note": "ok"}, headers=_admin()
        ).status_code
        == 404
    )
    assert http.get(f"/v1/admin/reports/{created['id']}", headers=_admin()).json()["status"] == "open"


# --------------------------------------------------------------------------- the desk


def _listed(http, headers: dict, **params) -> dict:
    response = http.get("/v1/admin/reports", params=params, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    return response.json()


def test_navigators_see_their_centres_reports_and_admins_all(http, services):
    east, toronto = services.take(EAST_CENTRE), services.take()
    in_east = _created(http, east["service_id"], {"kind": "wrong_address", "note": "east note"})
    in_toronto = _created(http, toronto["service_id"], {"kind": "wrong_address", "note": "toronto note"})
    assert (in_east["centre_id"], in_toronto["centre_id"]) == (EAST_CENTRE, DEFAULT_CENTRE)

    def ids(page: dict) -> set[str]:
        return {item["id"] for item in page["contents"]}

    east_desk = _listed(http, _navigator(EAST_CENTRE), kind="wrong_address", per_page=100)
    assert in_east["id"] in ids(east_desk) and in_toronto["id"] not in ids(east_desk)
    assert {item["centre_id"] for item in east_desk["contents"]} == {EAST_CENTRE}
    # A navigator cannot widen their view with centre=.
    assert _listed(http, _navigator(EAST_CENTRE), centre=DEFAULT_CENTRE)["total_items"] == 0
    assert http.get(f"/v1/admin/reports/{in_toronto['id']}", headers=_navigator(EAST_CENTRE)).status_code == 404
    assert http.get(f"/v1/admin/reports/{in_east['id']}", headers=_navigator(EAST_CENTRE)).status_code == 200

    everything = _listed(http, _admin(), kind="wrong_address", per_page=100)
    assert {in_east["id"], in_toronto["id"]} <= ids(everything)
    assert ids(_listed(http, _admin(), centre=EAST_CENTRE, kind="wrong_address")) == ids(east_desk)
    item = next(i for i in everything["contents"] if i["id"] == in_toronto["id"])
    assert item["service_name"] and item["note"] == "toronto note" and item["status"] == "open"
    assert item["links"] == {
        "self": f"/v1/admin/reports/{in_toronto['id']}",
        "service": f"/v1/services/{toronto['service_id']}",
    }
    for role in (Role.FIELD_WORKER, Role.SUPERVISOR, Role.PROVIDER):
        assert http.get("/v1/admin/reports", headers=auth(role, key=False)).status_code == 403


def test_the_list_filters_and_pages(http, services):
    site, person = services.take(), _person()
    made = [_created(http, site["service_id"], {"kind": kind}, subject=person) for kind in ("full", "moved", "other")]
    one_service = {"service_id": str(site["service_id"]), "status": "all"}
    page = _listed(http, _admin(), **one_service, per_page=2)
    assert (page["total_items"], page["total_pages"], page["size"], page["first_page"], page["last_page"]) == (
        3,
        2,
        2,
        True,
        False,
    )
    assert [i["id"] for i in page["contents"]] == [made[2]["id"], made[1]["id"]]  # newest first
    last = _listed(http, _admin(), **one_service, per_page=2, page=2)
    assert [i["id"] for i in last["contents"]] == [made[0]["id"]] and last["last_page"]
    beyond = _listed(http, _admin(), **one_service, per_page=2, page=3)
    assert beyond["empty"] and beyond["total_items"] == 3

    kinds = _listed(http, _admin(), service_id=str(site["service_id"]), kind=["full", "other"])
    assert {i["kind"] for i in kinds["contents"]} == {"full", "other"}
    http.post(f"/v1/admin/reports/{made[0]['id']}/resolve", json={"resolution_note": "done"}, headers=_admin())
    assert [
        i["id"] for i in _listed(http, _admin(), service_id=str(site["service_id"]), status="resolved")["contents"]
    ] == [made[0]["id"]]
    assert _listed(http, _admin(), service_id=str(site["service_id"]))["total_items"] == 2  # open by default
    created_at = datetime.fromisoformat(made[1]["created_at"])
    window = _listed(
        http,
        _admin(),
        **one_service,
        since=created_at.isoformat(),
        until=(created_at + timedelta(microseconds=1)).isoformat(),
    )
    assert [i["id"] for i in window["contents"]] == [made[1]["id"]]

    for params, code in (
        ({"kind": "closed"}, "unknown_report_kind"),
        ({"since": "2026-12-01T00:00:00"}, "timezone_aware"),
        ({"status": "pending"}, "string_pattern_mismatch"),
        ({"per_page": 101}, "less_than_equal"),
    ):
        refused = http.get("/v1/admin/reports", params=params, headers=_admin())
        assert refused.status_code == 422 and refused.json()["errors"][0]["code"] == code, refused.text


def test_reading_notes_is_audited(http, services):
    site, started = services.take(EAST_CENTRE), datetime.now(UTC) - timedelta(seconds=5)
    with_note = _created(http, site["service_id"], {"kind": "wrong_hours", "note": "Hours on the door differ."})
    without = _created(http, site["service_id"], {"kind": "full"})
    navigator = _navigator(EAST_CENTRE)
    _listed(http, navigator, service_id=str(site["service_id"]))
    http.get(f"/v1/admin/reports/{without['id']}", headers=navigator)
    entries = http.get("/v1/audit", params={"since": started.isoformat(), "limit": 1000}, headers=_admin()).json()[
        "entries"
    ]
    mine = [e for e in entries if e["action"] == "report-read" and with_note["id"] in e["detail"]["report_ids"]]
    assert len(mine) == 1 and mine[0]["actor_subject"] == f"nav-{EAST_CENTRE}" and mine[0]["fields"] == ["report_note"]
    assert not any(without["id"] in (e["detail"] or {}).get("report_ids", []) for e in entries)


# --------------------------------------------------------------------------- CSV


FORMULAS = ['=HYPERLINK("http://x")', "+1 613 555 0100 rings out", "-2 beds", "@SUM(A1)"]


def test_the_csv_export_has_every_report_and_defuses_formulas(http, engine, services):
    site = services.take(EAST_CENTRE)
    made = [
        _created(
            http,
            site["service_id"],
            {"kind": "other", "note": note, "location": {"lat": site["lat"], "lon": site["lon"]}},
        )
        for note in FORMULAS
    ]
    response = http.get(
        "/v1/admin/reports.csv", params={"service_id": str(site["service_id"])}, headers=_navigator(EAST_CENTRE)
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-store"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="fieldnav-reports-20') and disposition.endswith('.csv"')
    header, *rows = list(csv.reader(io.StringIO(response.text)))
    assert tuple(header) == CSV_COLUMNS
    by_id = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    assert list(by_id) == [m["id"] for m in reversed(made)]  # newest first
    for report, note in zip(made, FORMULAS, strict=True):
        row = by_id[report["id"]]
        assert row["note"] == "'" + note and row["kind"] == "other" and row["status"] == "open"
        assert row["lat"] == f"{site['lat']:.5f}" and row["lon"] == f"{site['lon']:.5f}"  # numbers, not defused
        assert row["reporter_role"] == "field_worker" and row["centre_id"] == EAST_CENTRE
    # Another centre's navigator exports none of them; an admin exports them by filter too.
    other = http.get(
        "/v1/admin/reports.csv", params={"service_id": str(site["service_id"])}, headers=_navigator(DEFAULT_CENTRE)
    )
    assert other.status_code == 200 and list(csv.reader(io.StringIO(other.text))) == [list(CSV_COLUMNS)]
    admin = http.get(
        "/v1/admin/reports.csv", params={"service_id": str(site["service_id"]), "kind": "other"}, headers=_admin()
    )
    assert len(list(csv.reader(io.StringIO(admin.text)))) == 1 + len(FORMULAS)
    assert http.get("/v1/admin/reports.csv", headers=auth(Role.FIELD_WORKER, key=False)).status_code == 403
    # Batches of 3 (keyset, one transaction each) give the same file as one batch.
    desk = Principal(f"nav-{EAST_CENTRE}", EAST_CENTRE, Role.NAVIGATOR, "token-id", "fieldnav")
    chunks = list(export_csv(engine, desk, ReportFilter(service_id=site["service_id"]), batch_size=3))
    assert len(chunks) == 3 and "".join(chunks) == response.text
    audited = http.get("/v1/audit", params={"limit": 1000}, headers=_admin()).json()["entries"]
    assert any(
        e["action"] == "report-export" and set(e["detail"]["report_ids"]) == {m["id"] for m in made} for e in audited
    )


@pytest.mark.parametrize(
    "value, cell",
    [
        ("=1+2", "'=1+2"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@A1", "'@A1"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("plain", "plain"),
        ("a=b", "a=b"),
        (None, ""),
        ("", ""),
    ],
)
def test_csv_cells_that_a_spreadsheet_would_run_get_an_apostrophe(value, cell):
    assert csv_cell(value) == cell


# --------------------------------------------------------------------------- purge


def test_purge_deletes_old_resolved_reports_only(http, engine, reports_url, services):
    site = services.take()
    old_resolved, new_resolved, old_open = (
        _created(http, site["service_id"], {"kind": kind}) for kind in ("full", "moved", "other")
    )
    for report in (old_resolved, new_resolved):
        assert (
            http.post(
                f"/v1/admin/reports/{report['id']}/resolve", json={"resolution_note": "ok"}, headers=_admin()
            ).status_code
            == 200
        )
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE field_report SET created_at = now() - interval '400 days', "
                "resolved_at = CASE WHEN status = 'resolved' THEN now() - interval '366 days' END "
                "WHERE id = ANY(:ids)"
            ),
            {"ids": [old_resolved["id"], old_open["id"]]},
        )
    dry = fieldnav(reports_url, "purge", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would delete 1 field reports resolved more than 365 days ago" in dry.stdout
    assert _rows(engine, site["service_id"]) == 3
    purged = fieldnav(reports_url, "purge")
    assert purged.returncode == 0 and "deleted 1 field reports resolved more than 365 days ago" in purged.stdout, (
        purged.stderr
    )
    with engine.connect() as connection:
        left = set(
            connection.execute(
                text("SELECT id::text FROM field_report WHERE service_id = :id"), {"id": site["service_id"]}
            ).scalars()
        )
    assert left == {new_resolved["id"], old_open["id"]}
