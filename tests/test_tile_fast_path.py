"""The tile fast path (service/api/tile_fast_path.py) answers exactly as the FastAPI operation.

Two apps on the same database, each served by uvicorn over real HTTP: the app as built, and
the same app without its fast path, so every tile request goes through FastAPI's router. Every
request below must get the same status, headers and body from both; and the fast path must
have answered the plain ones itself, leaving only the odd ones to the router.
"""

from __future__ import annotations

import re

import pytest

from service.api.app import create_app
from service.api.tile_fast_path import TileFastPath, plain_query
from service.platform.db import make_engine
from service.platform.settings import limit_settings
from spatial.tiles import tile_for_lonlat
from tests.support.fast_paths import bearer, comparable, record_routed, without_fast_path
from tests.support.servers import serve_in_thread

TORONTO = (-79.3832, 43.6532)
HUDSON_BAY = (-85.0, 60.0)


@pytest.mark.parametrize(
    "query, expected",
    [
        (b"", ([], None)),
        (b"v=42", ([], 42)),
        (b"v=%34%32", ([], 42)),  # percent-decoded first, as Starlette does
        (b"v=007", ([], 7)),  # as pydantic reads it
        (b"category=food&category=shelter,crisis", (["food", "shelter,crisis"], None)),
        (b"category=", ([""], None)),
        (b"category=food&v=7&utm_source=x", (["food"], 7)),  # parameters the operation lacks are ignored
        (b"v=", None),
        (b"v=abc", None),
        (b"v=-1", None),
        (b"v=+1", None),
        (b"v=1&v=2", None),  # FastAPI's choice of one of them is FastAPI's
        (b"v=" + b"9" * 19, None),
    ],
)
def test_which_queries_the_fast_path_reads_itself(query, expected):
    assert plain_query(query) == expected


@pytest.fixture
def both_apps(demo_database_url):
    """(client of the app with its fast path, client of the app without, routed requests of the first)."""
    fast_app = create_app(make_engine(demo_database_url))
    routed = record_routed(fast_app, TileFastPath, "/v1/tiles/")
    with (
        serve_in_thread(fast_app) as fast,
        serve_in_thread(without_fast_path(create_app(make_engine(demo_database_url)), TileFastPath)) as plain,
    ):
        yield fast, plain, routed


def test_the_fast_path_answers_as_the_routed_operation(both_apps):
    fast, plain, routed = both_apps
    auth = bearer("fast-path-equivalence")
    z = 14
    x, y = tile_for_lonlat(*TORONTO, z)
    tile = f"/v1/tiles/{z}/{x}/{y}.mvt"
    hx, hy = tile_for_lonlat(*HUDSON_BAY, z)
    version = fast.get("/").json()["data_version"]
    etag = plain.get(tile, headers=auth).headers["etag"]
    gzip = {"Accept-Encoding": "gzip"}

    answered_by_fast_path = [
        (tile, {}),  # no token: 401
        (tile, {"Authorization": "Bearer not.a.jwt"}),
        (tile, {"Authorization": "Basic dXNlcjpwYXNz"}),
        (tile, auth),
        (tile, {**auth, **gzip}),
        (f"{tile}?v={version}", auth),
        (f"{tile}?v=0{version}", auth),
        (f"{tile}?v={version - 1}", auth),
        (f"{tile}?v={version + 1000}", auth),
        (f"{tile}?category=food", auth),
        (f"{tile}?category=food&category=shelter", auth),
        (f"{tile}?category=shelter,food&v={version}", auth),
        (f"{tile}?category=", auth),
        (f"{tile}?category=nope", auth),  # 422 unknown-category
        (f"{tile}?utm_source=x", auth),
        (f"/v1/tiles/{z}/{hx}/{hy}.mvt", auth),  # 204
        (f"/v1/tiles/10/{x // 16}/{y // 16}.mvt", auth),  # clusters
        ("/v1/tiles/19/0/0.mvt", auth),  # 404
        ("/v1/tiles/3/0/8.mvt", auth),
        (f"{tile}?v={version}", {**auth, "If-None-Match": etag}),  # 304
        (tile, {**auth, "If-None-Match": "*"}),
        (tile, {**auth, "If-None-Match": '"something-else"'}),
    ]
    answered_by_router = [
        "/v1/tiles/a/0/0.mvt",
        "/v1/tiles/-1/0/0.mvt",
        "/v1/tiles/3/0.5/0.mvt",
        f"{tile}?v=abc",
        f"{tile}?v=1&v=2",
        "/v1/tiles/14/0/0.mvt/",
    ]
    requests = answered_by_fast_path + [(path, auth) for path in answered_by_router]
    fast_path_statuses = set()
    for index, (path, headers) in enumerate(requests):
        from_fast, from_router = fast.get(path, headers=headers), plain.get(path, headers=headers)
        assert comparable(from_fast) == comparable(from_router), path
        if index < len(answered_by_fast_path):
            fast_path_statuses.add(from_fast.status_code)
    assert fast_path_statuses == {200, 204, 304, 401, 404, 422}
    assert routed == answered_by_router, "plain tile requests must not reach the router"

    # HEAD is answered as GET (service/api/middleware.py, HeadAsGet), by the fast path too.
    for path in (tile, f"{tile}?v={version}"):
        from_fast, from_router = fast.head(path, headers=auth), plain.head(path, headers=auth)
        assert from_fast.status_code == 200 and from_fast.content == b""
        assert comparable(from_fast) == comparable(from_router), path
    for method in ("POST", "DELETE"):  # not GET: the router's, with its 405 and Allow
        from_fast, from_router = fast.request(method, tile, headers=auth), plain.request(method, tile, headers=auth)
        assert comparable(from_fast) == comparable(from_router), method
    assert routed[len(answered_by_router) :] == [tile] * 2


@pytest.fixture
def five_requests_a_minute(monkeypatch):
    monkeypatch.setenv("FIELDNAV_LIMIT_REQUESTS_PER_MIN", "5")
    limit_settings.cache_clear()
    yield
    monkeypatch.delenv("FIELDNAV_LIMIT_REQUESTS_PER_MIN")
    limit_settings.cache_clear()


def test_the_fast_path_keeps_the_rate_limit(five_requests_a_minute, both_apps):
    fast, plain, routed = both_apps
    z = 14
    x, y = tile_for_lonlat(*TORONTO, z)
    refused = []
    # The limit is counted in the database, shared by both apps: one caller each.
    for client, auth in ((fast, bearer("fast-path-limit-a")), (plain, bearer("fast-path-limit-b"))):
        statuses = [client.get(f"/v1/tiles/{z}/{x}/{y}.mvt", headers=auth) for _ in range(7)]
        assert [r.status_code for r in statuses] == [200] * 5 + [429] * 2
        refused.append(statuses[-1])
    from_fast, from_router = refused
    assert from_fast.headers["cache-control"] == "no-store" and int(from_fast.headers["retry-after"]) >= 1

    # The same problem, but for the seconds left in the window: the two callers' requests may
    # straddle a second.
    def waiting(problem: dict) -> dict:
        return {**problem, "detail": re.sub(r"in \d+ s\.$", "in N s.", problem["detail"])}

    assert waiting(from_fast.json()) == waiting(from_router.json())
    assert routed == []
