"""GET /v1/stats/handoffs on the real stack: counts by need, week and H3 r7 cell, with groups
under k suppressed (k configurable), per-agency scope for supervisors, and no way to recover a
suppressed count by subtracting one answer from another (issue 15: coarser cells, weeks, needs,
agencies, time).

Only finished weeks are counted, so the handoffs made here are moved back a few weeks (their
creation and their history, as if made then)."""

from __future__ import annotations

import itertools
import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import h3
import pytest
from sqlalchemy import create_engine, text

from service.auth.principal import Role
from service.platform.settings import HandoffSettings
from tests.support.handoffs import HANDOFF_ENV, create, handoff_body, load_test_centres
from tests.support.servers import start_server, stop_server
from tests.support.tokens import auth

K = 3
DOWNTOWN = {"lat": 43.6534, "lon": -79.3839}  # Toronto City Hall
NEARBY = {"lat": 43.6700, "lon": -79.3900}  # a different r7 cell, the same r5 cell
FAR = {"lat": 46.4917, "lon": -80.9930}  # Sudbury
TZ = ZoneInfo("America/Toronto")


def _cell(point: dict, resolution: int = 7) -> str:
    return h3.latlng_to_cell(point["lat"], point["lon"], resolution)


def _monday(weeks_ago: int) -> date:
    today = datetime.now(TZ).date()
    return today - timedelta(days=today.weekday(), weeks=weeks_ago)


def _move_back(database_url: str, ids: list[str], weeks: int) -> None:
    """As if these handoffs, and everything that happened to them so far, were `weeks` earlier."""
    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:
            # The history is append-only (a trigger refuses changes): the test's superuser steps past it.
            connection.execute(text("SET LOCAL session_replication_role = replica"))
            shift = {"ids": [uuid.UUID(i) for i in ids], "days": 7 * weeks}
            connection.execute(
                text("""
                UPDATE handoff SET created_at = created_at - make_interval(days => :days),
                                   updated_at = updated_at - make_interval(days => :days),
                                   created_week = created_week - :days
                WHERE id = ANY(:ids)"""),
                shift,
            )
            connection.execute(
                text("UPDATE handoff_event SET at = at - make_interval(days => :days) WHERE handoff_id = ANY(:ids)"),
                shift,
            )
    finally:
        engine.dispose()


def test_the_default_k_is_10():
    assert HandoffSettings().stats_min_count == 10


@pytest.fixture(scope="module")
def stats_server(handoff_database_url):
    server = start_server(handoff_database_url, env={**HANDOFF_ENV, "FIELDNAV_HANDOFF_STATS_MIN_COUNT": str(K)})
    made = []
    with server.client() as http:
        for _ in range(K):  # a group that reaches k
            made.append(create(http, handoff_body(location=DOWNTOWN, needs=("shelter", "food")), agency="agency-s"))
        for _ in range(K - 1):  # one that does not
            made.append(create(http, handoff_body(location=NEARBY, needs=("shelter",)), agency="agency-s"))
        made.append(create(http, handoff_body(location=FAR, needs=("shelter",)), agency="agency-s"))  # a lonely one
        for _ in range(K):  # another agency's
            made.append(create(http, handoff_body(location=FAR, needs=("legal",)), agency="agency-t"))
        wrong = create(http, handoff_body(location=FAR, needs=("legal",)), agency="agency-t")
        made.append(wrong)
        response = http.post(
            f"/v1/handoffs/{wrong['id']}/transitions",
            json={"status": "entered-in-error"},
            headers=auth(Role.FIELD_WORKER, "agency-t"),
        )
        assert response.status_code == 200, response.text
    _move_back(handoff_database_url, [h["id"] for h in made], weeks=2)
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
    assert body["k"] == K and body["resolution"] == 7
    assert all(g["week"] == _monday(2).isoformat() for g in body["groups"])
    assert _groups(body) == {("shelter", _cell(DOWNTOWN)): K, ("food", _cell(DOWNTOWN)): K, ("legal", _cell(FAR)): K}
    # NEARBY (K-1), FAR shelter (1): suppressed; the entered-in-error handoff is not counted (legal stays K).
    assert body["suppressed_groups"] == 2
    assert all(g["count"] >= K for g in body["groups"])


def test_one_resolution_only(stats_server):
    assert _stats(stats_server, resolution=7)["resolution"] == 7
    with stats_server.client() as http:
        for resolution in (4, 5, 6, 8):
            response = http.get("/v1/stats/handoffs", params={"resolution": resolution}, headers=auth(Role.ADMIN))
            assert response.status_code == 422, response.text
            assert response.json()["errors"][0]["field"] == "query.resolution"


def test_supervisors_see_their_agency_and_filters_apply(stats_server):
    mine = _stats(stats_server, Role.SUPERVISOR, "agency-t")
    assert _groups(mine) == {("legal", _cell(FAR)): K}
    assert _stats(stats_server, Role.SUPERVISOR, "agency-s", need="food")["groups"] == [
        {"need": "food", "week": mine["groups"][0]["week"], "cell": _cell(DOWNTOWN), "count": K}
    ]
    assert _groups(_stats(stats_server, agency="agency-t")) == {("legal", _cell(FAR)): K}  # an admin picks one
    last_year = _stats(
        stats_server,
        since=(date.today() - timedelta(days=400)).isoformat(),
        until=(date.today() - timedelta(days=300)).isoformat(),
    )
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


# --- the differencing attacks of issue 15, with the default k --------------------------------------

PROBE_K = 10
X, Y = _cell(DOWNTOWN), _cell(NEARBY)  # siblings under one r5 cell


@pytest.fixture(scope="module")
def probe(pg_server, template_db, tmp_path_factory):
    """12 handoffs in one r7 cell and 1 in a sibling (the probe), and the same shape across
    weeks, needs and agencies, two and three weeks ago. Yields (server, database url, ids)."""
    name = f"fieldnav_stats_{uuid.uuid4().hex[:12]}"
    url = pg_server.create_database(name, template=template_db)
    load_test_centres(url, tmp_path_factory.mktemp("centres"))
    server = start_server(url, env={**HANDOFF_ENV, "FIELDNAV_HANDOFF_STATS_MIN_COUNT": str(PROBE_K)})
    two_weeks, three_weeks, shelter_x = [], [], []
    with server.client() as http:

        def make(point, needs, agency="agency-s", into=two_weeks):
            made = create(http, handoff_body(location=point, needs=needs), agency=agency)
            into.append(made["id"])
            return made["id"]

        for _ in range(12):
            shelter_x.append(make(DOWNTOWN, ("shelter",)))  # the probe: 12 in X ...
        make(NEARBY, ("shelter",))  # ... and 1 in its sibling Y
        for _ in range(12):
            make(DOWNTOWN, ("food",), into=three_weeks)  # across weeks: 12 three weeks ago ...
        make(DOWNTOWN, ("food",))  # ... and 1 two weeks ago, same cell
        for _ in range(12):
            make(DOWNTOWN, ("legal",))  # across needs: 12 with one need ...
        make(DOWNTOWN, ("legal", "mental_health"))  # ... and 1 with it and another
        for _ in range(12):
            make(DOWNTOWN, ("youth",))  # across agencies: 12 of agency-s ...
        make(DOWNTOWN, ("youth",), agency="agency-t")  # ... and 1 of agency-t
    _move_back(url, two_weeks, weeks=2)
    _move_back(url, three_weeks, weeks=3)
    yield server, url, shelter_x
    stop_server(server)
    pg_server.drop_database(name)


def _every_answer(server) -> list[tuple[str, dict, dict]]:
    """(scope, params, body) for every combination of parameters an attacker could try."""
    two, three = _monday(2), _monday(3)
    ranges = [
        {},
        {"since": two.isoformat(), "until": two.isoformat()},
        {"since": (two + timedelta(days=2)).isoformat(), "until": (two + timedelta(days=3)).isoformat()},
        {"since": three.isoformat(), "until": (two + timedelta(days=6)).isoformat()},
        {"since": three.isoformat(), "until": date.today().isoformat()},
        {"since": three.isoformat(), "until": (date.today() + timedelta(days=30)).isoformat()},
    ]
    needs = [None, "shelter", "food", "legal", "mental_health", "youth", "legal,mental_health", "shelter,food"]
    viewers = [
        (Role.ADMIN, "planning", None),
        (Role.ADMIN, "planning", "agency-s"),
        (Role.ADMIN, "planning", "agency-t"),
        (Role.SUPERVISOR, "agency-s", None),
        (Role.SUPERVISOR, "agency-t", None),
    ]
    answers = []
    with server.client() as http:
        for (role, token_agency, agency), period, need in itertools.product(viewers, ranges, needs):
            params = {**period, **({"need": need} if need else {}), **({"agency": agency} if agency else {})}
            for resolution in (None, 4, 5, 6) if need is None else (None,):
                query = {**params, **({"resolution": resolution} if resolution else {})}
                response = http.get("/v1/stats/handoffs", params=query, headers=auth(role, token_agency, "planner"))
                if resolution is None:
                    assert response.status_code == 200, response.text
                    scope = agency or (token_agency if role is Role.SUPERVISOR else "all")
                    answers.append((scope, query, response.json()))
                else:  # a coarser resolution would be a margin of r7: refused
                    assert response.status_code == 422, response.text
    return answers


def _shown(answers) -> dict[tuple, set[int]]:
    """{(scope, need, week, cell): every count any answer gave for it}."""
    shown: dict[tuple, set[int]] = {}
    for scope, _, body in answers:
        assert body["resolution"] == 7
        for g in body["groups"]:
            assert g["count"] >= PROBE_K
            assert g["cell"] is None or h3.get_resolution(g["cell"]) == 7
            shown.setdefault((scope, g["need"], g["week"], g["cell"]), set()).add(g["count"])
    return shown


def test_no_answer_gives_a_suppressed_count_away(probe):
    server, _, _ = probe
    answers = _every_answer(server)
    shown = _shown(answers)
    two, three = _monday(2).isoformat(), _monday(3).isoformat()
    # A group says the same whatever the parameters.
    assert all(len(counts) == 1 for counts in shown.values()), shown
    counts = {key: next(iter(values)) for key, values in shown.items()}
    # The probe: 12 in X, and nothing about Y, at any resolution, in any answer.
    assert counts[("all", "shelter", two, X)] == 12 and counts[("agency-s", "shelter", two, X)] == 12
    assert not any(cell == Y for (_, _, _, cell) in counts)
    # Across weeks: the 12 three weeks ago, not the 1 two weeks ago, and nothing over both weeks.
    assert counts[("all", "food", three, X)] == 12
    assert not any(need == "food" and week == two for (_, need, week, _) in counts)
    # Across needs: the 13 with legal, never the 1 that also had mental_health.
    assert counts[("all", "legal", two, X)] == 13
    assert not any(need == "mental_health" for (_, need, _, _) in counts)
    # Across agencies: agency-s's 12 are shown to it; the total (13) would give agency-t's 1 away.
    assert counts[("agency-s", "youth", two, X)] == 12
    assert ("all", "youth", two, X) not in counts and ("agency-t", "youth", two, X) not in counts
    # In general: "all" minus every agency's count shown is never 1 to k - 1.
    for (scope, need, week, cell), total in counts.items():
        if scope == "all":
            rest = total - sum(
                n for (s, nd, w, c), n in counts.items() if s != "all" and (nd, w, c) == (need, week, cell)
            )
            assert rest == 0 or rest >= PROBE_K, (need, week, cell, total, rest)
    # No totals: every answer holds groups and a number of suppressed groups, nothing else.
    assert all(
        set(body) == {"k", "resolution", "since", "until", "groups", "suppressed_groups"} for _, _, body in answers
    )


def test_answers_do_not_change_once_a_week_has_ended(probe):
    server, _url, shelter_x = probe
    before = _every_answer(server)
    with server.client() as http:
        # A new handoff in X this week: the week in progress is not counted.
        create(http, handoff_body(location=DOWNTOWN, needs=("shelter",)), agency="agency-s")
        create(http, handoff_body(location=NEARBY, needs=("shelter",)), agency="agency-s")
        # One of the 12 marked entered-in-error now, after its week ended: still counted as it was.
        response = http.post(
            f"/v1/handoffs/{shelter_x[0]}/transitions",
            json={"status": "entered-in-error"},
            headers=auth(Role.FIELD_WORKER, "agency-s"),
        )
        assert response.status_code == 200, response.text
    after = _every_answer(server)
    assert [body for _, _, body in after] == [body for _, _, body in before]
