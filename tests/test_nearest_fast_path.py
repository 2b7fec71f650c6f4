"""The nearest fast path (service/api/nearest_fast_path.py) answers exactly as the FastAPI operation.

Two apps on the same database, each served by uvicorn over real HTTP: the app as built, and
the same app without its nearest fast path, so every nearest request goes through FastAPI's
router. Every request below must get the same status, headers and body from both; and the
fast path must have answered the plain ones itself, leaving only the odd ones to the router.

A nearest answer states the moment it was computed (``at``, and so its ETag): two servers
asked one after the other differ there and nowhere else, so those two are compared as
"present and well formed", everything else byte for byte.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import APIRouter
from fastapi.routing import APIRoute

from service.api.app import create_app
from service.api.nearest_endpoint import NearestParams
from service.api.nearest_fast_path import NearestFastPath, plain_nearest_query
from service.platform.db import make_engine
from tests.support.fast_paths import bearer, comparable, record_routed, without_fast_path
from tests.support.servers import serve_in_thread

NEAREST = "/v1/services/nearest"
TORONTO = "lat=43.6532&lon=-79.3832"
AT = re.compile(rb'"at":"([^"]+)"')


@pytest.mark.parametrize(
    "query, expected",
    [
        (b"lat=43.65&lon=-79.38", NearestParams(lat=43.65, lon=-79.38)),
        (b"lat=%34%33.65&lon=-79", NearestParams(lat=43.65, lon=-79.0)),  # percent-decoded first
        (
            b"lat=1&lon=2&category=food&category=shelter,crisis&language=fr&population=women&population=",
            NearestParams(
                lat=1.0, lon=2.0, category=["food", "shelter,crisis"], language=["fr"], population=["women", ""]
            ),
        ),
        (
            b"lat=1&lon=2&open_now=YES&accessible=1&has_capacity=on&age=017&max_distance_m=5000&limit=50",
            NearestParams(
                lat=1.0,
                lon=2.0,
                open_now=True,
                accessible=True,
                has_capacity=True,
                age=17,
                max_distance_m=5000,
                limit=50,
            ),
        ),
        (
            b"lat=1&lon=2&open_now=f&gender=woman&serves=here",
            NearestParams(lat=1.0, lon=2.0, gender="woman", serves="here"),
        ),
        (b"lat=-90&lon=180&utm_source=x", NearestParams(lat=-90.0, lon=180.0)),  # unknown parameters are ignored
        (b"lat=1&lon=2&gender=", NearestParams(lat=1.0, lon=2.0, gender="")),
        (b"lon=2", None),  # FastAPI's 422
        (b"lat=90.1&lon=2", None),
        (b"lat=1e1&lon=2", None),
        (b"lat=+1&lon=2", None),
        (b"lat=nan&lon=2", None),
        (b"lat=1&lat=2&lon=2", None),  # FastAPI's choice of one of them is FastAPI's
        (b"lat=1&lon=2&limit=0", None),
        (b"lat=1&lon=2&limit=51", None),
        (b"lat=1&lon=2&age=131", None),
        (b"lat=1&lon=2&max_distance_m=-5", None),
        (b"lat=1&lon=2&open_now=maybe", None),
        (b"lat=1&lon=2&open_now=", None),
        (b"lat=1&lon=2&open_at=2026-12-06T03:00", None),
        (b"lat=1&lon=2&gender=woman&gender=man", None),
    ],
)
def test_which_queries_the_fast_path_reads_itself(query, expected):
    assert plain_nearest_query(query) == expected


@pytest.fixture
def both_apps(demo_database_url):
    """(client of the app with its nearest fast path, client of the app without, routed requests of the first)."""
    fast_app = create_app(make_engine(demo_database_url))
    routed = record_routed(fast_app, NearestFastPath, NEAREST)
    with (
        serve_in_thread(fast_app) as fast,
        serve_in_thread(without_fast_path(create_app(make_engine(demo_database_url)), NearestFastPath)) as plain,
    ):
        yield fast, plain, routed


def _same_answer(from_fast: httpx.Response, from_router: httpx.Response, path: str) -> None:
    """Equal but for the moment of the answer (``at``) and the ETag made from it, which must
    each be present and well formed."""
    bodies = []
    for response in (from_fast, from_router):
        found = AT.search(response.content)
        # With open_at, "at" is the moment asked for; a HEAD has no body.
        if response.status_code == 200 and response.request.method == "GET" and "open_at=" not in path:
            assert found, path
            assert abs(datetime.fromisoformat(found.group(1).decode()) - datetime.now(UTC)) < timedelta(minutes=1)
            assert re.fullmatch(r'(W/)?"[^"]+"', response.headers["etag"]), path
        bodies.append(AT.sub(b'"at":"..."', response.content))
    fast_view = comparable(from_fast, ignored_headers=frozenset({"etag", "content-length"}))
    router_view = comparable(from_router, ignored_headers=frozenset({"etag", "content-length"}))
    assert fast_view[:2] == router_view[:2], path
    assert bodies[0] == bodies[1], path


def test_the_fast_path_answers_as_the_routed_operation(both_apps):
    fast, plain, routed = both_apps
    auth = bearer("nearest-fast-path-equivalence")
    here = f"{NEAREST}?{TORONTO}"
    answered_by_fast_path = [
        (here, {}),  # no token: 401
        (here, {"Authorization": "Bearer not.a.jwt"}),
        (here, auth),
        (here, {**auth, "Accept-Encoding": "gzip"}),
        (here, {**auth, "Accept": "application/geo+json"}),
        (here, {**auth, "If-None-Match": "*"}),  # 304
        (f"{here}&category=shelter", auth),
        (f"{here}&category=food,mental_health&category=crisis", auth),
        (f"{here}&category=", auth),
        (f"{here}&category=nope", auth),  # 422 unknown-category
        (f"{here}&open_now=true&accessible=on", auth),
        (f"{here}&open_now=1&category=crisis", auth),
        (f"{here}&has_capacity=TRUE&category=shelter", auth),
        (f"{here}&language=fr", auth),
        (f"{here}&language=f1", auth),  # 422
        (f"{here}&age=17&population=youth&gender=woman", auth),
        (f"{here}&population=nobody", auth),  # 422
        (f"{here}&gender=nobody", auth),  # 422
        (f"{here}&serves=here", auth),
        (f"{here}&serves=43.7,-79.4&category=food", auth),
        (f"{here}&serves=north", auth),  # 422
        (f"{here}&max_distance_m=1000&limit=3", auth),
        (f"{here}&limit=50", auth),
        (f"{NEAREST}?lat=60&lon=-85", auth),  # Hudson Bay: no results
        (f"{here}&utm_source=x", auth),
    ]
    answered_by_router = [
        f"{NEAREST}?lon=-79.38",
        f"{NEAREST}?lat=abc&lon=-79.38",
        f"{NEAREST}?lat=91&lon=-79.38",
        f"{NEAREST}?lat=4.36e1&lon=-79.38",
        f"{here}&limit=0",
        f"{here}&limit=51",
        f"{here}&age=131",
        f"{here}&open_now=maybe",
        f"{here}&open_at=2026-12-07T22:30:00",
        f"{here}&lat=43.7",
        f"{here}&gender=woman&gender=man",
    ]
    requests = answered_by_fast_path + [(path, auth) for path in answered_by_router]
    fast_path_statuses = set()
    for index, (path, headers) in enumerate(requests):
        from_fast, from_router = fast.get(path, headers=headers), plain.get(path, headers=headers)
        _same_answer(from_fast, from_router, path)
        if index < len(answered_by_fast_path):
            fast_path_statuses.add(from_fast.status_code)
    assert fast_path_statuses == {200, 304, 401, 422}
    assert routed == answered_by_router, "plain nearest requests must not reach the router"

    # HEAD is answered as GET (service/api/middleware.py, HeadAsGet), by the fast path too.
    from_fast, from_router = fast.head(here, headers=auth), plain.head(here, headers=auth)
    assert from_fast.status_code == 200 and from_fast.content == b""
    _same_answer(from_fast, from_router, here)
    for method in ("POST", "DELETE"):  # not GET: the router's, with its 405 and Allow
        from_fast, from_router = fast.request(method, here, headers=auth), plain.request(method, here, headers=auth)
        assert comparable(from_fast) == comparable(from_router), method
    assert routed[len(answered_by_router) :] == [here] * 2


def test_the_fast_path_refuses_to_start_when_the_route_has_a_parameter_it_does_not_read():
    """A filter added to the route and not to the fast path would be dropped from answers."""
    router = APIRouter()

    @router.get("/nearest")
    def operation(lat: float, lon: float, wheelchair_van: bool = False) -> dict:
        return {}

    route = next(r for r in router.routes if isinstance(r, APIRoute))
    with pytest.raises(RuntimeError, match="wheelchair_van"):
        NearestFastPath(None, route=route)
    app = create_app(make_engine("postgresql+psycopg://unused@127.0.0.1:1/unused"))
    app.build_middleware_stack()  # the real route: every parameter is read, it starts
