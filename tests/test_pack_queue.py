"""Offline pack builds cannot starve the rest of the API (issue 15, 2), on the real stack.

Before: each build held two connections of the requests' pool for its whole run and nothing
bounded how many ran, so a few concurrent builds took every connection and handoffs and
nearest waited for the pool timeout, then answered 503. Now builds queue (per worker, and
database-wide with advisory-lock slots), run on the packs' own pool and stop at a deadline
(service/maps/packs/queue.py); a caller over capacity gets 503 pack-builds-busy with Retry-After.
"""

from __future__ import annotations

import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import create_engine, text

from service.auth.principal import Role
from service.maps import packs
from service.maps.packs import queue as pack_queue
from service.maps.packs.storage import STORE_ID_FILE
from service.platform.problems import Problem
from service.platform.settings import PackSettings
from tests.support.handoffs import HANDOFF_ENV, handoff_body, load_test_centres
from tests.support.servers import start_server, stop_server
from tests.support.tokens import auth, token

NEAREST = [{"lat": 43.6532 + i / 200, "lon": -79.3832 - i / 300, "limit": 10} for i in range(10)]
POOL_TIMEOUT_S = 3.0


def pack_body(i: int, max_zoom: int = 16, size: tuple[float, float] = (0.16, 0.12)) -> dict:
    """A distinct area around Toronto for each i (a fresh build each): ~1,400 tiles, ~4,400
    with ``size=BIG``."""
    west = -79.52 + 0.013 * i
    return {
        "bbox": [round(west, 6), 43.62, round(west + size[0], 6), round(43.62 + size[1], 6)],
        "min_zoom": 10,
        "max_zoom": max_zoom,
    }


BIG = (0.3, 0.22)


@pytest.fixture(scope="module")
def queue_database_url(demo_database_url, tmp_path_factory):
    load_test_centres(demo_database_url, tmp_path_factory.mktemp("centres"))
    return demo_database_url


@pytest.fixture(scope="module")
def admin(queue_database_url):
    engine = create_engine(queue_database_url)
    yield engine
    engine.dispose()


def _env(pack_dir, **packs_settings) -> dict:
    return {
        **HANDOFF_ENV,
        "FIELDNAV_PACKS_DIR": str(pack_dir),
        "FIELDNAV_LIMIT_EXPENSIVE_PER_MIN": "1000000",
        **{f"FIELDNAV_PACKS_{name.upper()}": str(value) for name, value in packs_settings.items()},
    }


def _timed(client: httpx.Client, method: str, url: str, **kwargs) -> tuple[int, float]:
    started_s = time.monotonic()
    response = client.request(method, url, **kwargs)
    return response.status_code, time.monotonic() - started_s


def _traffic(base_url: str, rounds: int = 2, busy=None) -> list[tuple[str, int, float]]:
    """Nearest and handoff creates, one after another on fresh connections (so both workers
    answer): (what, status, seconds) each. With ``busy`` (a callable), only the requests sent
    while it is true, and no more rounds once it is false."""
    worker = {"Authorization": f"Bearer {token(Role.FIELD_WORKER)}"}
    out = []
    for _ in range(rounds):
        for i, params in enumerate(NEAREST):
            if busy is not None and not busy():
                return out
            with httpx.Client(base_url=base_url, timeout=30) as client:
                out.append(("nearest", *_timed(client, "GET", "/v1/services/nearest", params=params, headers=worker)))
                if i % 2 == 0:
                    out.append(
                        (
                            "handoff",
                            *_timed(
                                client, "POST", "/v1/handoffs", json=handoff_body(), headers=auth(Role.FIELD_WORKER)
                            ),
                        )
                    )
    return out


def _summary(samples) -> str:
    return ", ".join(
        f"{what} median {statistics.median(s for w, _, s in samples if w == what) * 1000:.0f} ms "
        f"max {max(s for w, _, s in samples if w == what) * 1000:.0f} ms"
        for what in ("nearest", "handoff")
    )


def test_builds_leave_handoffs_and_nearest_their_connections(queue_database_url, admin, tmp_path):
    builds, total_cap = 12, 3
    # A small request pool (4 per worker), as a busy production pool would be: before, two
    # builds on a worker took all of it, and handoffs and nearest waited for the pool timeout.
    server = start_server(
        queue_database_url,
        workers=2,
        env={
            **_env(
                tmp_path,
                max_concurrent_builds=2,
                max_concurrent_builds_total=total_cap,
                queue_size=32,
                queue_wait_s=600,
                build_timeout_s=600,
            ),
            "FIELDNAV_POOL_SIZE": "4",
            "FIELDNAV_POOL_TIMEOUT_S": str(POOL_TIMEOUT_S),
        },
    )
    try:
        baseline = _traffic(server.base_url)
        assert {status for what, status, _ in baseline} <= {200, 201}, baseline

        answers: list[httpx.Response] = []
        running: list[int] = []
        done = threading.Event()

        def build(i: int) -> None:
            with httpx.Client(base_url=server.base_url, timeout=600) as client:
                answers.append(
                    client.post(
                        "/v1/offline/packs",
                        json=pack_body(i, size=BIG),
                        headers={"Authorization": f"Bearer {token(Role.FIELD_WORKER)}"},
                    )
                )

        def watch() -> None:
            with admin.connect() as connection:
                while not done.is_set():
                    running.append(pack_queue.builds_running(connection))
                    time.sleep(0.1)

        watcher = threading.Thread(target=watch)
        watcher.start()
        with ThreadPoolExecutor(builds) as pool:
            futures = [pool.submit(build, i) for i in range(builds)]
            time.sleep(1.0)  # the builds are under way
            # Traffic for as long as builds run (at most 20 rounds).
            loaded = _traffic(server.base_url, rounds=20, busy=lambda: not all(f.done() for f in futures))
            for future in futures:
                future.result()
        done.set()
        watcher.join()
    finally:
        log = stop_server(server)

    # Handoffs and nearest never waited for a connection: no 503, and their latency stays
    # within a generous bound of the run without builds (the builds still take CPU).
    assert {status for what, status, _ in loaded} <= {200, 201}, [x for x in loaded if x[1] not in (200, 201)]
    for what in ("nearest", "handoff"):
        before = [s for w, _, s in baseline if w == what]
        during = [s for w, _, s in loaded if w == what]
        assert statistics.median(during) <= 10 * statistics.median(before) + 0.3, (what, before, during)
        assert max(during) <= min(POOL_TIMEOUT_S, max(1.5, 5 * max(before))), (what, before, during)
    assert len(loaded) >= 15, f"the builds ended after {len(loaded)} requests: make them longer"
    print("without builds:", _summary(baseline), f"with builds ({len(loaded)} requests):", _summary(loaded))
    # Every build finished, and never more at once than the database-wide cap.
    assert sorted(a.status_code for a in answers) == [201] * builds, [
        a.text[:200] for a in answers if a.status_code != 201
    ]
    assert len({a.json()["id"] for a in answers}) == builds
    assert 2 <= max(running) <= total_cap, running
    assert "Traceback" not in log


def test_over_capacity_builds_get_503_with_retry_after(queue_database_url, tmp_path):
    wait_s = 1.5
    server = start_server(
        queue_database_url, env=_env(tmp_path, max_concurrent_builds=1, queue_size=1, queue_wait_s=wait_s)
    )
    headers = {"Authorization": f"Bearer {token(Role.FIELD_WORKER)}", "Accept-Language": "fr"}
    try:
        with httpx.Client(base_url=server.base_url, timeout=120) as client:
            small = client.post("/v1/offline/packs", json=pack_body(40, max_zoom=12), headers=headers)
            assert small.status_code == 201

        def build(i: int) -> tuple[httpx.Response, float]:
            with httpx.Client(base_url=server.base_url, timeout=120) as client:
                started_s = time.monotonic()
                response = client.post("/v1/offline/packs", json=pack_body(20 + i), headers=headers)
                return response, time.monotonic() - started_s

        with ThreadPoolExecutor(6) as pool:
            futures = [pool.submit(build, i) for i in range(6)]
            time.sleep(0.5)  # one builds, one waits, the rest are refused at once
            with httpx.Client(base_url=server.base_url, timeout=120) as client:
                # A pack already built never queues, however full the queue.
                again, again_s = _timed(
                    client, "POST", "/v1/offline/packs", json=pack_body(40, max_zoom=12), headers=headers
                )
            results = [f.result() for f in futures]
    finally:
        stop_server(server)
    assert again == 200 and again_s < 1.0, (again, again_s)
    # One builds, one waits its turn (built if the first is done within wait_s, else refused
    # when the wait runs out), four are refused at once: the queue is full.
    statuses = sorted(r.status_code for r, _ in results)
    assert statuses in ([201, 201] + [503] * 4, [201] + [503] * 5), statuses
    refused = [(r, s) for r, s in results if r.status_code == 503]
    for response, _ in refused:
        assert response.headers["content-type"] == "application/problem+json"
        assert int(response.headers["retry-after"]) > 0
        problem = response.json()
        assert problem["type"].endswith("/pack-builds-busy") and "réessayez" in problem["detail"]
    seconds = sorted(s for _, s in refused)
    assert seconds[3] < wait_s and (len(seconds) == 4 or seconds[4] >= wait_s - 0.1), seconds


def test_a_build_past_its_deadline_stops_and_leaves_nothing(queue_database_url, tmp_path):
    engine = create_engine(queue_database_url)
    # An area without services renders its ~1,400 tiles in ~0.2 s: a BIG one (~4,400) and 0.1 s
    # leave the build no chance to finish in time.
    settings = PackSettings(dir=tmp_path, build_timeout_s=0.1)
    request = packs.PackRequest(**pack_body(60, size=BIG))
    try:
        with pytest.raises(Problem) as stopped:
            packs.build_or_reuse(engine, request, settings=settings, now=datetime.now(UTC), directory=tmp_path)
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT count(*) FROM offline_pack WHERE request_key = :key"),
                {"key": packs.plan_pack(request, settings).request_key},
            ).scalar_one()
    finally:
        engine.dispose()
    assert stopped.value.status == 503 and stopped.value.slug == "pack-build-timeout"
    assert stopped.value.headers["Retry-After"]
    assert rows == 0 and [p.name for p in tmp_path.iterdir() if p.name != STORE_ID_FILE] == []


def test_the_database_wide_cap_is_shared_by_every_process(admin):
    """Two guard transactions (as two workers' builds would hold): the second finds no free
    slot of one and gives up when its wait runs out; a slot frees with its transaction."""
    with admin.connect() as first, first.begin():
        assert pack_queue.take_database_slot(first, 1, time.monotonic() + 1) == 0
        with admin.connect() as second, second.begin():
            started_s = time.monotonic()
            with pytest.raises(Problem) as refused:
                pack_queue.take_database_slot(second, 1, time.monotonic() + 0.6)
            assert refused.value.slug == "pack-builds-busy" and 0.3 < time.monotonic() - started_s < 2
            assert pack_queue.builds_running(second) == 1
            assert pack_queue.take_database_slot(second, 0, time.monotonic()) is None  # 0: no cap
    with admin.connect() as third, third.begin():
        assert pack_queue.take_database_slot(third, 1, time.monotonic() + 1) == 0


def test_a_full_queue_refuses_without_waiting():
    import asyncio

    async def scenario() -> list[str]:
        queue = pack_queue.BuildQueue(max_running=1, max_waiting=1, wait_s=5)
        release = asyncio.Event()
        outcomes: list[str] = []

        async def one(name: str) -> None:
            try:
                async with queue.slot():
                    outcomes.append(f"{name} ran")
                    await release.wait()
            except Problem as problem:
                outcomes.append(f"{name} {problem.slug}")

        tasks = [asyncio.create_task(one(f"b{i}")) for i in range(3)]
        await asyncio.sleep(0.05)
        assert queue.running == 1 and queue.waiting == 1
        release.set()
        await asyncio.gather(*tasks)
        return outcomes

    assert asyncio.run(scenario()) == ["b0 ran", "b2 pack-builds-busy", "b1 ran"]


def test_a_wait_that_runs_out_is_refused():
    import asyncio

    async def scenario() -> tuple[str, float]:
        queue = pack_queue.BuildQueue(max_running=1, max_waiting=4, wait_s=0.3)
        async with queue.slot():
            started_s = time.monotonic()
            try:
                async with queue.slot():
                    return "ran", 0.0
            except Problem as problem:
                assert problem.headers["Retry-After"]
                return problem.slug, time.monotonic() - started_s

    slug, waited_s = asyncio.run(scenario())
    assert slug == "pack-builds-busy" and 0.25 < waited_s < 2, waited_s
