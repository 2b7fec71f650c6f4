"""The tile cache: bounded in bytes, keyed by data version, correct across worker processes
after an import, and still serving while the database is unreachable."""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy.exc import OperationalError

from service.api.data_version import LastKnownVersion, VersionUnknown
from service.maps.tiles import ENTRY_OVERHEAD_BYTES, Tile, TileCache, TileKey, entry_size
from spatial.tiles import tile_for_lonlat
from tests.support.hsds_services import TORONTO, import_services, service_json
from tests.support.servers import start_server, stop_server


def _tile(size: int) -> Tile:
    return Tile(b"x" * size, f'W/"{size}"')


# --------------------------------------------------------------------------- the cache itself


def test_the_cache_never_holds_more_bytes_than_its_bound_and_evicts_least_recent():
    cache = TileCache(max_bytes=50_000)
    rng = random.Random(7)
    for i in range(2_000):
        size = rng.choice([0, 100, 3_000, 12_000, 40_000])
        key = TileKey.of(1, 14, i % 300, rng.randrange(50))
        cache.put(key, _tile(size) if size else Tile(None, None))
        assert cache.bytes_used <= 50_000
        assert cache.bytes_used == sum(entry_size(cache.get(k)) for k in cache)
    assert len(cache) > 1

    cache = TileCache(max_bytes=3 * (1_000 + ENTRY_OVERHEAD_BYTES))
    keys = [TileKey.of(1, 10, x, 0) for x in range(4)]
    for key in keys[:3]:
        cache.put(key, _tile(1_000))
    assert cache.get(keys[0]) is not None  # now the most recently used
    cache.put(keys[3], _tile(1_000))
    assert cache.get(keys[1]) is None, "the least recently used tile makes room"
    assert all(cache.get(k) is not None for k in (keys[0], keys[2], keys[3]))


def test_a_tile_bigger_than_the_cache_is_not_kept_and_zero_bytes_turns_it_off():
    cache = TileCache(max_bytes=10_000)
    small = TileKey.of(1, 5, 1, 1)
    cache.put(small, _tile(100))
    assert cache.put(TileKey.of(1, 5, 2, 2), _tile(20_000)) is False
    assert cache.get(small) is not None and cache.bytes_used == entry_size(_tile(100))

    off = TileCache(max_bytes=0)
    assert off.put(small, _tile(1)) is False and off.put(small, Tile(None, None)) is False
    assert off.get(small) is None and len(off) == 0


def test_the_cache_is_keyed_by_data_version_and_filter():
    cache = TileCache(max_bytes=1_000_000)
    cache.put(TileKey.of(41, 14, 1, 2), _tile(10))
    cache.put(TileKey.of(41, 14, 1, 2, ("shelter", "food")), _tile(20))
    assert cache.get(TileKey.of(41, 14, 1, 2)).body == b"x" * 10
    assert cache.get(TileKey.of(41, 14, 1, 2, ("food", "shelter", "food"))).body == b"x" * 20  # order, repeats
    assert cache.get(TileKey.of(42, 14, 1, 2)) is None, "a new data version misses"
    # Once a newer version is stored, the older one's entries are dropped: they can never be asked for again.
    cache.put(TileKey.of(42, 14, 1, 2), _tile(30))
    assert cache.get(TileKey.of(41, 14, 1, 2)) is None and len(cache) == 1
    assert cache.bytes_used == entry_size(_tile(30))
    assert cache.put(TileKey.of(41, 14, 5, 5), _tile(10)) is False, "a late render of an older version is not kept"


def test_the_cache_is_safe_across_threads():
    cache = TileCache(max_bytes=200_000)

    def work(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(2_000):
            key = TileKey.of(1, 12, rng.randrange(100), 0)
            if cache.get(key) is None:
                cache.put(key, _tile(rng.randrange(1, 5_000)))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, range(8)))
    assert cache.bytes_used <= 200_000
    assert cache.bytes_used == sum(entry_size(t) for t in cache.values())


# --------------------------------------------------------------------------- the version memory


def _down():
    raise OperationalError("SELECT version", {}, Exception("connection refused"))


def test_last_known_version_survives_the_database_going_away():
    state = {"version": 5, "fresh": 5, "down": False, "fresh_reads": 0}

    def read():
        if state["down"]:
            _down()
        return state["version"]

    def read_fresh():
        state["fresh_reads"] += 1
        return state["fresh"]

    known = LastKnownVersion(read, read_fresh, refresh_interval_s=0.0, retry_after_s=0.2)
    assert known.get() == (5, True)
    state["down"] = True
    assert known.get() == (5, False)
    assert known.get() == (5, False)
    state["down"], state["version"] = False, 6
    assert known.get() == (5, False), "no new attempt right after a failure"
    time.sleep(0.25)
    assert known.get() == (6, True)

    # A client holding a newer version makes the worker look again at once.
    state["fresh"] = 7
    assert known.get(at_least=7) == (7, True) and state["fresh_reads"] == 1
    assert known.get() == (7, True), "versions only go up: the TTL-cached 6 does not win"
    assert known.get(at_least=6) == (7, True) and state["fresh_reads"] == 1

    never = LastKnownVersion(_down, _down)
    with pytest.raises(VersionUnknown):
        never.get()


def test_while_the_database_is_down_one_request_at_a_time_probes_it():
    probing, release = threading.Event(), threading.Event()
    state = {"down": False}

    def read():
        if state["down"]:
            probing.set()
            release.wait(5)  # a connection attempt to a host that does not answer
            _down()
        return 3

    known = LastKnownVersion(read, read, retry_after_s=0.05)
    assert known.get() == (3, True)
    state["down"] = True
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(known.get)  # the first failure is waited for
        assert probing.wait(5)
        release.set()
        assert first.result() == (3, False)
    time.sleep(0.1)
    release.clear()
    probing.clear()
    with ThreadPoolExecutor(1) as pool:
        prober = pool.submit(known.get)
        assert probing.wait(5)
        started = time.monotonic()
        assert known.get() == (3, False) and time.monotonic() - started < 0.5, "the others do not queue behind it"
        release.set()
        assert prober.result() == (3, False)


# --------------------------------------------------------------------------- several workers


def _fresh_get(base_url: str, path: str) -> httpx.Response:
    # A new connection each time, so the kernel spreads requests over the worker processes.
    return httpx.get(base_url + path, timeout=10, headers={"Connection": "close"})


def _hammer(base_url: str, path: str, count: int) -> list[httpx.Response]:
    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(lambda _: _fresh_get(base_url, path), range(count)))


def test_no_worker_serves_an_old_tile_after_an_import(database_url, tmp_path):
    lon, lat = TORONTO
    import_services(database_url, tmp_path, "first", [service_json("Front Street Shelter", lon, lat)])
    server = start_server(database_url, workers=2, env={"FIELDNAV_DATA_VERSION_TTL_S": "0.2"})
    try:
        paths = [f"/v1/tiles/{z}/{x}/{y}.mvt" for z in (10, 15) for x, y in [tile_for_lonlat(lon, lat, z)]]
        before = {}
        for path in paths:
            responses = _hammer(server.base_url, path, 40)  # every worker has it cached now
            assert {r.status_code for r in responses} == {200}
            assert len({r.content for r in responses}) == 1
            before[path] = responses[0].content

        import_services(
            database_url, tmp_path, "second", [service_json("Queen Street Food Bank", lon + 0.001, lat, code="BD-1800")]
        )
        time.sleep(0.2 + 0.3)  # the data version TTL, and some
        for path in paths:
            responses = _hammer(server.base_url, path, 40)
            assert {r.status_code for r in responses} == {200}
            contents = {r.content for r in responses}
            assert before[path] not in contents, f"a worker served the old {path}"
            assert len(contents) == 1
            assert len({r.headers["etag"] for r in responses}) == 1
    finally:
        stop_server(server)


# --------------------------------------------------------------------------- database down


def _warm_then_cut(pg_server, database_url, tmp_path, server) -> tuple[str, str]:
    lon, lat = TORONTO
    z = 15
    x, y = tile_for_lonlat(lon, lat, z)
    cached, uncached = f"/v1/tiles/{z}/{x}/{y}.mvt", f"/v1/tiles/{z}/{x + 1}/{y}.mvt"
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        assert client.get(cached).status_code == 200
        assert client.get("/v1/tiles.json").status_code == 200
    pg_server.drop_database(database_url.rsplit("/", 1)[1].split("?")[0])  # WITH (FORCE): connections die too
    time.sleep(0.5)  # past the data version TTL: the next request asks the (gone) database
    return cached, uncached


def _check_served_while_down(client, cached: str, uncached: str) -> None:
    for _ in range(3):
        started = time.monotonic()
        response = client.get(cached)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/vnd.mapbox-vector-tile" and response.content
        assert time.monotonic() - started < 3
    started = time.monotonic()
    missing = client.get(uncached)
    assert time.monotonic() - started < 8, "no hang"
    assert missing.status_code == 503 and missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["type"].endswith("/unavailable")
    assert missing.headers["cache-control"] == "no-store"


@pytest.fixture
def seeded_database(database_url, tmp_path):
    lon, lat = TORONTO
    import_services(
        database_url,
        tmp_path,
        "seed",
        [
            service_json("Front Street Shelter", lon, lat),
            service_json("Next Door Food Bank", lon + 0.0151, lat, code="BD-1800"),
        ],
    )
    return database_url


def test_cached_tiles_are_served_while_the_database_is_down_in_process(pg_server, seeded_database, tmp_path):
    """The tile route's own part: the app served by uvicorn in a thread, with access control
    (which needs the database for its rate limit, see the end-to-end test below) taken out.
    With a dependency override the tile fast path steps aside, so this covers the FastAPI
    operation; the end-to-end test below covers the fast path."""
    from service.api.app import create_app
    from service.api.security import authorize
    from service.platform.db import make_engine
    from tests.support.servers import serve_in_thread

    app = create_app(make_engine(seeded_database))
    app.dependency_overrides[authorize] = lambda: None
    lon, lat = TORONTO
    z = 15
    x, y = tile_for_lonlat(lon, lat, z)
    cached, uncached = f"/v1/tiles/{z}/{x}/{y}.mvt", f"/v1/tiles/{z}/{x + 1}/{y}.mvt"
    with serve_in_thread(app) as client:
        assert client.get(cached).status_code == 200
        tilejson = client.get("/v1/tiles.json").json()
        pg_server.drop_database(seeded_database.rsplit("/", 1)[1].split("?")[0])
        time.sleep(1.2)  # past the default data version TTL (1 s)
        _check_served_while_down(client, cached, uncached)
        still = client.get("/v1/tiles.json")
        assert still.status_code == 200 and still.json() == tilejson, "the map can still start"


def test_cached_tiles_are_served_while_the_database_is_down(pg_server, seeded_database, tmp_path):
    server = start_server(seeded_database, env={"FIELDNAV_DATA_VERSION_TTL_S": "0.2"})
    try:
        cached, uncached = _warm_then_cut(pg_server, seeded_database, tmp_path, server)
        with httpx.Client(base_url=server.base_url, timeout=20) as client:
            _check_served_while_down(client, cached, uncached)
    finally:
        stop_server(server)
