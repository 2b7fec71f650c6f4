"""Mixed workload against `fieldnav serve`: throughput, p50/p99 per endpoint, errors and the
memory growth of the workers, for a bounded time on loopback.

    .venv/bin/python bench/load.py                                    # 100k services, 2 workers, 16 clients, 15 s + 60 s
    .venv/bin/python bench/load.py --duration-s 120 --workers 2       # the recorded run
    .venv/bin/python bench/load.py --duration-s 10 --warmup-s 5 --no-results-file --no-wait-idle   # a quick try
    .venv/bin/python bench/load.py --services 20000 --json bench/out/load.json

What it does: the bench cluster (.fieldnav/bench-db) and a database of demo services
(``bench_100k`` for 100,000, reused as bench/nearest.py and bench/tiles.py leave it;
``bench_load_<N>`` otherwise, loaded on first use), the shipped Ontario navigator centre
loaded, then `fieldnav serve --workers W` on 127.0.0.1 with the rate limit raised out of the
way (still counted). ``--concurrency`` clients (asyncio + httpx, one keep-alive connection
each) send back to back, each request drawn from a weighted mix (MIX below):

* nearest: bench/nearest.py's seeded queries (Ontario places by population, nine filter mixes);
* tile: bench/tiles.py's seeded Toronto tile set (z10-z16), URLs from ``/v1/tiles.json``
  (versioned, as a map client uses them); tile revalidate: a tile fetched before, sent with
  ``If-None-Match`` = its ETag (304 expected);
* service detail: ``/v1/services/{id}`` of ids seen in nearest results;
* sync first page / sync next page: ``/v1/sync/services`` without a cursor, and following the
  ``next_cursor`` of pages already read;
* handoff create: ``POST /v1/handoffs`` as a field worker, a fresh Idempotency-Key each (a
  share are retries of an earlier request, same key and body: replayed 201);
* navigator queue: ``GET /v1/navigator/queue`` as a navigator of centre 211-ontario.

Requests carry bearer tokens of 128 field workers (8 navigators for the queue), signed with
the bench home's key. After ``--warmup-s`` the resident memory of every worker process is
read from /proc, then every few seconds, and once more at the end of ``--duration-s``.

Errors: any status other than the endpoint's expected ones (a 5xx, a 4xx, ...) and any
connection error or timeout. Exit code 1 when there was an error (warm-up included) or a
worker grew by GOAL_MEMORY_GROWTH or more; the "Load (mixed workload)" section of
bench/RESULTS.md is replaced unless ``--no-results-file``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import sys
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common
import handoffs as handoffs_bench
import httpx
import nearest as nearest_bench
import orjson
import tiles as tiles_bench
from common import log, percentile
from sqlalchemy import make_url, text

from service.api.state import DETAIL_CACHE_BYTES
from service.handoffs.centres import load_centres
from service.platform.settings import tile_settings

SECTION = "Load (mixed workload)"
TOKEN_COUNT = 128  # field workers
NAVIGATOR_COUNT = 8
NAVIGATOR_CENTRE = "211-ontario"  # the shipped centre (handoffs.ONTARIO_FILE); handoffs in Ontario go there
TILE_COUNT = 2000
HANDOFF_BODIES = 500
HANDOFF_RETRY_SHARE = 0.1  # of handoff creates: the same key and body again (a phone retrying a queued tap)
HTTP_TIMEOUT_S = 30.0
SAMPLE_EVERY_S = 10.0  # memory samples during the measured window
PROGRESS_EVERY_S = 15.0
GOAL_MEMORY_GROWTH = 0.10
# Priming (before the warm-up): each tile URL is fetched this often on a fresh connection, so
# every worker very likely caches it ((1/2)^6 = 1.6% miss per URL with 2 workers); service
# details are fetched until this many times the bytes every worker's detail cache holds.
PRIME_TILE_PASSES = 6
PRIME_DETAIL_CACHE_FILLS = 3
PRIME_CONCURRENCY = 16
QUEUE_FILTERS = ({}, {"urgency": "urgent"}, {"language": "fr"}, {"status": "requested"})

# Endpoint -> weight (share of requests, in %). Each has the statuses that count as success.
MIX: dict[str, float] = {
    "nearest": 30,
    "tile": 24,
    "tile revalidate": 10,
    "service detail": 20,
    "sync first page": 1.5,
    "sync next page": 3.5,
    "handoff create": 5,
    "navigator queue": 6,
}
EXPECTED: dict[str, frozenset[int]] = {
    "nearest": frozenset({200}),
    "tile": frozenset({200, 204}),  # 204: an empty tile (lake, parks)
    "tile revalidate": frozenset({304}),
    "service detail": frozenset({200}),
    "sync first page": frozenset({200}),
    "sync next page": frozenset({200}),
    "handoff create": frozenset({201}),
    "navigator queue": frozenset({200}),
}
# An endpoint that has nothing to work on yet (no ids, ETags or cursors seen) sends this instead.
FALLBACK = {"service detail": "nearest", "tile revalidate": "tile", "sync next page": "sync first page"}

# --pack-builds N (issue 15, 2): a second run of the same mix beside N clients that each build
# offline packs back to back, every POST a new area (a fresh build, never a reuse). A build
# refused with 503 pack-builds-busy is the queue working (counted, not an error); the client
# then waits its Retry-After, as a phone would.
PACK_SECTION = "Load with pack builds"
PACK_BUILD = "pack build"
PACK_BODIES = 2000
PACK_AREA_DEG = (0.12, 0.09)  # lon x lat, ~10 x 10 km around Toronto: z10-16 is ~770 tiles
PACK_ZOOMS = (10, 16)
PACK_TIMEOUT_S = 300.0
GOAL_P99_RATIO = 2.0  # handoff and nearest p99 with builds / without
EXPECTED[PACK_BUILD] = frozenset({200, 201})


# --------------------------------------------------------------------------- the plan


@dataclass
class Plan:
    """Everything the clients draw from, made before the server starts (same seed, same plan)."""

    nearest_paths: list[str]
    tile_urls: list[str]  # filled once the server's TileJSON is read
    tiles: list[tiles_bench.Tile]
    handoff_bodies: list[str]
    tokens: list[str]
    navigator_tokens: list[str]
    pack_bodies: list[str] = field(default_factory=list)  # distinct areas (--pack-builds)


def database_name(services: int) -> str:
    labels = {count: label for label, count in common.SIZES.items()}
    return f"bench_{labels[services]}" if services in labels else f"bench_load_{services}"


def prepare_database(services: int) -> tuple[str, dict]:
    """URL of the database with ``services`` demo services and the Ontario centre, and facts
    about it for the report."""
    cluster = common.start_bench_cluster()
    url = common.database_url(cluster, database_name(services))
    common.load_demo_services(url, services)
    public_sites, without_cells = tiles_bench.cluster_cells_missing(url)
    if without_cells:
        raise SystemExit(
            f"{without_cells:,} of {public_sites:,} public sites have no H3 cells (a database migrated past 0003 "
            f"by bench/common.py): run bench/tiles.py once, or `fieldnav db rebuild-sites` against it"
        )
    engine = common.loading_engine(url)
    try:
        load_centres(engine, handoffs_bench.ONTARIO_FILE)
        facts = {
            "database": make_url(url).database,
            "services": services,
            "sites": common.site_count(engine),
            "schema": common.schema_summary(engine)[0],
            "handoffs_before": handoff_count(engine),
        }
    finally:
        engine.dispose()
    return url, facts


def handoff_count(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT count(*) FROM handoff")).scalar_one()


def make_plan(url: str, seed: int) -> Plan:
    return Plan(
        nearest_paths=[query.path() for query in nearest_bench.make_query_mix(seed=seed)],
        tile_urls=[],
        tiles=tiles_bench.make_tile_set(url, TILE_COUNT, seed=seed + 1),
        handoff_bodies=handoffs_bench.bodies(HANDOFF_BODIES, seed=seed + 2),
        tokens=common.make_tokens(TOKEN_COUNT),
        navigator_tokens=common.make_tokens(
            NAVIGATOR_COUNT, role="navigator", agency=NAVIGATOR_CENTRE, subject_prefix="bench-navigator"
        ),
        pack_bodies=pack_bodies(PACK_BODIES, seed=seed + 3),
    )


def pack_bodies(count: int, seed: int) -> list[str]:
    """``count`` distinct pack requests around Toronto (where the demo data is densest): a
    seeded position each, so no two share a request key."""
    rng = random.Random(seed)
    width, height = PACK_AREA_DEG
    bodies: dict[str, None] = {}
    while len(bodies) < count:
        west, south = round(rng.uniform(-79.65, -79.2), 5), round(rng.uniform(43.58, 43.78), 5)
        bodies[
            orjson.dumps(
                {
                    "bbox": [west, south, round(west + width, 5), round(south + height, 5)],
                    "min_zoom": PACK_ZOOMS[0],
                    "max_zoom": PACK_ZOOMS[1],
                }
            ).decode()
        ] = None
    return list(bodies)


def tile_urls(base_url: str, token: str, tiles: list[tiles_bench.Tile]) -> tuple[list[str], str]:
    """The tiles as URLs of the server's TileJSON template (they carry ``v``), and the template."""
    status, document = common.get_json(base_url + "/v1/tiles.json", token=token)
    if status != 200:
        raise RuntimeError(f"GET /v1/tiles.json answered {status}: {document}")
    template = document["tiles"][0]
    return [
        template.replace("{z}", str(z)).replace("{x}", str(x)).replace("{y}", str(y)) for z, x, y in tiles
    ], template


# --------------------------------------------------------------------------- the clients


@dataclass(frozen=True)
class Sample:
    endpoint: str
    started_s: float  # time.monotonic()
    seconds: float
    status: str  # "200", or the exception's name ("ReadTimeout", "ConnectError", ...)
    ok: bool


@dataclass
class Workload:
    """The clients' shared memory of what they saw: service ids, ETags, sync cursors, handoffs
    sent. Every collection is bounded."""

    base_url: str
    plan: Plan
    requests_per_connection: int  # then the client reconnects (0: never)
    mix: dict[str, float]  # endpoint -> weight
    samples: list[Sample] = field(default_factory=list)
    service_ids: deque = field(default_factory=lambda: deque(maxlen=5000))
    etags: dict[str, str] = field(default_factory=dict)  # tile URL -> ETag (at most the tile set)
    etag_urls: list[str] = field(default_factory=list)
    cursors: deque = field(default_factory=lambda: deque(maxlen=256))
    handoffs_sent: deque = field(default_factory=lambda: deque(maxlen=64))  # (token, key, body)
    # What the server's in-process caches can hold: body size of each distinct tile URL and
    # service id answered 200 (a worker caches at most these; each worker its own copy).
    cacheable: dict[str, dict[str, int]] = field(default_factory=lambda: {"tile": {}, "service detail": {}})
    packs_sent: int = 0  # pack builds asked for (--pack-builds)

    def cacheable_now(self) -> dict[str, tuple[int, int]]:
        """{endpoint: (distinct bodies, their bytes)} so far."""
        return {name: (len(sizes), sum(sizes.values())) for name, sizes in self.cacheable.items()}

    async def run_client(self, seed: int, deadline_s: float) -> None:
        """One client until the deadline: a keep-alive connection, replaced by a new one after
        1 to 2 x ``requests_per_connection`` - 1 requests (a phone's session ends, another one
        starts). uvicorn's workers share one listening socket and whichever accepts first keeps
        the connection: the 16 connections opened at once at the start all go to one worker,
        and connections held for the whole run would leave the other idle."""
        rng = random.Random(seed)
        endpoints, weights = list(self.mix), list(self.mix.values())
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        while time.monotonic() < deadline_s:
            session = rng.randint(1, 2 * self.requests_per_connection - 1) if self.requests_per_connection else None
            async with httpx.AsyncClient(base_url=self.base_url, limits=limits, timeout=HTTP_TIMEOUT_S) as connection:
                sent = 0
                while time.monotonic() < deadline_s and (session is None or sent < session):
                    endpoint = self._available(rng.choices(endpoints, weights)[0])
                    await getattr(self, "_" + endpoint.replace(" ", "_"))(connection, rng)
                    sent += 1

    async def run_builder(self, index: int, deadline_s: float) -> None:
        """One client building offline packs back to back until the deadline, each POST a new
        area (the bodies are shared by the builders, taken in turn). On 503 pack-builds-busy
        it waits the Retry-After the server asked for, as a phone would."""
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=self.base_url, limits=limits, timeout=PACK_TIMEOUT_S) as client:
            while time.monotonic() < deadline_s:
                body = self.plan.pack_bodies[self.packs_sent % len(self.plan.pack_bodies)]
                self.packs_sent += 1
                token = self.plan.tokens[index % len(self.plan.tokens)]
                started_s = time.monotonic()
                try:
                    response = await client.post(
                        "/v1/offline/packs",
                        content=body,
                        headers={
                            "Authorization": f"Bearer {token}",
                            "Content-Type": "application/json",
                            "Connection": "close",
                        },
                    )
                except httpx.HTTPError as error:
                    self.samples.append(
                        Sample(PACK_BUILD, started_s, time.monotonic() - started_s, type(error).__name__, False)
                    )
                    continue
                status, ok, wait_s = str(response.status_code), response.status_code in EXPECTED[PACK_BUILD], 0.0
                if response.status_code == 503 and response.headers.get("content-type") == "application/problem+json":
                    slug = orjson.loads(response.content).get("type", "").rsplit("/", 1)[-1]
                    status = f"503 {slug}"
                    if slug == "pack-builds-busy":  # the queue saying no: expected, wait as asked
                        ok, wait_s = True, float(response.headers.get("retry-after", "5"))
                self.samples.append(Sample(PACK_BUILD, started_s, time.monotonic() - started_s, status, ok))
                if wait_s:
                    await asyncio.sleep(min(wait_s, max(0.0, deadline_s - time.monotonic())))

    def _available(self, endpoint: str) -> str:
        empty = {
            "service detail": not self.service_ids,
            "tile revalidate": not self.etag_urls,
            "sync next page": not self.cursors,
        }
        return self._available(FALLBACK[endpoint]) if empty.get(endpoint) else endpoint

    async def _send(
        self,
        connection: httpx.AsyncClient,
        endpoint: str,
        method: str,
        url: str,
        token: str,
        headers: dict | None = None,
        content: str | None = None,
    ) -> httpx.Response | None:
        """One request, timed and recorded; the response when its status is expected."""
        started_s = time.monotonic()
        try:
            response = await connection.request(
                method, url, headers={"Authorization": f"Bearer {token}", **(headers or {})}, content=content
            )
        except httpx.HTTPError as error:
            self.samples.append(Sample(endpoint, started_s, time.monotonic() - started_s, type(error).__name__, False))
            return None
        ok = response.status_code in EXPECTED[endpoint]
        self.samples.append(Sample(endpoint, started_s, time.monotonic() - started_s, str(response.status_code), ok))
        return response if ok else None

    def _token(self, rng: random.Random) -> str:
        return rng.choice(self.plan.tokens)

    async def _nearest(self, connection: httpx.AsyncClient, rng: random.Random) -> None:
        response = await self._send(connection, "nearest", "GET", rng.choice(self.plan.nearest_paths), self._token(rng))
        if response is not None:
            self.service_ids.extend(r["service_id"] for r in orjson.loads(response.content)["results"])

    async def _tile(self, connection: httpx.AsyncClient, rng: random.Random) -> None:
        url = rng.choice(self.plan.tile_urls)
        response = await self._send(connection, "tile", "GET", url, self._token(rng))
        if response is not None and response.status_code == 200:
            self.cacheable["tile"][url] = len(response.content)
        etag = response.headers.get("etag") if response is not None else None
        if etag:
            if url not in self.etags:
                self.etag_urls.append(url)
            self.etags[url] = etag

    async def _tile_revalidate(self, connection: httpx.AsyncClient, rng: random.Random) -> None:
        url = rng.choice(self.etag_urls)
        await self._send(
            connection, "tile revalidate", "GET", url, self._token(rng), headers={"If-None-Match": self.etags[url]}
        )

    async def _service_detail(self, connection: httpx.AsyncClient, rng: random.Random) -> None:
        service_id = rng.choice(self.service_ids)
        response = await self._send(connection, "service detail", "GET", f"/v1/services/{service_id}", self._token(rng))
        if response is not None:
            self.cacheable["service detail"][service_id] = len(response.content)

    async def _sync(self, connection: httpx.AsyncClient, endpoint: str, url: str, rng: random.Random) -> None:
        response = await self._send(connection, endpoint, "GET", url, self._token(rng))
        if response is not None:
            page = orjson.loads(response.content)
            if page["has_more"]:
                self.cursors.append(page["next_cursor"])

    async def _sync_first_page(self, connection: httpx.AsyncClient, rng: random.Random) -> None:
        await self._sync(connection, "sync first page", "/v1/sync/services", rng)

    async def _sync_next_page(self, connection: httpx.AsyncClient, rng: random.Random) -> None:
        cursor = self.cursors.popleft()  # each cursor followed once, as one phone would
        await self._sync(connection, "sync next page", f"/v1/sync/services?cursor={cursor}", rng)

    async def _handoff_create(self, connection: httpx.AsyncClient, rng: random.Random) -> None:
        if self.handoffs_sent and rng.random() < HANDOFF_RETRY_SHARE:
            token, key, body = rng.choice(self.handoffs_sent)
        else:
            token, key, body = self._token(rng), str(uuid.uuid4()), rng.choice(self.plan.handoff_bodies)
        headers = {"Content-Type": "application/json", "Idempotency-Key": key}
        if (
            await self._send(connection, "handoff create", "POST", "/v1/handoffs", token, headers=headers, content=body)
            is not None
        ):
            self.handoffs_sent.append((token, key, body))

    async def _navigator_queue(self, connection: httpx.AsyncClient, rng: random.Random) -> None:
        query = "&".join(f"{k}={v}" for k, v in {**rng.choice(QUEUE_FILTERS), "limit": 50}.items())
        await self._send(
            connection, "navigator queue", "GET", f"/v1/navigator/queue?{query}", rng.choice(self.plan.navigator_tokens)
        )


# --------------------------------------------------------------------------- priming


@dataclass
class Priming:
    requests: int = 0
    failures: Counter = field(default_factory=Counter)  # "endpoint status" -> count
    seconds: float = 0.0
    detail_ids: int = 0


async def prime_caches(workload: Workload, workers: int) -> Priming:
    """Bring the workers' bounded caches to their steady state before memory is measured: every
    nearest query of the plan once (which also gives the pool of service ids the details are
    drawn from), every tile URL PRIME_TILE_PASSES times, and service details until each
    worker's detail cache has been filled PRIME_DETAIL_CACHE_FILLS times over. Every request
    goes on a fresh connection (``Connection: close``), so they spread over the workers. What
    grows after this is not a cache filling up."""
    started_s, priming = time.monotonic(), Priming()
    limits = httpx.Limits(max_connections=PRIME_CONCURRENCY, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=workload.base_url, limits=limits, timeout=HTTP_TIMEOUT_S) as client:

        async def fetch(endpoint: str, url: str, token: str) -> httpx.Response | None:
            priming.requests += 1
            try:
                response = await client.get(url, headers={"Authorization": f"Bearer {token}", "Connection": "close"})
            except httpx.HTTPError as error:
                priming.failures[f"{endpoint} {type(error).__name__}"] += 1
                return None
            if response.status_code not in EXPECTED[endpoint]:
                priming.failures[f"{endpoint} {response.status_code}"] += 1
                return None
            return response

        async def run_all(jobs) -> list:
            gate = asyncio.Semaphore(PRIME_CONCURRENCY)

            async def one(job):
                async with gate:
                    return await fetch(*job)

            return await asyncio.gather(*(one(job) for job in jobs))

        tokens = workload.plan.tokens
        pool: dict[str, None] = {}
        log(f"priming: {len(workload.plan.nearest_paths):,} nearest queries")
        for response in await run_all(
            [("nearest", path, tokens[i % len(tokens)]) for i, path in enumerate(workload.plan.nearest_paths)]
        ):
            if response is not None:
                pool.update((r["service_id"], None) for r in orjson.loads(response.content)["results"])
        distinct_urls = list(dict.fromkeys(workload.plan.tile_urls))
        log(f"priming: {len(distinct_urls):,} tile URLs x {PRIME_TILE_PASSES}")
        await run_all(
            [("tile", url, tokens[i % len(tokens)]) for i, url in enumerate(distinct_urls * PRIME_TILE_PASSES)]
        )
        ids = list(pool)
        random.Random(len(ids)).shuffle(ids)
        wanted_bytes, fetched_bytes, batch = PRIME_DETAIL_CACHE_FILLS * DETAIL_CACHE_BYTES * workers, 0, 0
        while fetched_bytes < wanted_bytes and batch * 500 < len(ids):
            chunk = ids[batch * 500 : (batch + 1) * 500]
            batch += 1
            responses = await run_all(
                [("service detail", f"/v1/services/{sid}", tokens[i % len(tokens)]) for i, sid in enumerate(chunk)]
            )
            fetched_bytes += sum(len(r.content) for r in responses if r is not None)
        priming.detail_ids = min(len(ids), batch * 500)
        log(f"priming: {priming.detail_ids:,} service details ({fetched_bytes / 1e6:.1f} MB)")
    # The measured clients draw details from the ids the priming used.
    workload.service_ids = deque(ids[: priming.detail_ids], maxlen=max(5000, priming.detail_ids))
    priming.seconds = time.monotonic() - started_s
    return priming


# --------------------------------------------------------------------------- memory and CPU of the workers


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process so far (0 when it is gone)."""
    fields = common.proc_stat_fields(pid)
    if fields is None:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_cpu_seconds() -> dict[int, tuple[float, str]]:
    """{pid: (CPU seconds so far, command line)} of every process on the machine."""
    processes = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            processes[int(entry.name)] = (cpu_seconds(int(entry.name)), command)
    return processes


def cpu_by_owner(
    before: dict[int, tuple[float, str]],
    after: dict[int, tuple[float, str]],
    workers: set[int],
    database: str,
    busy_cpu_s: float,
) -> dict[str, float]:
    """CPU seconds used between two process_cpu_seconds() by the workers, this load generator,
    the PostgreSQL backends of ``database``, and everything else (the machine's busy time minus
    those three, so processes that came and went are counted too)."""
    used: Counter = Counter()
    for pid, (seconds, command) in after.items():
        if pid in workers:
            owner = "workers"
        elif pid == os.getpid():
            owner = "load generator"
        elif command.startswith("postgres:") and f" {database} " in command:
            owner = "PostgreSQL"
        else:
            continue
        used[owner] += seconds - before.get(pid, (0.0, ""))[0]  # a process started meanwhile: all of its time
    used["everything else"] = max(0.0, busy_cpu_s - sum(used.values()))
    return dict(used)


@dataclass
class WorkerTrace:
    pid: int
    after_warmup: dict[str, int]  # KiB, common.process_memory_kib
    at_end: dict[str, int] = field(default_factory=dict)
    rss_series_kib: list[int] = field(default_factory=list)  # VmRSS after warm-up, every SAMPLE_EVERY_S, at the end
    cpu_after_warmup_s: float = 0.0
    cpu_at_end_s: float = 0.0

    @property
    def growth(self) -> float:
        before, after = self.after_warmup.get("VmRSS"), self.at_end.get("VmRSS")
        return float("nan") if not before or after is None else (after - before) / before

    def grew_kib(self, name: str) -> int:
        return self.at_end.get(name, 0) - self.after_warmup.get(name, 0)


def sample_workers(traces: list[WorkerTrace]) -> None:
    for trace in traces:
        trace.rss_series_kib.append(common.process_memory_kib(trace.pid).get("VmRSS", 0))


# --------------------------------------------------------------------------- one run


@dataclass
class Run:
    samples: list[Sample]
    warm_end_s: float
    end_s: float
    workers: list[WorkerTrace]
    workers_at_end: list[int]
    client_cpu_s: float
    tile_template: str
    distinct_service_ids: int
    etags_known: int
    cacheable_after_warmup: dict[str, tuple[int, int]]
    cacheable_at_end: dict[str, tuple[int, int]]
    server_log: Path = Path()
    machine_busy: float = float("nan")  # share of all CPUs busy during the measured window (everyone's work)
    cpu_owners: dict[str, float] = field(default_factory=dict)  # CPU seconds in the measured window, cpu_by_owner
    priming: Priming = field(default_factory=Priming)
    workload: Workload | None = None  # what the clients saw (a following run goes on from it)


async def drive(
    plan: Plan, base_url: str, master_pid: int, database: str, args, *, builders: int = 0, previous: Run | None = None
) -> Run:
    """One run: priming (unless ``previous``, whose warm caches and seen ids, ETags and cursors
    this run goes on from), warm-up, measured window; ``builders`` pack-building clients beside
    the mix (--pack-builds)."""
    workload = Workload(base_url, plan, args.requests_per_connection, args.mix)
    if previous is not None and previous.workload is not None:
        before = previous.workload
        workload.service_ids, workload.etags, workload.etag_urls = before.service_ids, before.etags, before.etag_urls
        workload.cursors, workload.handoffs_sent, workload.packs_sent = (
            before.cursors,
            before.handoffs_sent,
            before.packs_sent,
        )
    priming = await prime_caches(workload, args.workers) if args.prime and previous is None else Priming()
    if priming.failures:
        log(f"priming failures: {dict(priming.failures)}")
    started_s = time.monotonic()
    warm_end_s = started_s + args.warmup_s
    end_s = warm_end_s + args.duration_s
    usage_before = resource.getrusage(resource.RUSAGE_SELF)
    clients = [asyncio.create_task(workload.run_client(args.seed * 1000 + i, end_s)) for i in range(args.concurrency)]
    clients += [asyncio.create_task(workload.run_builder(i, end_s)) for i in range(builders)]
    if builders:
        log(f"{builders} clients building offline packs beside the mix")
    log(f"warm-up {args.warmup_s:.0f} s, {args.concurrency} clients")
    await _progress_until(warm_end_s, workload, "warm-up")
    traces = [
        WorkerTrace(pid, common.process_memory_kib(pid), cpu_after_warmup_s=cpu_seconds(pid))
        for pid in common.worker_pids(master_pid)
    ]
    sample_workers(traces)
    cacheable_after_warmup = workload.cacheable_now()
    cpu_before, processes_before = tiles_bench._cpu_times(), process_cpu_seconds()
    sizes = ", ".join(f"{t.pid}: {_mb(t.after_warmup.get('VmRSS', 0))} MB" for t in traces)
    log(f"measuring {args.duration_s:.0f} s; worker RSS {sizes}")
    next_sample_s = warm_end_s + SAMPLE_EVERY_S
    while next_sample_s < end_s:
        await _progress_until(next_sample_s, workload, "measuring")
        sample_workers(traces)
        next_sample_s += SAMPLE_EVERY_S
    await _progress_until(end_s, workload, "measuring")
    for trace in traces:
        trace.at_end = common.process_memory_kib(trace.pid)
        trace.cpu_at_end_s = cpu_seconds(trace.pid)
    sample_workers(traces)
    cacheable_at_end = workload.cacheable_now()
    (total_before, idle_before), (total_after, idle_after) = cpu_before, tiles_bench._cpu_times()
    machine_busy = 1 - (idle_after - idle_before) / max(1, total_after - total_before)
    cpu_owners = cpu_by_owner(
        processes_before,
        process_cpu_seconds(),
        {t.pid for t in traces},
        database,
        machine_busy * args.duration_s * (os.cpu_count() or 1),
    )
    workers_at_end = common.worker_pids(master_pid)
    await asyncio.gather(*clients)  # the requests in flight at the deadline (bounded by the timeout)
    usage_after = resource.getrusage(resource.RUSAGE_SELF)
    client_cpu_s = (usage_after.ru_utime + usage_after.ru_stime) - (usage_before.ru_utime + usage_before.ru_stime)
    return Run(
        workload.samples,
        warm_end_s,
        end_s,
        traces,
        workers_at_end,
        client_cpu_s,
        "",
        len(set(workload.service_ids)),
        len(workload.etags),
        cacheable_after_warmup,
        cacheable_at_end,
        machine_busy=machine_busy,
        cpu_owners=cpu_owners,
        priming=priming,
        workload=workload,
    )


async def _progress_until(when_s: float, workload: Workload, phase: str) -> None:
    while (left_s := when_s - time.monotonic()) > 0:
        await asyncio.sleep(min(left_s, PROGRESS_EVERY_S))
        if time.monotonic() < when_s:
            errors = sum(not s.ok for s in workload.samples)
            log(f"  {phase}: {len(workload.samples):,} requests so far, {errors} errors")


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class EndpointStats:
    endpoint: str
    requests: int
    rate: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    statuses: dict[str, int]


def endpoint_stats(name: str, samples: list[Sample], duration_s: float) -> EndpointStats:
    latencies_ms = [s.seconds * 1000 for s in samples]
    return EndpointStats(
        name,
        len(samples),
        len(samples) / duration_s,
        percentile(latencies_ms, 0.5),
        percentile(latencies_ms, 0.99),
        max(latencies_ms, default=float("nan")),
        sum(not s.ok for s in samples),
        dict(sorted(Counter(s.status for s in samples).items())),
    )


def summarise(run: Run, duration_s: float, endpoints) -> tuple[list[EndpointStats], EndpointStats, list[Sample]]:
    """(per endpoint, total) over the requests started in the measured window, and the
    warm-up's failed requests."""
    measured = [s for s in run.samples if run.warm_end_s <= s.started_s < run.end_s]
    rows = [endpoint_stats(name, [s for s in measured if s.endpoint == name], duration_s) for name in endpoints]
    warmup_failures = [s for s in run.samples if s.started_s < run.warm_end_s and not s.ok]
    return [r for r in rows if r.requests], endpoint_stats("total", measured, duration_s), warmup_failures


def _ms(value: float) -> str:
    return f"{value:.1f}" if value < 1000 else f"{value:.0f}"


def _statuses(statuses: dict[str, int]) -> str:
    return ", ".join(f"{status}: {count:,}" for status, count in statuses.items())


def endpoint_table(rows: list[EndpointStats], total: EndpointStats, mix: dict[str, float]) -> str:
    lines = [
        "| endpoint | share (mix) | requests | req/s | p50 ms | p99 ms | max ms | errors | statuses |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.endpoint} | {100 * mix.get(r.endpoint, 0) / sum(mix.values()):.3g}% | {r.requests:,} | {r.rate:.1f} | {_ms(r.p50_ms)} | {_ms(r.p99_ms)} | "
            f"{_ms(r.max_ms)} | {r.errors} | {_statuses(r.statuses)} |"
        )
    lines.append(
        f"| **total** | 100% | {total.requests:,} | **{total.rate:.1f}** | {_ms(total.p50_ms)} | {_ms(total.p99_ms)} | "
        f"{_ms(total.max_ms)} | **{total.errors}** | |"
    )
    return "\n".join(lines)


def _mb(kib: int) -> str:
    return f"{kib / 1024:.1f}"


def memory_table(run: Run, duration_s: float) -> str:
    lines = [
        "| worker pid | RSS after warm-up MB | RSS at end MB | growth | heap (RssAnon) MB, change | file-backed (RssFile) MB, change | "
        "peak (VmHWM) MB | CPU (measured window) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for t in run.workers:
        cpu = (t.cpu_at_end_s - t.cpu_after_warmup_s) / duration_s
        lines.append(
            f"| {t.pid} | {_mb(t.after_warmup.get('VmRSS', 0))} | {_mb(t.at_end.get('VmRSS', 0))} | **{t.growth:+.1%}** | "
            f"{_mb(t.at_end.get('RssAnon', 0))}, {t.grew_kib('RssAnon') / 1024:+.1f} | "
            f"{_mb(t.at_end.get('RssFile', 0))}, {t.grew_kib('RssFile') / 1024:+.1f} | {_mb(t.at_end.get('VmHWM', 0))} | {cpu:.0%} |"
        )
    return "\n".join(lines)


def max_growth(run: Run) -> float:
    return max((t.growth for t in run.workers), default=float("nan"))


def goals(run: Run, total: EndpointStats, warmup_failures: list[Sample]) -> tuple[bool, str]:
    priming_failures = sum(run.priming.failures.values())
    errors = total.errors + len(warmup_failures) + priming_failures
    growth = max_growth(run)
    restarted = sorted(set(run.workers_at_end) ^ {t.pid for t in run.workers})
    errors_ok, memory_ok = errors == 0, growth < GOAL_MEMORY_GROWTH and not restarted
    lines = [
        f"- errors: **{total.errors}** in the measured window, {len(warmup_failures)} in the warm-up, {priming_failures} "
        f"while priming (goal: 0): "
        f"{'met' if errors_ok else 'NOT met'}",
        f"- worker memory growth after warm-up: max **{growth:+.1%}** (goal: under {GOAL_MEMORY_GROWTH:.0%}): "
        f"{'met' if memory_ok else 'NOT met'}",
    ]
    if restarted:
        lines.append(f"- **worker processes changed during the run** (died or restarted): {restarted}")
    return errors_ok and memory_ok, "\n".join(lines)


def _priming_text(priming: Priming) -> str:
    if not priming.requests:
        return "Priming: skipped (`--no-prime`): the memory growth includes the caches filling up."
    return (
        f"Priming (before the warm-up, so the bounded caches are at their steady state when memory is first read): "
        f"{priming.requests:,} requests in {priming.seconds:.0f} s, each on a fresh connection: every nearest query once, "
        f"every tile URL {PRIME_TILE_PASSES} times, {priming.detail_ids:,} service details (then the pool details are drawn "
        f"from); failures: {dict(priming.failures) or 'none'}."
    )


def _owners_text(run: Run, duration_s: float) -> str:
    capacity_s = duration_s * (os.cpu_count() or 1)
    parts = [f"{owner} {seconds / capacity_s:.0%}" for owner, seconds in run.cpu_owners.items()]
    return f"busy {run.machine_busy:.0%}: " + ", ".join(parts)


def _log_text(path: Path) -> str:
    problems = server_log_problems(path)
    return (
        "; ".join(f"{count} x {line}" for line, count in problems.most_common(5))
        if problems
        else "nothing but routine info lines"
    )


def _cacheable_text(run: Run) -> str:
    parts = []
    for name, (count_before, bytes_before) in run.cacheable_after_warmup.items():
        count_after, bytes_after = run.cacheable_at_end[name]
        parts.append(
            f"{name}: {count_before:,} ({_mb(bytes_before // 1024)} MB) after the warm-up, {count_after:,} "
            f"({_mb(bytes_after // 1024)} MB) at the end, {(bytes_after - bytes_before) / 1024**2:+.1f} MB"
        )
    return "; ".join(parts)


def _settings_text(server_env: dict[str, str]) -> str:
    defaults = f"pool of 10 connections and a {tile_settings().cache_bytes / 1024**2:.0f} MB tile cache per worker"
    if not server_env:
        return "default settings: " + defaults
    return (
        "settings changed for diagnosis: "
        + ", ".join(f"`{k}={v}`" for k, v in server_env.items())
        + "; else "
        + defaults
    )


def _connection_text(requests_per_connection: int) -> str:
    if not requests_per_connection:
        return "one connection per client for the whole run"
    return (
        f"a new connection after {requests_per_connection} requests on average, uniformly 1 to {2 * requests_per_connection - 1}, "
        f"so connections spread over the workers: they share one listening socket and the first to accept keeps "
        f"the connection, so the connections opened at once at the start all land on one worker"
    )


def server_log_problems(path: Path) -> Counter:
    """Lines of the server's log that are not routine: warnings, errors, tracebacks, workers
    that died (uvicorn restarts them)."""
    problems: Counter = Counter()
    for line in path.read_text(errors="replace").splitlines():
        if '"level":"info"' not in line and '"level":"debug"' not in line:
            problems["not info: " + line[:160]] += 1
        elif "died" in line or "Traceback" in line:
            problems[line.split('"message":', 1)[-1][:120]] += 1
    return problems


def report(
    run: Run,
    facts: dict,
    args,
    rows: list[EndpointStats],
    total: EndpointStats,
    warmup_failures: list[Sample],
    goals_text: str,
    handoffs_after: int,
) -> str:
    mix = ", ".join(f"{name} {100 * weight / sum(args.mix.values()):.3g}%" for name, weight in args.mix.items())
    series = "; ".join(f"{t.pid}: {', '.join(f'{kib / 1024:.0f}' for kib in t.rss_series_kib)}" for t in run.workers)
    warmup_errors = Counter(f"{s.endpoint} {s.status}" for s in warmup_failures)
    changed = common.changed_files(args.code_at_start, common.code_snapshot())
    change_note = (
        f"\n\n**The application code changed during this run**: {', '.join(f'`{p}`' for p in changed)}."
        if changed
        else ""
    )
    return f"""
Date: {args.started_at.strftime("%Y-%m-%d %H:%M %Z")} — code at {args.revision_at_start}, fingerprint {common.code_fingerprint(args.code_at_start)}{change_note}

Command: `{args.command}`

Data set: database `{facts["database"]}` in `.fieldnav/bench-db`: {facts["services"]:,} demo services ({facts["sites"]:,} sites),
schema `{facts["schema"]}`; navigator centre `{NAVIGATOR_CENTRE}` loaded; handoffs in the database: {facts["handoffs_before"]:,} before
the run, {handoffs_after:,} after (each run adds its creates; the navigator queue reads the open ones).

Server: `fieldnav serve --workers {args.workers}` on 127.0.0.1 ({_settings_text(args.server_env)}; rate limit raised to
10^9/min, still counted on every request). Tokens: {TOKEN_COUNT} field workers, {NAVIGATOR_COUNT} navigators of `{NAVIGATOR_CENTRE}`
(the bench home's signing key).

Machine: {common.machine_summary()}; load average at start {args.load_at_start}, at end {common.load_average()}.
Everything shares these CPUs: PostgreSQL, the uvicorn workers and the load generator (one Python process,
{run.client_cpu_s / (run.end_s - run.warm_end_s + args.warmup_s):.0%} of one CPU on average over the run). CPU time in the measured window, as a share of
all {os.cpu_count()} CPUs: {_owners_text(run, args.duration_s)} (everything else: the kernel's interrupt and network
time, time stolen by the VM host, PostgreSQL's background processes, other sessions' jobs).

Load: asyncio + httpx, {args.concurrency} clients, each sending back to back on its own keep-alive connection
({_connection_text(args.requests_per_connection)}),
{args.warmup_s:.0f} s warm-up then {args.duration_s:.0f} s measured (seed {args.seed}). Mix: {mix}.
Nearest: bench/nearest.py's query list; tiles: bench/tiles.py's Toronto set ({TILE_COUNT:,} tiles, z10-z16) as URLs of the
TileJSON template (`{run.tile_template}`), revalidations with the ETag seen for that tile; details: ids from nearest
results ({run.distinct_service_ids:,} distinct seen); sync: first pages and follow-ups of their `next_cursor`; handoffs: bench/handoffs.py's
bodies, a new Idempotency-Key each, {HANDOFF_RETRY_SHARE:.0%} retries of an earlier key and body (replayed 201); queue: `limit=50`,
filters none / urgent / fr / requested. Latency is client-side (request sent to body read), in Python: it includes
the load generator's own scheduling on these shared CPUs. Requests counted by start time in the measured window.
Errors: any status but the endpoint's expected one(s) (200; tile 200/204; revalidate 304; handoff 201), connection errors, timeouts ({HTTP_TIMEOUT_S:.0f} s).

{endpoint_table(rows, total, args.mix)}

{_priming_text(run.priming)}
Warm-up: {sum(1 for s in run.samples if s.started_s < run.warm_end_s):,} requests, failures: {dict(warmup_errors) or "none"}.
Server log (`bench/out/{run.server_log.name}`): {_log_text(run.server_log)}.

Worker memory (`/proc/<pid>/status`), after the warm-up and at the end of the measured window:

{memory_table(run, args.duration_s)}

RSS (MB) after the warm-up, every {SAMPLE_EVERY_S:.0f} s, at the end: {series}.

Cacheable bodies the clients received (distinct tile URLs answered 200, distinct service details; each worker
caches at most these, uncompressed, in its tile cache and its 16 MB detail cache): {_cacheable_text(run)}.

### Goals

{goals_text}
"""


def results_json(
    run: Run, facts: dict, args, rows: list[EndpointStats], total: EndpointStats, warmup_failures: list[Sample]
) -> dict:
    return {
        "command": args.command,
        "started_at": args.started_at.isoformat(),
        "data_set": facts,
        "workers": args.workers,
        "concurrency": args.concurrency,
        "warmup_s": args.warmup_s,
        "duration_s": args.duration_s,
        "mix": args.mix,
        "endpoints": [r.__dict__ for r in rows],
        "total": total.__dict__,
        "warmup_failures": dict(Counter(f"{s.endpoint} {s.status}" for s in warmup_failures)),
        "memory": [
            {
                "pid": t.pid,
                "after_warmup_kib": t.after_warmup,
                "at_end_kib": t.at_end,
                "growth": t.growth,
                "rss_series_kib": t.rss_series_kib,
                "cpu_s": t.cpu_at_end_s - t.cpu_after_warmup_s,
            }
            for t in run.workers
        ],
        "max_memory_growth": max_growth(run),
        "client_cpu_s": run.client_cpu_s,
        "machine_busy": run.machine_busy,
        "cpu_seconds_by_owner": run.cpu_owners,
        "cacheable_after_warmup": run.cacheable_after_warmup,
        "cacheable_at_end": run.cacheable_at_end,
    }


# --------------------------------------------------------------------------- with pack builds (--pack-builds)


async def _sample_builds_running(engine, until_s: float, every_s: float = 1.0) -> list[int]:
    """Builds holding a database-wide slot (service/maps/packs/queue.py), sampled until ``until_s``."""
    from service.maps.packs.queue import builds_running

    def sample() -> int:
        with engine.connect() as connection:
            return builds_running(connection)

    counts = []
    while time.monotonic() < until_s:
        counts.append(await asyncio.to_thread(sample))
        await asyncio.sleep(every_s)
    return counts


def _pack_rounds(args, plan: Plan, server, database: str, engine) -> list[tuple[Run, Run, list[int]]]:
    async def rounds() -> list[tuple[Run, Run, list[int]]]:
        out, previous = [], None
        for number in range(1, args.pack_rounds + 1):
            log(f"round {number}/{args.pack_rounds}: the mix alone")
            alone = await drive(plan, server.base_url, server.process.pid, database, args, previous=previous)
            log(f"round {number}/{args.pack_rounds}: the mix beside {args.pack_builds} pack builders")
            sampler = asyncio.create_task(
                _sample_builds_running(engine, time.monotonic() + args.warmup_s + args.duration_s)
            )
            beside = await drive(
                plan, server.base_url, server.process.pid, database, args, builders=args.pack_builds, previous=alone
            )
            out.append((alone, beside, await sampler))
            previous = beside
        return out

    return asyncio.run(rounds())


def _median(values: list[float]) -> float:
    return common.median(values) if values else float("nan")


def pack_report(args, facts: dict, rounds: list[tuple[Run, Run, list[int]]], server_log: Path) -> tuple[bool, str]:
    endpoints = [name for name in args.mix if args.mix[name]]
    per_round = []
    for alone, beside, running in rounds:
        rows_alone = {r.endpoint: r for r in summarise(alone, args.duration_s, EXPECTED)[0]}
        rows_beside = {r.endpoint: r for r in summarise(beside, args.duration_s, EXPECTED)[0]}
        per_round.append((rows_alone, rows_beside, running))
    lines = [
        "| endpoint | requests alone / beside builds | p50 ms alone | p50 ms beside | p99 ms alone | p99 ms beside | "
        "**p99 ratio** | errors alone / beside |",
        "|---|---|---|---|---|---|---|---|",
    ]
    ratios: dict[str, float] = {}
    for name in endpoints:
        alone = [rows[0][name] for rows in per_round if name in rows[0]]
        beside = [rows[1][name] for rows in per_round if name in rows[1]]
        if not alone or not beside:
            continue
        p99_alone, p99_beside = _median([r.p99_ms for r in alone]), _median([r.p99_ms for r in beside])
        ratios[name] = p99_beside / p99_alone
        lines.append(
            f"| {name} | {sum(r.requests for r in alone):,} / {sum(r.requests for r in beside):,} | "
            f"{_ms(_median([r.p50_ms for r in alone]))} | {_ms(_median([r.p50_ms for r in beside]))} | "
            f"{_ms(p99_alone)} | {_ms(p99_beside)} | **{ratios[name]:.2f}** | "
            f"{sum(r.errors for r in alone)} / {sum(r.errors for r in beside)} |"
        )
    builds = [rows[1].get(PACK_BUILD) for rows in per_round]
    builds = [b for b in builds if b is not None]
    statuses: Counter = Counter()
    for b in builds:
        statuses.update(b.statuses)
    running = [count for _, _, samples in rounds for count in samples]
    goal_lines, ok = [], True
    for name in ("nearest", "handoff create"):
        met = name in ratios and ratios[name] <= GOAL_P99_RATIO
        ok = ok and met
        goal_lines.append(
            f"- {name} p99 beside {args.pack_builds} builds / alone: **{ratios.get(name, float('nan')):.2f}** "
            f"(goal: at most {GOAL_P99_RATIO:g}): {'met' if met else 'NOT met'}"
        )
    errors = sum(r.errors for rows in per_round for side in rows[:2] for r in side.values())
    goal_lines.append(f"- errors (any status but the expected ones; a 503 pack-builds-busy is expected): **{errors}**")
    ok = ok and errors == 0
    per_round_ratios = "; ".join(
        f"round {i}: "
        + ", ".join(
            f"{n} {rows[1][n].p99_ms / rows[0][n].p99_ms:.2f}"
            for n in ("nearest", "handoff create")
            if n in rows[0] and n in rows[1]
        )
        for i, rows in enumerate(per_round, 1)
    )
    build_text = (
        f"{sum(b.requests for b in builds):,} build requests started in the measured windows "
        f"({_statuses(dict(sorted(statuses.items())))}), p50 {_ms(_median([b.p50_ms for b in builds]))} ms, "
        f"p99 {_ms(_median([b.p99_ms for b in builds]))} ms (queue wait included)"
        if builds
        else "none"
    )
    settings = ", ".join(f"`{k}={v}`" for k, v in args.server_env.items()) or "none"
    body = f"""
Date: {args.started_at.strftime("%Y-%m-%d %H:%M %Z")} — code at {args.revision_at_start}, fingerprint {common.code_fingerprint(args.code_at_start)}

Command: `{args.command}`

Data set: database `{facts["database"]}` in `.fieldnav/bench-db`: {facts["services"]:,} demo services ({facts["sites"]:,} sites),
schema `{facts["schema"]}`.

Server: `fieldnav serve --workers {args.workers}` on 127.0.0.1, pack queue at its defaults (per worker 2 builds, 8 waiting
for up to 30 s; 4 at once database-wide; the packs' own pool of 6 per worker; the requests' pool of 10), packs in a scratch
folder (removed after, with their rows); other settings changed: {settings}.

Machine: {common.machine_summary()}; load average at start {args.load_at_start}, at end {common.load_average()}.

Load: the default mix ({args.concurrency} clients, {args.warmup_s:.0f} s warm-up, {args.duration_s:.0f} s measured), alone, then beside
{args.pack_builds} clients each building offline packs back to back (a new {PACK_AREA_DEG[0]}° x {PACK_AREA_DEG[1]}° area around Toronto each time,
z{PACK_ZOOMS[0]}-{PACK_ZOOMS[1]}: a fresh build, never a reuse; on 503 pack-builds-busy a client waits its Retry-After), the same server,
{args.pack_rounds} round(s) of the two (medians over rounds below). Latency is client-side.

{chr(10).join(lines)}

Pack builds beside the mix: {build_text}. Builds holding a database-wide slot, sampled every second: max {max(running, default=0)},
mean {sum(running) / max(1, len(running)):.1f}. Per-round p99 ratios: {per_round_ratios}.
Server log (`bench/out/{server_log.name}`): {_log_text(server_log)}.

### Goals

{chr(10).join(goal_lines)}
"""
    return ok, body


def run_with_pack_builds(args, url: str, facts: dict, plan: Plan) -> int:
    """--pack-builds: the mix alone and beside pack builders on one server (issue 15, 2)."""
    import shutil

    pack_dir = common.BENCH_OUT_DIR / f"packs-{os.getpid()}"
    env = {"FIELDNAV_PACKS_DIR": str(pack_dir), "FIELDNAV_LIMIT_EXPENSIVE_PER_MIN": "1000000000", **args.server_env}
    engine = common.loading_engine(url)
    try:
        with common.fieldnav_server(
            url, workers=args.workers, label=f"load-packs-w{args.workers}", extra_env=env
        ) as server:
            plan.tile_urls, _ = tile_urls(server.base_url, plan.tokens[0], plan.tiles)
            rounds = _pack_rounds(args, plan, server, facts["database"], engine)
            server_log = server.log_path
        with engine.begin() as connection:  # the packs built here: not the bench data's
            removed = connection.execute(
                text("DELETE FROM offline_pack WHERE created_at >= :start"), {"start": args.started_at}
            ).rowcount
        log(f"removed the {removed} packs built by the run")
    finally:
        engine.dispose()
        shutil.rmtree(pack_dir, ignore_errors=True)
    ok, body = pack_report(args, facts, rounds, server_log)
    print(body)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                [
                    {
                        "alone": [r.__dict__ for r in summarise(a, args.duration_s, EXPECTED)[0]],
                        "beside_builds": [r.__dict__ for r in summarise(b, args.duration_s, EXPECTED)[0]],
                        "builds_running": running,
                    }
                    for a, b, running in rounds
                ],
                indent=2,
                default=str,
            )
        )
    if not args.no_results_file:
        common.replace_results_section(PACK_SECTION, body)
        log(f"wrote the {PACK_SECTION} section of {common.RESULTS_FILE}")
    return 0 if ok else 1


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--services", type=int, default=100_000, help="demo services in the database (100000: bench_100k)"
    )
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--concurrency", type=int, default=16, help="clients sending at once")
    parser.add_argument("--warmup-s", type=float, default=15.0)
    parser.add_argument("--duration-s", type=float, default=60.0, help="measured seconds after the warm-up")
    parser.add_argument(
        "--requests-per-connection",
        type=int,
        default=100,
        help="a client reconnects after this many requests on average (0: one connection for the whole run)",
    )
    parser.add_argument("--seed", type=int, default=20262)
    parser.add_argument(
        "--no-prime",
        dest="prime",
        action="store_false",
        help="skip priming the caches before the warm-up (memory growth then includes caches filling)",
    )
    parser.add_argument(
        "--mix",
        help="endpoint=weight,... instead of the default mix (for diagnosis), e.g. "
        "'sync first page=1,sync next page=2'; endpoints: " + ", ".join(MIX),
    )
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment of the server, e.g. FIELDNAV_TILES_CACHE_BYTES=0 (repeat; for diagnosis)",
    )
    parser.add_argument(
        "--pack-builds",
        type=int,
        default=0,
        metavar="N",
        help="run the mix twice, alone and beside N clients building offline packs back to back, and "
        f"compare (writes the '{PACK_SECTION}' section instead)",
    )
    parser.add_argument(
        "--pack-rounds",
        type=int,
        default=1,
        help="with --pack-builds: alternate the two runs this many times (medians are reported)",
    )
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    parser.add_argument("--no-results-file", action="store_true", help="print only, leave RESULTS.md alone")
    parser.add_argument("--no-wait-idle", action="store_true", help="start even if other work keeps the CPUs busy")
    args = parser.parse_args(argv)
    if not 1 <= args.workers <= 16 or not 1 <= args.concurrency <= 256:
        parser.error("--workers must be 1..16 and --concurrency 1..256")
    if not 1 <= args.duration_s <= 3600 or not 0 <= args.warmup_s <= 600:
        parser.error("--duration-s must be 1..3600 and --warmup-s 0..600")
    if not 1_000 <= args.services <= 1_000_000:
        parser.error("--services must be 1000..1000000")
    if not 0 <= args.pack_builds <= 64 or not 1 <= args.pack_rounds <= 10:
        parser.error("--pack-builds must be 0..64 and --pack-rounds 1..10")
    try:
        args.server_env = dict(item.split("=", 1) for item in args.server_env)
    except ValueError:
        parser.error("--server-env takes NAME=VALUE")
    try:
        args.mix = (
            {name.strip(): float(weight) for name, weight in (item.split("=") for item in args.mix.split(","))}
            if args.mix
            else MIX
        )
    except ValueError:
        parser.error("--mix takes endpoint=weight,...")
    if set(args.mix) - set(MIX) or not any(args.mix.values()):
        parser.error(f"--mix: unknown endpoints {sorted(set(args.mix) - set(MIX))} or no weight; use {', '.join(MIX)}")
    args.command = "python bench/load.py " + " ".join(sys.argv[1:] if argv is None else argv)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    url, facts = prepare_database(args.services)
    plan = make_plan(url, args.seed)
    if not args.no_wait_idle:
        quiet = tiles_bench.Quiet()
        quiet.wait("the load run")
        if quiet.busy_starts:
            log("the machine is busy: the numbers will show it (see the load average in the report)")
    args.started_at, args.load_at_start = datetime.now(UTC), common.load_average()
    args.revision_at_start, args.code_at_start = common.git_revision(), common.code_snapshot()  # what the server loads
    if args.pack_builds:
        return run_with_pack_builds(args, url, facts, plan)
    with common.fieldnav_server(
        url, workers=args.workers, label=f"load-w{args.workers}", extra_env=args.server_env
    ) as server:
        plan.tile_urls, template = tile_urls(server.base_url, plan.tokens[0], plan.tiles)
        run = asyncio.run(drive(plan, server.base_url, server.process.pid, facts["database"], args))
        run.tile_template = template.replace(server.base_url, "")
        run.server_log = server.log_path
    engine = common.loading_engine(url)
    try:
        handoffs_after = handoff_count(engine)
    finally:
        engine.dispose()
    rows, total, warmup_failures = summarise(run, args.duration_s, EXPECTED)
    ok, goals_text = goals(run, total, warmup_failures)
    body = report(run, facts, args, rows, total, warmup_failures, goals_text, handoffs_after)
    print(body)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(results_json(run, facts, args, rows, total, warmup_failures), indent=2, default=str)
        )
    if not args.no_results_file:
        common.replace_results_section(SECTION, body)
        log(f"wrote the {SECTION} section of {common.RESULTS_FILE}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
