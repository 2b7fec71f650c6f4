"""GET /v1/stats/handoffs on the real stack: counts by need, week and H3 cell, with groups
under k suppressed (k configurable), per-agency scope for supervisors."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import h3
import pytest

from service.auth.principal import Role
from service.settings import HandoffSettings
from tests.test_handoffs_support import (  # noqa: F401 - fixtures
    HANDOFF_ENV, auth, create, handoff_body, handoff_database_url, start_server, stop_server,
)

K = 3
DOWNTOWN = {"lat": 43.6534, "lon": -79.3839}  # Toronto City Hall
NEARBY = {"lat": 43.6700, "lon": -79.3900}  # a different r7 cell, the same r5 cell
FAR = {"lat": 46.4917, "lon": -80.9930}  # Sudbury


def _cell(point: dict, resolution: int = 7) -> str:
    return h3.latlng_to_cell(point["lat"], point["lon"], resolution)


def test_the_default_k_is_10():
    assert HandoffSettings().stats_min_count == 10


@pytest.fixture(scope="module")
def stats_server(handoff_database_url):
    server = start_server(handoff_database_url, env={**HANDOFF_ENV, "FIELDNAV_HANDOFF_STATS_MIN_COUNT": str(K)})
    with server.client() as http:
        for _ in range(K):  # a group that reaches k
            create(http, handoff_body(location=DOWNTOWN, needs=("shelter", "food")), agency="agency-s")
        for _ in range(K - 1):  # one that does not
            create(http, handoff_body(location=NEARBY, needs=("shelter",)), agency="agency-s")
        create(http, handoff_body(location=FAR, needs=("shelter",)), agency="agency-s")  # a lonely one
        for _ in range(K):  # another agency's
            create(http, handoff_body(location=FAR, needs=("legal",)), agency="agency-t")
        wrong = create(http, handoff_body(location=FAR, needs=("legal",)), agency="agency-t")
        http.post(f"/v1/handoffs/{wrong['id']}/transitions", json={"status": "entered-in-error"},
                  headers=auth(Role.FIELD_WORKER, "agency-t"))
    yield server
    stop_server(server)


def _stats(server, role=Role.ADMIN, token_agency="planning", **params) -> dict:
    with server.client() as http:
        response = http.get("/v1/stats/handoffs", params=params, headers=auth(role, token_agency, "planner"))
    assert response.status_code == 200, response.text
    return response.json()


def _groups(body: dict) -> dict[tuple, int]:
    return {(g["need"], g["cell"]): g["count"] for g in body["groups"]}


def test_groups_under_k_are_suppressed(stats_server):
    body = _stats(stats_server)
    week = datetime.now(ZoneInfo("America/Toronto")).date()
    monday = (week - timedelta(days=week.weekday())).isoformat()
    assert body["k"] == K and body["resolution"] == 7
    assert all(g["week"] == monday for g in body["groups"])
    assert _groups(body) == {("shelter", _cell(DOWNTOWN)): K, ("food", _cell(DOWNTOWN)): K, ("legal", _cell(FAR)): K}
    # NEARBY (K-1), FAR shelter (1): suppressed; the entered-in-error handoff is not counted (legal stays K).
    assert body["suppressed_groups"] == 2
    assert all(g["count"] >= K for g in body["groups"])


def test_coarser_cells_can_lift_a_group_over_k(stats_server):
    body = _stats(stats_server, resolution=5)
    assert _groups(body)[("shelter", _cell(DOWNTOWN, 5))] == 2 * K - 1  # DOWNTOWN and NEARBY together
    assert ("shelter", _cell(FAR, 5)) not in _groups(body)


def test_supervisors_see_their_agency_and_filters_apply(stats_server):
    mine = _stats(stats_server, Role.SUPERVISOR, "agency-t")
    assert _groups(mine) == {("legal", _cell(FAR)): K}
    assert _stats(stats_server, Role.SUPERVISOR, "agency-s", need="food")["groups"] == [
        {"need": "food", "week": mine["groups"][0]["week"], "cell": _cell(DOWNTOWN), "count": K}]
    assert _groups(_stats(stats_server, agency="agency-t")) == {("legal", _cell(FAR)): K}  # an admin picks one
    last_year = _stats(stats_server, since=(date.today() - timedelta(days=400)).isoformat(),
                       until=(date.today() - timedelta(days=300)).isoformat())
    assert last_year["groups"] == [] and last_year["suppressed_groups"] == 0
    with stats_server.client() as http:
        other = http.get("/v1/stats/handoffs", params={"agency": "agency-s"}, headers=auth(Role.SUPERVISOR, "agency-t"))
        assert other.status_code == 403
        for bad in ({"resolution": 9}, {"need": "bedrooms"}, {"since": "2026-05-01", "until": "2026-01-01"}):
            assert http.get("/v1/stats/handoffs", params=bad, headers=auth(Role.ADMIN)).status_code == 422
        for role in (Role.FIELD_WORKER, Role.NAVIGATOR):
            assert http.get("/v1/stats/handoffs", headers=auth(role)).status_code == 403


def test_k_is_configurable(handoff_database_url, stats_server):
    server = start_server(handoff_database_url, env={**HANDOFF_ENV, "FIELDNAV_HANDOFF_STATS_MIN_COUNT": "1"})
    try:
        body = _stats(server)
    finally:
        stop_server(server)
    assert body["k"] == 1 and body["suppressed_groups"] == 0
    assert _groups(body)[("shelter", _cell(NEARBY))] == K - 1 and _groups(body)[("shelter", _cell(FAR))] == 1
