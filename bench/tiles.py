"""Benchmark of the vector tiles (GET /v1/tiles/{z}/{x}/{y}.mvt) and the Toronto offline pack,
against developmentseed/tipg and against the SQL floor, on the 100k demo database.

    .venv/bin/python bench/tiles.py [--duration-s 15] [--workers 2] [--tiles 2000] [--runs 3]

In one run, on one seeded list of tiles in the Toronto area (z10-z16, weighted towards the
zooms and places a field worker looks at; empty tiles included as they come):

* SQL floor: 16 processes, one psycopg connection each, running fieldnav's own points
  statement (``service.maps.tiles.POINTS_SQL``) back to back;
* fieldnav cold: ``fieldnav serve --workers W`` with the tile cache off and the raw points
  layer at every zoom (the same content as tipg's), wrk, 16 connections;
* tipg: ``uvicorn tipg.main:app --workers W`` (its own virtualenv) over a view with the same
  rows and properties, the same tile list, wrk, 16 connections;
* fieldnav warm: cache on (default size), every tile requested before measuring;
* 304: the same, each request with If-None-Match = the ETag the server gave for that tile;
* default mobile tiles: default settings (clusters below z13), the size of every tile;
* the City of Toronto pack (z10-z16): POST /v1/offline/packs, wall time and bytes.

Load runs are repeated ``--runs`` times (interleaved) and medians reported. The "Tiles"
section of bench/RESULTS.md is replaced with the results. Loopback only; every loop bounded.
"""

from __future__ import annotations

import argparse
import gzip
import math
import multiprocessing
import random
import re
import statistics
import sys
import time
import traceback
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common
import mapbox_vector_tile
import orjson
import psycopg
import tiles_peer
import tiles_profile
import tiles_wrk
from common import FloorResult, log, median, percentile
from pmtiles.reader import MmapSource, all_tiles
from sqlalchemy import make_url, text

from service.maps.tiles import POINTS_SQL
from service.platform.db import make_engine, read_data_version
from service.platform.settings import tile_settings
from spatial.tiles import EXTENT, tile_count, tile_for_lonlat

SIZE_LABEL = "100k"
DATABASE = f"bench_{SIZE_LABEL}"
TORONTO_BBOX = (-79.64, 43.58, -79.11, 43.86)  # west, south, east, north
ZOOMS = range(10, 17)
# A field worker's map: mostly street level, some district views, few city-wide ones.
ZOOM_WEIGHTS = {10: 4, 11: 6, 12: 10, 13: 15, 14: 22, 15: 23, 16: 20}
SITE_SHARE = 0.7  # share of tiles looked up around a service site (where people look); the rest uniform in the bbox
SITE_JITTER_KM = 1.0
TILE_SEED = 20261
KM_PER_DEG_LAT = 111.32

CONNECTIONS = 16
WRK_THREADS = 2
FLOOR_WARMUP_S = 3.0
HTTP_WARMUP_S = 5.0
WARM_PASS_S = 5.0
WARM_MAX_PASSES = 8
WARM_STABLE = 0.10  # warm-up passes stop when two in a row differ by less than this
FETCH_THREADS = 8  # Python passes (pre-warm, ETags, sizes)
CONTENT_SAMPLE_PER_ZOOM = 12
LATENCY_REPEATS = 3
PACK_TIMEOUT_S = 600

GOALS = {
    "cold_vs_tipg_min": 2.0,
    "cold_vs_floor_min": 0.70,
    "warm_vs_tipg_min": 20.0,
    "revalidate_vs_tipg_min": 20.0,
    "mobile_p95_bytes_max": 32 * 1024,
    "pack_seconds_max": 20.0,
    "pack_bytes_max": 10 * 1000 * 1000,  # 10 MB (decimal; 10 MiB would be 10,485,760)
}

PUBLIC = {
    "FIELDNAV_AUTH_PUBLIC_READS": "true",
    "FIELDNAV_LIMIT_REQUESTS_PER_MIN": "100000000",
}
# Raw points with every property at every zoom: the content tipg serves.
RAW_POINTS = {"FIELDNAV_TILES_POINTS_MIN_ZOOM": "0", "FIELDNAV_TILES_LABELS_MIN_ZOOM": "0"}
COLD_ENV = {**PUBLIC, "FIELDNAV_TILES_CACHE_BYTES": "0", **RAW_POINTS}
WARM_ENV = {**PUBLIC, **RAW_POINTS}  # cache: default size
PACKS_DIR = common.BENCH_HOME / "packs-tiles-bench"  # the bench's own; emptied before each build
DEFAULT_ENV = {**PUBLIC, "FIELDNAV_LIMIT_EXPENSIVE_PER_MIN": "1000000", "FIELDNAV_PACKS_DIR": str(PACKS_DIR)}

Tile = tuple[int, int, int]


# --------------------------------------------------------------------------- a quiet machine

IDLE_BUSY_MAX = 0.20  # share of all CPUs busy (before our phase starts) that counts as idle
IDLE_SAMPLE_S = 3.0
IDLE_MAX_WAIT_S = 1800.0


def _cpu_times() -> tuple[int, int]:
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return sum(values[:8]), idle


def cpu_busy(sample_s: float = IDLE_SAMPLE_S) -> float:
    total_a, idle_a = _cpu_times()
    time.sleep(sample_s)
    total_b, idle_b = _cpu_times()
    return 1 - (idle_b - idle_a) / max(1, total_b - total_a)


@dataclass
class Quiet:
    """Waits before each measured phase until other work (another benchmark, a test run)
    has left the CPUs, up to IDLE_MAX_WAIT_S per phase; remembers what it saw."""

    waited_s: float = 0.0
    busy_starts: list[str] = field(default_factory=list)  # phases started on a busy machine anyway

    enabled: bool = True

    def wait(self, phase: str) -> None:
        if not self.enabled:
            return
        started_s = time.monotonic()
        busy = max(cpu_busy(), cpu_busy())  # quiet for two samples in a row, not between someone's phases
        announced = False
        while busy > IDLE_BUSY_MAX and time.monotonic() - started_s < IDLE_MAX_WAIT_S:
            if not announced:
                log(
                    f"machine busy ({busy:.0%} CPU) before {phase}: waiting up to {IDLE_MAX_WAIT_S / 60:.0f} min for it to calm down"
                )
                announced = True
            time.sleep(10)
            busy = max(cpu_busy(), cpu_busy())
        self.waited_s += time.monotonic() - started_s
        if busy > IDLE_BUSY_MAX:
            log(f"still busy ({busy:.0%} CPU): measuring {phase} anyway")
            self.busy_starts.append(f"{phase} ({busy:.0%})")


# --------------------------------------------------------------------------- the database


def cluster_cells_missing(url: str) -> tuple[int, int]:
    """(map points, those without an H3 r8 cell)."""
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as connection:
            return tuple(
                connection.execute(text("SELECT count(*), count(*) FILTER (WHERE h3_r8 IS NULL) FROM map_point")).one()
            )
    finally:
        engine.dispose()


def prepare_database(cluster, *, reload: bool, quiet: Quiet) -> tuple[str, str | None]:
    """The 100k database, loaded and migrated (a migration to the head rebuilds the derived
    sites and map points, service/platform/migrate.py), its tile tables vacuumed and analyzed.
    Returns (url, None)."""
    url = common.database_url(cluster, DATABASE)
    common.load_demo_services(url, common.SIZES[SIZE_LABEL], reload=reload)
    engine = common.loading_engine(url)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE service_site, map_point, h3_cell"))
            # fieldnav turns JIT off in its own sessions (service/platform/db.py); the database default
            # does the same for the floor and for tipg, so all three run the same configuration.
            connection.execute(text(f"ALTER DATABASE {DATABASE} SET jit = off"))
    finally:
        engine.dispose()
    points, missing = cluster_cells_missing(url)
    if missing:
        raise SystemExit(f"{missing:,} of {points:,} map points have no H3 cells: run `fieldnav db rebuild-sites`")
    return url, None


# --------------------------------------------------------------------------- the tile set


def make_tile_set(url: str, count: int, seed: int = TILE_SEED) -> list[Tile]:
    """``count`` tiles (repeats allowed, as in real traffic) in TORONTO_BBOX: a zoom by
    ZOOM_WEIGHTS, then a point near a random public site (SITE_SHARE) or anywhere in the
    bbox (lake, parks, industrial land: empty tiles come as they come)."""
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as connection:
            sites = connection.execute(
                text(
                    "SELECT ST_X(geom), ST_Y(geom) FROM service_site WHERE NOT is_private AND status = 'active' "
                    "AND geom && ST_MakeEnvelope(:w, :s, :e, :n, 4326) ORDER BY id"
                ),
                dict(zip("wsen", TORONTO_BBOX, strict=True)),
            ).all()
    finally:
        engine.dispose()
    rng = random.Random(seed)
    west, south, east, north = TORONTO_BBOX
    zooms, weights = list(ZOOM_WEIGHTS), list(ZOOM_WEIGHTS.values())
    tiles = []
    while len(tiles) < count:
        z = rng.choices(zooms, weights)[0]
        if sites and rng.random() < SITE_SHARE:
            lon, lat = rng.choice(sites)
            distance_km = SITE_JITTER_KM * math.sqrt(rng.random())
            angle = rng.uniform(0, 2 * math.pi)
            lat += distance_km * math.cos(angle) / KM_PER_DEG_LAT
            lon += distance_km * math.sin(angle) / (KM_PER_DEG_LAT * math.cos(math.radians(lat)))
            if not (west <= lon <= east and south <= lat <= north):
                continue
        else:
            lon, lat = rng.uniform(west, east), rng.uniform(south, north)
        tiles.append((z, *tile_for_lonlat(lon, lat, z)))
    return tiles


def fieldnav_path(tile: Tile, version: int) -> str:
    z, x, y = tile
    return f"/v1/tiles/{z}/{x}/{y}.mvt?v={version}"  # as the TileJSON template gives it


def tipg_path(tile: Tile) -> str:
    return tiles_peer.tipg_tile_path(*tile)


# --------------------------------------------------------------------------- HTTP helpers


@dataclass
class Fetched:
    status: int
    body: bytes  # decoded (raw MVT)
    wire_bytes: int  # as sent (gzip when the server compressed)
    etag: str | None
    seconds: float


def fetch(url: str, headers: dict[str, str] | None = None, timeout_s: float = 60.0) -> Fetched:
    request = urllib.request.Request(url, headers=headers or {})
    started_s = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            wire = response.read()
            status, response_headers = response.status, response.headers
    except urllib.error.HTTPError as error:
        wire, status, response_headers = error.read(), error.code, error.headers
    seconds = time.perf_counter() - started_s
    body = gzip.decompress(wire) if response_headers.get("content-encoding") == "gzip" else wire
    return Fetched(status, body, len(wire), response_headers.get("etag"), seconds)


def fetch_all(base_url: str, paths: list[str], headers: dict[str, str] | None = None) -> dict[str, Fetched]:
    with ThreadPoolExecutor(FETCH_THREADS) as pool:
        results = list(pool.map(lambda p: fetch(base_url + p, headers), paths))
    bad = [(p, r.status) for p, r in zip(paths, results, strict=True) if r.status not in (200, 204, 304)]
    if bad:
        raise RuntimeError(f"{len(bad)} tiles failed, e.g. {bad[:3]}")
    return dict(zip(paths, results, strict=True))


def server_data_version(url: str) -> int:
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as connection:
            return read_data_version(connection)
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- SQL floor


def points_sql_for_psycopg() -> str:
    """service.maps.tiles.POINTS_SQL with its :name parameters as psycopg's %(name)s (casts
    written ``::type`` are left alone)."""
    if "%" in POINTS_SQL:
        raise RuntimeError("POINTS_SQL holds a '%': escape it before handing it to psycopg")
    return re.sub(r"(?<![:\w]):([a-z_]\w*)", r"%(\1)s", POINTS_SQL)


def psycopg_conninfo(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _floor_worker(
    conninfo: str,
    tiles: list[Tile],
    worker_index: int,
    warmup_s: float,
    duration_s: float,
    options: str,
    rollback: bool,
    barrier,
    results,
) -> None:
    try:
        sql = points_sql_for_psycopg()
        max_features = tile_settings().max_features
        latencies_ms: list[float] = []
        errors: dict[str, int] = defaultdict(int)
        with psycopg.connect(
            conninfo, autocommit=not rollback, options=options, application_name="fieldnav-bench-floor"
        ) as connection:
            barrier.wait(timeout=120)
            started_s = time.monotonic()
            measure_from_s, stop_at_s = started_s + warmup_s, started_s + warmup_s + duration_s
            index = worker_index * 997
            while (now_s := time.monotonic()) < stop_at_s:
                z, x, y = tiles[index % len(tiles)]
                index += 1
                try:
                    row = connection.execute(
                        sql, {"z": z, "x": x, "y": y, "categories": [], "labels": True, "max_features": max_features}
                    ).fetchone()
                    _ = bytes(row[0]) if row and row[0] else None
                    if rollback:
                        connection.rollback()
                except Exception as error:  # noqa: BLE001 - counted, the run goes on
                    errors[type(error).__name__] += 1
                    if rollback:
                        connection.rollback()
                    continue
                done_s = time.monotonic()
                if measure_from_s <= done_s <= stop_at_s:
                    latencies_ms.append((done_s - now_s) * 1000)
        results.put((latencies_ms, dict(errors)))
    except Exception:  # noqa: BLE001 - reported by the parent
        results.put(traceback.format_exc())


def run_floor(
    url: str,
    tiles: list[Tile],
    *,
    connections: int,
    duration_s: float,
    warmup_s: float = FLOOR_WARMUP_S,
    options: str = "",
    rollback: bool = False,
) -> FloorResult:
    """``connections`` processes (not threads), one connection each, the app's statement
    timeout, autocommit (no BEGIN/ROLLBACK round trips: this is the floor). ``rollback``: a
    transaction per tile ended by ROLLBACK instead, as fieldnav's pool does (diagnostic)."""
    options = f"-c statement_timeout={10_000} {options}".strip()
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(connections)
    results = context.Queue()
    workers = [
        context.Process(
            target=_floor_worker,
            args=(psycopg_conninfo(url), tiles, i, warmup_s, duration_s, options, rollback, barrier, results),
        )
        for i in range(connections)
    ]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=warmup_s + duration_s + 180) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    failures = [o for o in outcomes if isinstance(o, str)]
    if failures:
        raise RuntimeError("floor worker failed:\n" + failures[0])
    merged = FloorResult(0, duration_s, defaultdict(int), [])
    for latencies_ms, errors in outcomes:
        merged.latencies_ms += latencies_ms
        for name, n in errors.items():
            merged.errors[name] += n
    merged.completed = len(merged.latencies_ms)
    merged.errors = dict(merged.errors)
    return merged


def floor_latency_by_zoom(
    url: str, tiles: list[Tile], *, options: str = "", rollback: bool = False
) -> dict[int, float]:
    """One connection, no concurrency: median latency (ms) per zoom over up to
    CONTENT_SAMPLE_PER_ZOOM distinct tiles of the set, each run LATENCY_REPEATS times.

    ``rollback=False``: autocommit, as the floor runs; psycopg prepares the statement after
    5 executions and PostgreSQL then uses a generic plan. ``rollback=True``: a transaction
    per tile ended by ROLLBACK, as fieldnav's pool does on every check-in; psycopg then never
    prepares it, so every tile is planned again (and JIT-compiled when the plan looks costly).
    """
    sql = points_sql_for_psycopg()
    by_zoom: dict[int, list[float]] = defaultdict(list)
    sample = sample_by_zoom(tiles)

    def params(z, x, y):
        return {
            "z": z,
            "x": x,
            "y": y,
            "categories": [],
            "labels": True,
            "max_features": tile_settings().max_features,
        }

    with psycopg.connect(psycopg_conninfo(url), autocommit=not rollback, options=options) as connection:
        for _ in range(6):  # past psycopg's prepare threshold (5): the steady state
            connection.execute(sql, params(*sample[-1])).fetchone()
            if rollback:
                connection.rollback()
        for z, x, y in sample:
            for _ in range(LATENCY_REPEATS):
                started_s = time.perf_counter()
                connection.execute(sql, params(z, x, y)).fetchone()
                if rollback:
                    connection.rollback()
                by_zoom[z].append((time.perf_counter() - started_s) * 1000)
    return {z: statistics.median(v) for z, v in sorted(by_zoom.items())}


def sample_by_zoom(tiles: list[Tile]) -> list[Tile]:
    """Up to CONTENT_SAMPLE_PER_ZOOM distinct tiles per zoom, first seen first."""
    seen: dict[int, list[Tile]] = defaultdict(list)
    for tile in dict.fromkeys(tiles):
        if len(seen[tile[0]]) < CONTENT_SAMPLE_PER_ZOOM:
            seen[tile[0]].append(tile)
    return [t for z in sorted(seen) for t in seen[z]]


# --------------------------------------------------------------------------- same content?


@dataclass
class ContentCheck:
    compared: int = 0
    same_inside: int = 0  # the same features (site keys) inside the tile
    capped: int = 0  # tiles at the feature cap (both keep max_features, maybe not the same ones)
    fieldnav_features: int = 0
    tipg_features: int = 0
    fieldnav_buffer_features: int = 0  # points in fieldnav's 64-unit buffer (tipg fetches none)
    same_properties: bool = True
    mismatches: list[str] = field(default_factory=list)
    fieldnav_ms: dict[int, float] = field(default_factory=dict)  # 1 connection, median per zoom
    tipg_ms: dict[int, float] = field(default_factory=dict)


def _features(body: bytes) -> list[dict]:
    if not body:
        return []
    decoded = mapbox_vector_tile.decode(body, default_options={"y_coord_down": True})
    return [f for layer in decoded.values() for f in layer["features"]]


def _inside(feature: dict) -> bool:
    x, y = feature["geometry"]["coordinates"]
    return 0 <= x < EXTENT and 0 <= y < EXTENT


def _well_inside(feature: dict) -> bool:
    """Inside the tile, away from its edge pixels (a point a hair outside the tile rounds
    onto the edge in MVT units, and fieldnav and tipg decide edges differently)."""
    x, y = feature["geometry"]["coordinates"]
    return 1 <= x <= EXTENT - 2 and 1 <= y <= EXTENT - 2


POINT_FIELDS = {"name", "groups", "open_24_7", "capacity"}


def _site_key(feature: dict) -> int:
    """fieldnav's points carry the site key as their feature id; tipg's as the `id` property."""
    return feature["properties"].get("id", feature.get("id"))


def check_content(fieldnav: common.Server, tipg: common.Server, tiles: list[Tile], version: int) -> ContentCheck:
    """Decode the same sample of tiles from both servers (one connection, sequential, each
    LATENCY_REPEATS times) and compare what they hold."""
    check = ContentCheck()
    cap = tile_settings().max_features
    fieldnav_ms, tipg_ms = defaultdict(list), defaultdict(list)
    for tile in sample_by_zoom(tiles):
        ours = theirs = None
        for _ in range(LATENCY_REPEATS):
            ours = fetch(fieldnav.base_url + fieldnav_path(tile, version))
            theirs = fetch(tipg.base_url + tipg_path(tile))
            fieldnav_ms[tile[0]].append(ours.seconds * 1000)
            tipg_ms[tile[0]].append(theirs.seconds * 1000)
        if ours.status not in (200, 204) or theirs.status != 200:
            check.mismatches.append(f"{tile}: fieldnav {ours.status}, tipg {theirs.status}")
            continue
        a, b = _features(ours.body), _features(theirs.body)
        check.compared += 1
        check.fieldnav_features += len(a)
        check.tipg_features += len(b)
        check.fieldnav_buffer_features += sum(1 for f in a if not _inside(f))
        for f in a + b:
            if set(f["properties"]) - {"id"} != POINT_FIELDS:
                check.same_properties = False
        if len(a) >= cap or len(b) >= cap:
            check.capped += 1
            continue
        inside_a = Counter(_site_key(f) for f in a if _well_inside(f))
        inside_b = Counter(_site_key(f) for f in b if _well_inside(f))
        if inside_a == inside_b:
            check.same_inside += 1
        else:
            check.mismatches.append(
                f"{tile}: fieldnav {sum(inside_a.values())} inside, tipg {sum(inside_b.values())} inside, "
                f"{sum((inside_a - inside_b).values())} only in fieldnav, {sum((inside_b - inside_a).values())} only in tipg"
            )
    check.fieldnav_ms = {z: statistics.median(v) for z, v in sorted(fieldnav_ms.items())}
    check.tipg_ms = {z: statistics.median(v) for z, v in sorted(tipg_ms.items())}
    return check


# --------------------------------------------------------------------------- load runs


@dataclass
class RunResults:
    floor: FloorResult
    floor_rollback: FloorResult  # diagnostic: the same SQL, a ROLLBACK after each tile
    cold: tiles_wrk.TileLoad
    tipg: tiles_wrk.TileLoad
    warm: tiles_wrk.TileLoad
    revalidate: tiles_wrk.TileLoad
    warm_passes: list[float]
    distinct_raw_bytes: int  # raw-points tiles of the set, each once (what the warm cache must hold)
    empty_distinct: int


def load(
    base_url: str,
    paths: list[str],
    *,
    duration_s: float,
    label: str,
    etags: list[str] | None = None,
    count_statuses: bool = False,
) -> tiles_wrk.TileLoad:
    return tiles_wrk.run_tile_wrk(
        base_url,
        paths,
        etags=etags,
        connections=CONNECTIONS,
        threads=WRK_THREADS,
        duration_s=duration_s,
        label=label,
        count_statuses=count_statuses,
    )


def _load_line(result: tiles_wrk.TileLoad) -> str:
    statuses = f", statuses {result.statuses}" if result.statuses else ""
    return (
        f"{result.qps:.1f} tiles/s, p50 {result.http.p50_ms:.1f} ms, p99 {result.http.p99_ms:.1f} ms, "
        f"errors {result.http.errors}{statuses}"
    )


def one_run(url: str, tiles: list[Tile], version: int, args, run: int, quiet: Quiet) -> RunResults:
    label = f"run{run}"
    ours = [fieldnav_path(t, version) for t in tiles]
    theirs = [tipg_path(t) for t in tiles]

    quiet.wait(f"run {run} floor")
    log(f"run {run}/{args.runs}: SQL floor, {CONNECTIONS} processes, {args.duration_s:.0f} s")
    floor = run_floor(url, tiles, connections=CONNECTIONS, duration_s=args.duration_s)
    log(f"  {floor.qps:.1f} tiles/s, p50 {floor.p50_ms:.1f} ms, p99 {floor.p99_ms:.1f} ms, errors {floor.errors or 0}")

    quiet.wait(f"run {run} floor, ROLLBACK after each")
    log(f"run {run}/{args.runs}: SQL, ROLLBACK after each tile (fieldnav's way; diagnostic), {CONNECTIONS} processes")
    floor_rollback = run_floor(url, tiles, connections=CONNECTIONS, duration_s=args.duration_s, rollback=True)
    log(
        f"  {floor_rollback.qps:.1f} tiles/s, p50 {floor_rollback.p50_ms:.1f} ms, p99 {floor_rollback.p99_ms:.1f} ms, "
        f"errors {floor_rollback.errors or 0}"
    )

    quiet.wait(f"run {run} fieldnav cold")
    log(f"run {run}/{args.runs}: fieldnav cold (cache off, raw points), {args.workers} workers")
    with common.fieldnav_server(url, workers=args.workers, label=f"tiles-cold-{label}", extra_env=COLD_ENV) as server:
        load(server.base_url, ours, duration_s=HTTP_WARMUP_S, label="fieldnav-cold")
        cold = load(server.base_url, ours, duration_s=args.duration_s, label="fieldnav-cold")
    log(f"  {_load_line(cold)}")

    quiet.wait(f"run {run} tipg")
    log(f"run {run}/{args.runs}: tipg, {args.workers} workers")
    with tiles_peer.tipg_server(url, workers=args.workers, label=label) as server:
        load(server.base_url, theirs, duration_s=HTTP_WARMUP_S, label="tipg")
        tipg = load(server.base_url, theirs, duration_s=args.duration_s, label="tipg")
    log(f"  {_load_line(tipg)}")

    quiet.wait(f"run {run} fieldnav warm")
    log(f"run {run}/{args.runs}: fieldnav warm (cache on, raw points), {args.workers} workers")
    with common.fieldnav_server(url, workers=args.workers, label=f"tiles-warm-{label}", extra_env=WARM_ENV) as server:
        distinct = list(dict.fromkeys(ours))
        first = fetch_all(server.base_url, distinct)  # every tile once (lands in one worker's cache)
        distinct_raw_bytes = sum(len(f.body) for f in first.values())
        empty_distinct = sum(1 for f in first.values() if f.status == 204)
        passes: list[float] = []  # then until both workers hold them: the rate stops climbing
        for _ in range(WARM_MAX_PASSES):
            passes.append(load(server.base_url, ours, duration_s=WARM_PASS_S, label="fieldnav-warm").qps)
            if len(passes) >= 2 and abs(passes[-1] - passes[-2]) <= WARM_STABLE * passes[-2]:
                break
        warm = load(server.base_url, ours, duration_s=args.duration_s, label="fieldnav-warm")
        log(f"  warm-up passes {', '.join(f'{p:.0f}' for p in passes)} tiles/s; {_load_line(warm)}")
        tags = fetch_all(server.base_url, distinct)
        etags = [tags[p].etag or "" for p in ours]
        revalidate = load(
            server.base_url, ours, etags=etags, duration_s=args.duration_s, label="fieldnav-304", count_statuses=True
        )
        log(f"  304: {_load_line(revalidate)}")
    return RunResults(floor, floor_rollback, cold, tipg, warm, revalidate, passes, distinct_raw_bytes, empty_distinct)


# --------------------------------------------------------------------------- profiles


def profile_fieldnav(url: str, tiles: list[Tile], version: int, args) -> dict[str, tuple]:
    """py-spy on `fieldnav serve` under the cold and the warm load (extra runs, not the
    measured ones: sampling takes CPU from a 2-core machine)."""
    paths = [fieldnav_path(t, version) for t in tiles]
    profiles = {}
    for name, env in (("cold", COLD_ENV), ("warm", WARM_ENV)):
        log(f"profile: fieldnav {name}, {args.duration_s:.0f} s of wrk under py-spy")
        with common.fieldnav_server(url, workers=args.workers, label=f"tiles-profile-{name}", extra_env=env) as server:
            if name == "warm":
                fetch_all(server.base_url, list(dict.fromkeys(paths)))
                for _ in range(3):
                    load(server.base_url, paths, duration_s=WARM_PASS_S, label=f"profile-{name}")
            else:
                load(server.base_url, paths, duration_s=HTTP_WARMUP_S, label=f"profile-{name}")
            out = common.BENCH_OUT_DIR / f"profile-tiles-{name}.txt"
            out.unlink(missing_ok=True)
            with tiles_profile.recording(server.process.pid, out, args.duration_s - 1):
                result = load(server.base_url, paths, duration_s=args.duration_s, label=f"profile-{name}")
        profiles[name] = (result, tiles_profile.summarise(out))
        log(f"  under py-spy: {_load_line(result)}; {profiles[name][1].samples} samples in {out}")
    return profiles


def profile_text(profiles: dict[str, tuple]) -> str:
    if not profiles:
        return "(not run; `--profile` samples fieldnav with py-spy)"
    chunks = [
        "py-spy `--gil --subprocesses`: only samples of a thread holding the GIL (Python work; waiting for",
        "PostgreSQL or for the network is not counted), in the supervisor and both workers, while wrk loads the",
        "server as in the measured runs (extra runs: sampling slows the server a little).",
        "",
    ]
    for name, (result, profile) in profiles.items():
        chunks.append(
            f"**{name}** ({_qps(result.qps)} tiles/s while sampled; {profile.samples:,} samples; collapsed stacks in "
            f"`bench/out/profile-tiles-{name}.txt`)"
        )
        chunks.append("")
        chunks.append("- self time by package: " + ", ".join(f"{p} {v:.0%}" for p, v in profile.by_package))
        chunks.append("- inclusive: " + "; ".join(f"{n} {v:.0%}" for n, v in profile.named))
        chunks.append("")
        chunks.append("| hottest frames (self) | share | reached from |")
        chunks.append("|---|---|---|")
        for leaf, share, via in profile.leaves:
            chunks.append(f"| `{leaf}` | {share:.0%} | {via} |")
        chunks.append("")
    return "\n".join(chunks)


# --------------------------------------------------------------------------- default mobile tiles


@dataclass
class SizeResults:
    raw: list[int]  # per tile of the set (repeats included), bytes of the MVT; 0 when empty (204)
    wire: list[int]  # the same, as sent to a client accepting gzip
    by_zoom: dict[int, tuple[list[int], list[int]]]


def mobile_sizes(url: str, tiles: list[Tile], version: int, workers: int) -> SizeResults:
    with common.fieldnav_server(url, workers=workers, label="tiles-default", extra_env=DEFAULT_ENV) as server:
        distinct = list(dict.fromkeys(tiles))
        fetched = fetch_all(server.base_url, [fieldnav_path(t, version) for t in distinct], {"Accept-Encoding": "gzip"})
    sizes = {t: fetched[fieldnav_path(t, version)] for t in distinct}
    raw = [len(sizes[t].body) for t in tiles]
    wire = [sizes[t].wire_bytes if sizes[t].body else 0 for t in tiles]
    by_zoom: dict[int, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
    for tile, r, w in zip(tiles, raw, wire, strict=True):
        by_zoom[tile[0]][0].append(r)
        by_zoom[tile[0]][1].append(w)
    return SizeResults(raw, wire, dict(sorted(by_zoom.items())))


# --------------------------------------------------------------------------- the Toronto pack


@dataclass
class PackResult:
    status: int
    seconds: float
    tile_count: int
    archive_bytes: int
    snapshot_gz_bytes: int  # the file a phone downloads (gzip)
    snapshot_json_bytes: int  # decoded
    service_count: int
    by_zoom: dict[int, tuple[int, int]] = field(default_factory=dict)  # zoom -> (tiles, gzipped bytes)

    @property
    def download_bytes(self) -> int:
        return self.archive_bytes + self.snapshot_gz_bytes


def _pack_files() -> list[Path]:
    """The packs' files in the bench's folder, not the folder's own id (``.fieldnav-pack-store``):
    removed, each worker would make a new id and take the other's packs for another host's."""
    return [path for path in PACKS_DIR.iterdir() if path.is_file() and not path.name.startswith(".")]


def build_pack(server: common.Server) -> PackResult:
    """POST the Toronto pack after removing the bench's pack files, so fieldnav builds it
    again (a pack whose files are gone is forgotten and rebuilt: service/maps/packs/build.py _reuse)."""
    if PACKS_DIR.is_dir():
        for path in _pack_files():
            path.unlink()
    body = orjson.dumps({"bbox": list(TORONTO_BBOX), "min_zoom": ZOOMS.start, "max_zoom": ZOOMS.stop - 1})
    request = urllib.request.Request(
        server.base_url + "/v1/offline/packs", data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    started_s = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=PACK_TIMEOUT_S) as response:
            status, answer = response.status, orjson.loads(response.read())
    except urllib.error.HTTPError as error:
        raise RuntimeError(f"pack POST answered {error.code}: {error.read()[:500]!r}") from None
    seconds = time.perf_counter() - started_s
    if status != 201:
        raise RuntimeError(f"pack POST answered {status} (expected 201, a fresh build): {answer}")
    snapshot = PACKS_DIR / f"{answer['id']}.services.json.gz"
    return PackResult(
        status,
        seconds,
        answer["tile_count"],
        answer["bytes"],
        snapshot.stat().st_size,
        answer["services"]["bytes"],
        answer["services"]["count"],
        archive_bytes_by_zoom(PACKS_DIR / f"{answer['id']}.pmtiles"),
    )


def archive_bytes_by_zoom(path: Path) -> dict[int, tuple[int, int]]:
    """zoom -> (tiles, bytes of gzipped tile data) in a PMTiles archive."""
    by_zoom: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    with path.open("rb") as f:
        source = MmapSource(f)
        for (z, _, _), data in all_tiles(source):
            by_zoom[z][0] += 1
            by_zoom[z][1] += len(data)
    return {z: (n, b) for z, (n, b) in sorted(by_zoom.items())}


# --------------------------------------------------------------------------- report


def med(values) -> float:
    return median(list(values))


def ratio(a: float, b: float) -> float:
    return a / b if b and not (math.isnan(a) or math.isnan(b)) else float("nan")


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def _qps(value: float) -> str:
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}"


def _kb(n: float) -> str:
    return f"{n / 1024:.1f} KB"


def _mb(n: float) -> str:
    return f"{n / 1e6:.2f} MB"


def summary_rows(runs: list[RunResults]) -> list[tuple[str, list, float, float, float, int]]:
    rows = [
        ("SQL floor (16 processes, psycopg, `POINTS_SQL`)", [r.floor for r in runs]),
        ("SQL, ROLLBACK after each tile, as fieldnav's pool (diagnostic)", [r.floor_rollback for r in runs]),
    ]
    rows += [
        ("fieldnav cold (cache off, points at every zoom)", [r.cold for r in runs]),
        ("tipg 1.6 (no cache)", [r.tipg for r in runs]),
        ("fieldnav warm (cache on, points at every zoom)", [r.warm for r in runs]),
        ("fieldnav 304 (If-None-Match, cache on)", [r.revalidate for r in runs]),
    ]
    out = []
    for name, results in rows:
        qps = med(x.qps for x in results)
        if isinstance(results[0], FloorResult):
            p50, p99 = med(x.p50_ms for x in results), med(x.p99_ms for x in results)
            errors = sum(sum(x.errors.values()) for x in results)
        else:
            p50, p99 = med(x.http.p50_ms for x in results), med(x.http.p99_ms for x in results)
            errors = sum(x.http.errors for x in results)
        out.append((name, [x.qps for x in results], qps, p50, p99, errors))
    return out


def report(
    args,
    started_at: datetime,
    elapsed_s: float,
    *,
    reload_note: str | None,
    quiet: Quiet,
    tiles: list[Tile],
    sites: int,
    view_rows: int,
    tipg_version: str,
    runs: list[RunResults],
    content: ContentCheck,
    sql_zoom: dict[str, dict[int, float]],
    sizes: SizeResults,
    packs: list[PackResult],
    profiles: dict,
    pack_tiles: int,
    cache_bytes: int,
) -> str:
    rows = summary_rows(runs)
    floor_qps, _, cold_qps, tipg_qps, warm_qps, revalidate_qps = (r[2] for r in rows)
    zoom_counts = Counter(t[0] for t in tiles)
    distinct = len(set(tiles))
    empty_in_set = sum(1 for r in sizes.raw if r == 0)
    table = ["| what | tiles/s | p50 ms | p99 ms | errors | runs (tiles/s) |", "|---|---|---|---|---|---|"]
    for name, values, qps, p50, p99, errors in rows:
        table.append(
            f"| {name} | **{_qps(qps)}** | {p50:.1f} | {p99:.1f} | {errors} | {', '.join(_qps(v) for v in values)} |"
        )

    revalidate_statuses = Counter()
    for r in runs:
        revalidate_statuses.update(r.revalidate.statuses)
    cold_vs_tipg, cold_vs_floor = ratio(cold_qps, tipg_qps), ratio(cold_qps, floor_qps)
    warm_vs_tipg, revalidate_vs_tipg = ratio(warm_qps, tipg_qps), ratio(revalidate_qps, tipg_qps)
    p95_all = percentile(sizes.raw, 0.95)
    non_empty = [r for r in sizes.raw if r]
    p95_non_empty = percentile(non_empty, 0.95)
    p95_wire = percentile(sizes.wire, 0.95)
    pack_s = med(p.seconds for p in packs) if packs else float("nan")
    pack_bytes = med(p.download_bytes for p in packs) if packs else float("nan")
    g = GOALS
    goals = [
        f"- cold tiles vs tipg: {_qps(cold_qps)} / {_qps(tipg_qps)} = **{cold_vs_tipg:.2f}x** (goal >= {g['cold_vs_tipg_min']:.0f}x): "
        f"{_verdict(cold_vs_tipg >= g['cold_vs_tipg_min'])}",
        f"- cold tiles vs SQL floor: {_qps(cold_qps)} / {_qps(floor_qps)} = **{cold_vs_floor:.2f}** (goal >= {g['cold_vs_floor_min']:.2f}): "
        f"{_verdict(cold_vs_floor >= g['cold_vs_floor_min'])}",
        f"- warm tiles vs tipg: {_qps(warm_qps)} / {_qps(tipg_qps)} = **{warm_vs_tipg:.1f}x** (goal >= {g['warm_vs_tipg_min']:.0f}x): "
        f"{_verdict(warm_vs_tipg >= g['warm_vs_tipg_min'])}",
        f"- 304 revalidations vs tipg: {_qps(revalidate_qps)} / {_qps(tipg_qps)} = **{revalidate_vs_tipg:.1f}x** "
        f"(goal >= {g['revalidate_vs_tipg_min']:.0f}x): {_verdict(revalidate_vs_tipg >= g['revalidate_vs_tipg_min'])}. "
        "tipg sends no ETag and ignores If-None-Match, so its revalidation rate is its full-tile rate (the tipg row).",
        f"- default mobile tiles, p95 size across the tile set: **{_kb(p95_all)}** raw MVT (goal <= {_kb(g['mobile_p95_bytes_max'])}): "
        f"{_verdict(p95_all <= g['mobile_p95_bytes_max'])} (non-empty tiles only: {_kb(p95_non_empty)}; as sent gzip: {_kb(p95_wire)})",
    ]
    if packs:
        goals.append(
            f"- City of Toronto pack z{ZOOMS.start}-z{ZOOMS.stop - 1}: built in **{pack_s:.1f} s** (goal <= {g['pack_seconds_max']:.0f} s): "
            f"{_verdict(pack_s <= g['pack_seconds_max'])}; **{_mb(pack_bytes)}** archive + services snapshot "
            f"(goal <= {_mb(g['pack_bytes_max'])}): {_verdict(pack_bytes <= g['pack_bytes_max'])}"
        )
    errors = sum(r[5] for r in rows[2:])
    goals.append(f"- errors under load (non-2xx/304, socket errors, timeouts): {errors}")

    size_table = [
        "| zoom | tiles in set | layer (default) | empty | p50 raw | p95 raw | max raw | p95 gzip (as sent) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    points_min_zoom = tile_settings().points_min_zoom
    for z, (raw, wire) in sizes.by_zoom.items():
        size_table.append(
            f"| {z} | {len(raw)} | {'services' if z >= points_min_zoom else 'clusters'} | {sum(1 for r in raw if not r)} | "
            f"{_kb(percentile(raw, 0.5))} | {_kb(percentile(raw, 0.95))} | {_kb(max(raw))} | {_kb(percentile(wire, 0.95))} |"
        )
    size_table.append(
        f"| all | {len(sizes.raw)} | | {empty_in_set} | {_kb(percentile(sizes.raw, 0.5))} | **{_kb(p95_all)}** | "
        f"{_kb(max(sizes.raw))} | {_kb(p95_wire)} |"
    )

    latency_table = [
        "| zoom | SQL, prepared (the floor's way) | SQL, ROLLBACK after each (fieldnav's way) | "
        "the same, `jit=off` (diagnostic) | fieldnav cold, HTTP | tipg, HTTP |",
        "|---|---|---|---|---|---|",
    ]
    nan = float("nan")
    for z in sorted(sql_zoom["prepared"]):
        latency_table.append(
            f"| {z} | {sql_zoom['prepared'][z]:.1f} | {sql_zoom['rollback'].get(z, nan):.1f} | "
            f"{sql_zoom['rollback_nojit'].get(z, nan):.1f} | {content.fieldnav_ms.get(z, nan):.1f} | "
            f"{content.tipg_ms.get(z, nan):.1f} |"
        )

    pack_lines = []
    if packs:
        pack_lines = [
            "| run | build s (POST wall time) | tiles (non-empty) | archive | snapshot (gzip file) | snapshot JSON | services | archive + snapshot |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for i, p in enumerate(packs, 1):
            pack_lines.append(
                f"| {i} | {p.seconds:.1f} | {p.tile_count:,} | {_mb(p.archive_bytes)} | {_mb(p.snapshot_gz_bytes)} | "
                f"{_mb(p.snapshot_json_bytes)} | {p.service_count:,} | {_mb(p.download_bytes)} |"
            )
    if packs and packs[-1].by_zoom:
        last = packs[-1]
        pack_lines += [
            "",
            f"Archive of run {len(packs)} by zoom (gzipped MVT, as stored): "
            + "; ".join(f"z{z}: {n:,} tiles, {_mb(b)}" for z, (n, b) in last.by_zoom.items())
            + f". Services snapshot: {last.service_count:,} services, {last.snapshot_json_bytes / max(1, last.service_count):,.0f} bytes "
            f"of JSON each, {_mb(last.snapshot_gz_bytes)} gzipped.",
        ]
    warm = runs[0]
    passes = "; ".join(", ".join(f"{p:.0f}" for p in r.warm_passes) for r in runs)
    mismatches = "; ".join(content.mismatches[:5]) or "none"
    return f"""
Date: {started_at.strftime("%Y-%m-%d %H:%M %Z")} ({elapsed_s / 60:.0f} min) — code at {common.git_revision()}

Command: `{args.command}`

Data set: {SIZE_LABEL} = 100,000 demo services ({sites:,} sites; {view_rows:,} public active located sites, which tipg's
view `tipg_peer.service_points` publishes), database `{DATABASE}` in `.fieldnav/bench-db`
({common.bench_cluster_memory_text()}, `jit` off for the database (all clients), non-durable).{(" Before this run: " + reload_note + ".") if reload_note else ""} Peer: tipg {tipg_version} in `.fieldnav/bench-tipg-venv` (uvicorn[standard],
`--workers {args.workers}`, no access log, `TIPG_TILE_BUFFER={tiles_peer.BUFFER}`, `TIPG_MAX_FEATURES_PER_TILE={tile_settings().max_features}`).

Machine: {common.machine_summary()}. Everything shares these CPUs: PostgreSQL, the uvicorn workers of the server
under test, and wrk ({WRK_THREADS} threads, {CONNECTIONS} connections) or the 16 floor processes. Medians of {args.runs}
interleaved runs of {args.duration_s:.0f} s each, after a {HTTP_WARMUP_S:.0f} s warm-up ({FLOOR_WARMUP_S:.0f} s for the floor).
Before each phase the script waits for the CPUs to be under {IDLE_BUSY_MAX:.0%} busy (other benchmarks share this machine):
waited {quiet.waited_s / 60:.1f} min in all; phases started on a busy machine anyway: {", ".join(quiet.busy_starts) or "none"}.

Tile set: {len(tiles):,} tiles (seed {TILE_SEED}; {distinct:,} distinct) in the Toronto bbox {list(TORONTO_BBOX)}, zoom by weight
{", ".join(f"z{z}: {zoom_counts[z]}" for z in ZOOMS)}; {SITE_SHARE:.0%} around a random public site (jittered up to {SITE_JITTER_KM:.0f} km),
the rest uniform in the bbox; {warm.empty_distinct} of the distinct tiles are empty (fieldnav 204, tipg an empty 200).
The same list, in the same order, for the floor, fieldnav and tipg. fieldnav URLs carry `?v=<data version>`
as its TileJSON template does.

- SQL floor: 16 processes, one psycopg connection each (autocommit), running `service.maps.tiles.POINTS_SQL`
  (the statement fieldnav renders a points tile with) back to back; no HTTP, no pool, no transaction. psycopg
  prepares the statement after 5 runs, as it does by default. The "ROLLBACK after each tile" row runs the same
  SQL in a transaction per tile ended by ROLLBACK, as fieldnav's pool does on check-in: not a goal, a diagnosis.
- fieldnav cold: `fieldnav serve --workers {args.workers}`, `FIELDNAV_TILES_CACHE_BYTES=0`,
  `FIELDNAV_TILES_POINTS_MIN_ZOOM=0 FIELDNAV_TILES_LABELS_MIN_ZOOM=0` (raw points with all properties at z10-z16, the content tipg serves), `FIELDNAV_AUTH_PUBLIC_READS=true`,
  rate limit 10^8/min (still counted in the database).
- fieldnav warm: the same with the cache on (default {_mb(cache_bytes)} per worker). Every tile is fetched once, then
  {WARM_PASS_S:.0f} s wrk passes until the rate stops climbing (both workers' caches filled; passes: {passes} tiles/s).
  The set's distinct raw-points tiles weigh {_mb(warm.distinct_raw_bytes)}, within one worker's cache.
- 304: the warm server, each request with `If-None-Match` = the ETag it returned for that tile
  (statuses over all runs: {dict(revalidate_statuses)}; empty tiles have no ETag and stay 204).
- Latency is wrk's (client side). Errors: status >= 400 (any status but 200/204/304 in the 304 runs), socket errors, timeouts (10 s).

{chr(10).join(table)}

### Goals

{chr(10).join(goals)}

### Same content?

{content.compared} distinct tiles (up to {CONTENT_SAMPLE_PER_ZOOM} per zoom) decoded from both servers: properties
{"identical" if content.same_properties else "DIFFERENT"} (site key, `name`, `groups`, `open_24_7`, `capacity`);
{content.same_inside} of {content.compared - content.capped} tiles under the {tile_settings().max_features}-feature cap hold exactly the same features
inside the tile (edge pixels excluded: each server rounds points on the tile edge its own way); {content.capped} tiles are at the cap (both keep {tile_settings().max_features}, chosen differently: fieldnav inside-first then by
site id, tipg by service id). Features: fieldnav {content.fieldnav_features:,}, tipg {content.tipg_features:,}; fieldnav's tiles
also carry {content.fieldnav_buffer_features:,} points in the 64-unit buffer, which tipg never fetches (it selects by the bare
tile bounds): fieldnav does slightly more work per tile. Mismatches: {mismatches}.

### Latency by zoom, one connection (median ms, raw points, the distinct tiles above)

SQL columns: psycopg, one connection, `POINTS_SQL`. "Prepared": autocommit, so psycopg prepares the statement after 5
runs and PostgreSQL settles on a generic plan (what the floor measures). "ROLLBACK after each": each tile in its own
transaction ended by ROLLBACK, as fieldnav's SQLAlchemy pool does when a request returns its connection; psycopg then
never prepares the statement, so each tile is planned afresh, and plans whose estimated cost passes `jit_above_cost`
are JIT-compiled. HTTP columns: urllib, a new connection per request (a few ms of client cost in every row).

{chr(10).join(latency_table)}

### Default mobile tiles (default settings: clusters below z{points_min_zoom}, points from z{points_min_zoom})

Every tile of the set once (a tile listed twice counts twice; empty tiles count as 0 bytes).

{chr(10).join(size_table)}

### City of Toronto offline pack

`POST /v1/offline/packs {{"bbox": {list(TORONTO_BBOX)}, "min_zoom": {ZOOMS.start}, "max_zoom": {ZOOMS.stop - 1}}}` ({pack_tiles:,} tiles
covered) against `fieldnav serve` (default tile settings), after the load runs (warm database); the bench removes
the previous pack's files first so every POST builds (201). Size = the PMTiles archive + the services snapshot as
stored and downloaded (gzip). 10 MB = 10,000,000 bytes.

{chr(10).join(pack_lines) if pack_lines else "(not run)"}

### Where fieldnav spends its time (py-spy)

{profile_text(profiles)}
"""


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration-s", type=float, default=15.0, help="measured seconds per load run")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers (fieldnav and tipg)")
    parser.add_argument("--tiles", type=int, default=2000, help="tiles in the seeded tile set")
    parser.add_argument(
        "--runs", type=int, default=3, help="repetitions of the load runs and the pack; medians reported"
    )
    parser.add_argument("--reload", action="store_true", help="reload the demo data even if present")
    parser.add_argument(
        "--profile", action="store_true", help="also sample fieldnav with py-spy under cold and warm load"
    )
    parser.add_argument("--no-wait", action="store_true", help="do not wait for a quiet machine before each phase")
    parser.add_argument("--no-results-file", action="store_true", help="print only, leave RESULTS.md alone")
    args = parser.parse_args(argv)
    if (
        not 1 <= args.runs <= 10
        or not 1 <= args.duration_s <= 300
        or not 1 <= args.workers <= 16
        or not 50 <= args.tiles <= 100_000
    ):
        parser.error("--runs 1..10, --duration-s 1..300, --workers 1..16, --tiles 50..100000")
    args.command = "python bench/tiles.py " + " ".join(sys.argv[1:] if argv is None else argv)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    common.require_wrk()
    started_at, started_s = datetime.now(UTC).astimezone(), time.monotonic()
    tipg_version = tiles_peer.ensure_tipg_venv()
    cluster = common.start_bench_cluster()
    quiet = Quiet(enabled=not args.no_wait)
    url, reload_note = prepare_database(cluster, reload=args.reload, quiet=quiet)
    view_rows = tiles_peer.create_peer_view(url)
    engine = make_engine(url, pool_size=1)
    sites = common.site_count(engine)
    engine.dispose()
    version = server_data_version(url)
    tiles = make_tile_set(url, args.tiles)
    log(
        f"tile set: {len(tiles)} tiles, {len(set(tiles))} distinct; tipg {tipg_version}; {view_rows} rows in the peer view"
    )

    quiet.wait("the content check and 1-connection latencies")
    log("same content? fieldnav (cold, raw points) and tipg, one connection each")
    with (
        common.fieldnav_server(url, workers=1, label="tiles-content", extra_env=COLD_ENV) as ours,
        tiles_peer.tipg_server(url, workers=1, label="content") as theirs,
    ):
        content = check_content(ours, theirs, tiles, version)
    log(
        f"  compared {content.compared}, same inside {content.same_inside}, capped {content.capped}, "
        f"mismatches {len(content.mismatches)}"
    )
    sql_zoom = {
        "prepared": floor_latency_by_zoom(url, tiles),
        "rollback": floor_latency_by_zoom(url, tiles, rollback=True),
        "rollback_nojit": floor_latency_by_zoom(url, tiles, rollback=True, options="-c jit=off"),
    }
    for name, values in sql_zoom.items():
        log(f"  SQL 1 connection by zoom, {name}: " + ", ".join(f"z{z} {ms:.1f}" for z, ms in values.items()))

    runs = [one_run(url, tiles, version, args, run, quiet) for run in range(1, args.runs + 1)]

    if args.profile:
        quiet.wait("profiles")
    profiles = profile_fieldnav(url, tiles, version, args) if args.profile else {}

    quiet.wait("tile sizes")
    log("default mobile tiles: sizes")
    sizes = mobile_sizes(url, tiles, version, args.workers)
    log(f"  p95 {percentile(sizes.raw, 0.95):.0f} bytes raw, {percentile(sizes.wire, 0.95):.0f} gzip")

    packs: list[PackResult] = []
    PACKS_DIR.mkdir(parents=True, exist_ok=True)
    # Packs an earlier run left in the bench's database may name a folder id that no longer
    # exists (an interrupted run): forget them, so every build below is a fresh one.
    with psycopg.connect(psycopg_conninfo(url), autocommit=True) as connection:
        connection.execute("DELETE FROM offline_pack")
    with common.fieldnav_server(url, workers=args.workers, label="tiles-pack", extra_env=DEFAULT_ENV) as server:
        for run in range(1, args.runs + 1):
            quiet.wait(f"pack {run}")
            log(f"Toronto pack {run}/{args.runs}")
            packs.append(build_pack(server))
            p = packs[-1]
            log(
                f"  {p.seconds:.1f} s, {p.tile_count} tiles, archive {p.archive_bytes} B, snapshot {p.snapshot_gz_bytes} B gzip"
            )
    for path in _pack_files():  # the bench's own scratch
        path.unlink()

    text_ = report(
        args,
        started_at,
        time.monotonic() - started_s,
        reload_note=reload_note,
        quiet=quiet,
        tiles=tiles,
        sites=sites,
        view_rows=view_rows,
        tipg_version=tipg_version,
        runs=runs,
        content=content,
        sql_zoom=sql_zoom,
        sizes=sizes,
        packs=packs,
        profiles=profiles,
        pack_tiles=tile_count(TORONTO_BBOX, ZOOMS),
        cache_bytes=tile_settings().cache_bytes,
    )
    print(text_)
    if not args.no_results_file:
        common.replace_results_section("Tiles", text_)
        log(f"wrote the Tiles section of {common.RESULTS_FILE}")


if __name__ == "__main__":
    main()
