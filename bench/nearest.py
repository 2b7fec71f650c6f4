"""Benchmark of GET /v1/services/nearest against the raw SQL floor, at 100k and 1M services.

    .venv/bin/python bench/nearest.py [--sizes 100k,1m] [--duration-s 20] [--workers 2,3]
                                      [--runs 3] [--reload]

For each data set size, in one run on one machine:

* floor, 16 connections: 16 processes, one database connection each, call
  ``service.directory.nearest.find_nearest`` (the exact statements the endpoint runs, no HTTP, no
  JSON) for ``--duration-s``; queries per second and per-query latency;
* floor, 1 connection: the same, one process; latency per filter too;
* HTTP: ``fieldnav serve --workers W`` with wrk on loopback, 16 connections, the same
  seeded query list as URLs; throughput, p50/p99, errors (any non-2xx);
* plain-KNN floor (issue 21, bench/nearest_floor.py): for each query the simplest SQL that
  could answer it (``ORDER BY geom <-> point LIMIT 10`` with the filters as plain WHERE
  clauses), prepared, run by pgbench at 16 and 1 connections on the same points and filters;
  the ratios of find_nearest and of HTTP to it;
* find_nearest's SQL via pgbench (the decomposition of that gap): the exact statement find_nearest
  sends for each filter, run by pgbench like the plain KNN (same points, ``-M prepared``, 16 and
  1 connections), after a prepared lookup of the point and the filter's values, and that lookup
  alone; "statement cost" (this against the plain KNN) and "client cost" (find_nearest's 16
  Python processes against this), checked first to answer what find_nearest answers;
* no full walk: a filter that matches nothing, in an empty area and in Toronto, with
  EXPLAIN (ANALYZE, BUFFERS);
* with ``--profile``, after the measured runs: pg_stat_statements around find_nearest, the
  plain KNN, find_nearest's SQL via pgbench and HTTP, EXPLAIN of both statements per filter,
  py-spy on the HTTP workers (bench/nearest_profile.py).

Every measurement is repeated ``--runs`` times (interleaved) and medians are reported. The
"Nearest" section of bench/RESULTS.md (or ``--section``) is replaced with the results.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import math
import multiprocessing
import random
import subprocess
import sys
import time
import traceback
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common
import nearest_floor
import nearest_profile
from common import FloorResult, log, median, percentile
from nearest_floor import PgbenchResult
from sqlalchemy import make_url, text

from service.directory.demo_data import load_places
from service.directory.nearest import NearestQuery, find_nearest, nearest_statements, public_part
from service.platform import numbered_sql
from service.platform.db import make_engine

CONNECTIONS = 16
WRK_THREADS = 2
LIMIT = 10
QUERY_COUNT = 4000
QUERY_SEED = 20260
JITTER_RADIUS_KM = 5.0
KM_PER_DEG_LAT = 111.32
FLOOR_WARMUP_S = 5.0
HTTP_WARMUP_S = 5.0
SINGLE_CONNECTION_DURATION_S = 10.0
NO_WALK_REPEATS = 30
TOKEN_COUNT = 128  # distinct field workers (bearer tokens) the HTTP requests come from
# The default limit (600 a minute per principal): 128 principals allow ~1,280 requests/s before any 429.
RATE_LIMIT_PER_MIN = 600
NO_WALK_MAX_S = 20.0  # per point: fewer repeats when each one is slow
FILTER_PROBE_QUERIES = 40
FILTER_PROBE_MAX_S = 8.0

# Query-string filters, picked uniformly for each query.
FILTER_MIX: dict[str, dict[str, str]] = {
    "none": {},
    "shelter": {"category": "shelter"},
    "food|mental_health": {"category": "food,mental_health"},
    "open_now": {"open_now": "true"},
    "fr": {"language": "fr"},
    "age17": {"age": "17"},
    "shelter+capacity": {"category": "shelter", "has_capacity": "true"},
    "accessible": {"accessible": "true"},
    "crisis+open_now": {"category": "crisis", "open_now": "true"},
}

# A filter that matches nothing: it must not make the query walk the whole table.
NOTHING_FILTER = {"category": "legal", "language": "cr", "age": "3"}
NO_WALK_POINTS = {"empty area (51.0, -90.0)": (51.0, -90.0), "Toronto (43.6535, -79.3839)": (43.65348, -79.38393)}

# Files whose change during a run invalidates it (other edits are reported, not fatal).
NEAREST_CODE = (
    "service/directory/nearest.py",
    "service/api/routes/services.py",
    "service/directory/results.py",
    "service/directory/hours.py",
    "service/platform/db.py",
    "service/api/security.py",
    "service/api/rate_limit.py",
    "service/api/app.py",
)

GOALS = {
    "http_floor_qps_ratio_min": 0.30,
    "p99_ms_max": 25.0,
    # Issue 21: against the plain-KNN floor (bench/nearest_floor.py), measured in the same run.
    "nearest_knn_qps_ratio_min": 0.40,  # find_nearest q/s at 16 connections / plain KNN tps at 16
    "nearest_knn_latency_ratio_max": 2.0,  # find_nearest p50, 1 connection / plain KNN p50, 1 connection
    "http_knn_qps_ratio_min": 0.15,  # HTTP req/s at 16 connections / plain KNN tps at 16
    "http_p99_p50_ratio_max": 4.0,
    "latency_growth_max": 1.3,  # 1M / 100k (1.5 before issue 21)
}
# The endpoint's default FIELDNAV_CAPACITY_STALE_AFTER_H: has_capacity needs a fresh count.
STALE_AFTER = timedelta(hours=12)


# --------------------------------------------------------------------------- queries


@dataclass(frozen=True)
class BenchQuery:
    lat: float
    lon: float
    filter_name: str

    @property
    def params(self) -> dict[str, str]:
        return {"lat": f"{self.lat:.5f}", "lon": f"{self.lon:.5f}", "limit": str(LIMIT), **FILTER_MIX[self.filter_name]}

    def path(self) -> str:
        return "/v1/services/nearest?" + urlencode(self.params)

    def nearest_query(self, now: datetime) -> NearestQuery:
        return nearest_query_from_params(self.params, now)


def nearest_query_from_params(params: dict[str, str], now: datetime) -> NearestQuery:
    """What the endpoint builds from these query parameters (open_now: the request time)."""

    def codes(name: str) -> tuple[str, ...]:
        return tuple(c for c in params.get(name, "").split(",") if c)

    return NearestQuery(
        lat=float(params["lat"]),
        lon=float(params["lon"]),
        limit=int(params.get("limit", LIMIT)),
        categories=codes("category"),
        languages=codes("language"),
        age=int(params["age"]) if "age" in params else None,
        accessible=params.get("accessible") == "true",
        has_capacity=params.get("has_capacity") == "true",
        open_at=now if params.get("open_now") == "true" else None,
        fresh_since=now - STALE_AFTER,  # as the endpoint: without it has_capacity matches nothing
    )


def make_query_mix(count: int = QUERY_COUNT, seed: int = QUERY_SEED) -> list[BenchQuery]:
    """Random points around Ontario places (picked by population, jittered within a few km)
    with a filter from FILTER_MIX; the same list for the same seed."""
    rng = random.Random(seed)
    places = load_places()
    weights = [place.population for place in places]
    filter_names = list(FILTER_MIX)
    queries = []
    for place in rng.choices(places, weights=weights, k=count):
        distance_km = JITTER_RADIUS_KM * math.sqrt(rng.random())
        angle_rad = rng.uniform(0, 2 * math.pi)
        lat = place.lat + distance_km * math.cos(angle_rad) / KM_PER_DEG_LAT
        lon = place.lon + distance_km * math.sin(angle_rad) / (KM_PER_DEG_LAT * math.cos(math.radians(place.lat)))
        queries.append(BenchQuery(round(lat, 5), round(lon, 5), rng.choice(filter_names)))
    return queries


# --------------------------------------------------------------------------- SQL floor


# The plain KNN's point as values, for the Python client (pgbench reads it from a table).
PYTHON_KNN_POINT = "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)"


@cache
def _plain_knn_statement(filter_name: str) -> numbered_sql.NumberedStatement:
    return numbered_sql.NumberedStatement.of(
        text(nearest_floor.knn_sql(FILTER_MIX[filter_name], PYTHON_KNN_POINT, LIMIT))
    )


def plain_knn(connection, query: BenchQuery) -> list[tuple]:
    """The plain KNN of ``query`` (the statement pgbench runs), sent as find_nearest sends its
    statements (service/platform/numbered_sql.py: a raw psycopg cursor, prepared at once, rows
    in binary, the cards parsed by the same json loader): the Python client's share of a
    query, which pgbench in C does not pay, is then on both sides of the ratio."""
    params = {"lat": query.lat, "lon": query.lon}
    return numbered_sql.fetch_all(
        connection, _plain_knn_statement(query.filter_name), params, prepare=True, binary=True
    )


def _floor_worker(
    url: str,
    queries: list[BenchQuery],
    worker_index: int,
    warmup_s: float,
    duration_s: float,
    barrier,
    results,
    knn_only: bool,
) -> None:
    """One connection calling find_nearest (``knn_only``: plain_knn) back to back: warm-up, then
    ``duration_s`` measured."""
    try:
        engine = make_engine(url, pool_size=1)
        latencies_ms: list[float] = []
        by_filter_ms: dict[str, list[float]] = defaultdict(list)
        errors: dict[str, int] = defaultdict(int)
        with engine.connect() as connection:
            # Autocommit, as the endpoint reads (service.platform.db.read_connection): no transaction to
            # end, and psycopg keeps its prepared statements.
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            barrier.wait(timeout=120)
            started_s = time.monotonic()
            measure_from_s, stop_at_s = started_s + warmup_s, started_s + warmup_s + duration_s
            index = worker_index * 997
            while time.monotonic() < stop_at_s:
                query = queries[index % len(queries)]
                index += 1
                # Built before the clock starts: the query parameters are the endpoint's to parse.
                nearest_query = query.nearest_query(datetime.now(UTC))
                now_s = time.monotonic()
                try:
                    if knn_only:
                        plain_knn(connection, query)
                    else:
                        find_nearest(connection, nearest_query)
                except Exception as error:  # noqa: BLE001 - counted (and timed, as wrk does), the run goes on
                    errors[type(error).__name__] += 1
                done_s = time.monotonic()
                if measure_from_s <= done_s <= stop_at_s:  # completed inside the measured window
                    latencies_ms.append((done_s - now_s) * 1000)
                    by_filter_ms[query.filter_name].append(latencies_ms[-1])
        engine.dispose()
        results.put((latencies_ms, dict(errors), dict(by_filter_ms)))
    except Exception:  # noqa: BLE001 - reported by the parent
        results.put(traceback.format_exc())


def run_floor(
    url: str,
    queries: list[BenchQuery],
    *,
    connections: int,
    duration_s: float,
    warmup_s: float = FLOOR_WARMUP_S,
    by_filter_ms: dict[str, list[float]] | None = None,
    knn_only: bool = False,
) -> FloorResult:
    """``connections`` processes (not threads: the GIL would cap the floor), one connection each;
    ``by_filter_ms`` (when given) receives the latencies by filter. ``knn_only``: the plain KNN
    from Python (plain_knn) instead of find_nearest."""
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(connections)
    results = context.Queue()
    workers = [
        context.Process(target=_floor_worker, args=(url, queries, i, warmup_s, duration_s, barrier, results, knn_only))
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
    merged = FloorResult(completed=0, duration_s=duration_s, errors=defaultdict(int), latencies_ms=[])
    for latencies_ms, errors, filter_ms in outcomes:
        merged.latencies_ms += latencies_ms
        if by_filter_ms is not None:
            for name, values in filter_ms.items():
                by_filter_ms.setdefault(name, []).extend(values)
        for name, count in errors.items():
            merged.errors[name] += count
    merged.completed = len(merged.latencies_ms)
    merged.errors = dict(merged.errors)
    return merged


# --------------------------------------------------------------------------- plain-KNN floor (pgbench)


def prepare_knn_floor(url: str, queries: list[BenchQuery], size_label: str) -> dict[str, Path]:
    """Load the query list's points (per filter, in list order) and write one pgbench script per filter."""
    points = {name: [(q.lat, q.lon) for q in queries if q.filter_name == name] for name in FILTER_MIX}
    nearest_floor.load_points(url, points)
    return nearest_floor.write_scripts(
        common.BENCH_OUT_DIR / f"pgbench-nearest-{size_label}",
        FILTER_MIX,
        {name: len(pts) for name, pts in points.items()},
        LIMIT,
    )


def run_knn(url: str, scripts: dict[str, Path], *, clients: int, duration_s: float, label: str) -> PgbenchResult:
    """pgbench over the plain-KNN scripts: a warm-up (as the other floors have), then ``duration_s``."""
    threads = min(WRK_THREADS, clients)
    nearest_floor.run_pgbench(url, scripts, clients=clients, threads=threads, duration_s=FLOOR_WARMUP_S, label=label)
    return nearest_floor.run_pgbench(url, scripts, clients=clients, threads=threads, duration_s=duration_s, label=label)


# --------------------------------------------------------------------------- find_nearest's SQL via pgbench

CHECK_POINTS = 3  # per filter: pgbench's answers compared with find_nearest's before the runs
LOOKUP_WARMUP_S = 2.0


@dataclass
class NearestSqlFloor:
    """find_nearest's statements as pgbench scripts (bench/nearest_floor.py), and the lookup alone."""

    scripts: dict[str, Path]
    lookups: dict[str, Path]
    statements: dict[str, nearest_floor.NearestStatement]
    check: str  # how pgbench's answers compared with find_nearest's


def capture_nearest_sql(
    url: str, queries: list[BenchQuery], now: datetime
) -> dict[str, nearest_floor.NearestStatement]:
    """For each filter, the first statement and values find_nearest sends (``nearest_statements``: its own _filters,
    _posting_lists, _public_statement or _free_statement and parameters) for the filter's first query; its second
    query checks that only the point's values (nearest_floor.POINT_VALUES) change from one point to another. The
    confidential statement, which find_nearest runs after the public one only when a confidential cell lies within the
    public k-th, is left out (its share of the queries: confidential_share)."""
    engine = make_engine(url, pool_size=1)
    statements = {}
    try:
        for name in FILTER_MIX:
            first, second = [q for q in queries if q.filter_name == name][:2]
            seen = []
            for query in (first, second):
                with engine.connect() as connection:
                    captured = nearest_statements(connection, query.nearest_query(now))
                sql, params = captured.first.text, captured.params
                point = {"lat": query.lat, "lon": query.lon, "serves_lat": query.lat, "serves_lon": query.lon}
                wrong = {k: v for k, v in params.items() if k in point and v != point[k]}
                if wrong:
                    raise RuntimeError(f"{name}: point values {wrong} are not the query's ({query.lat}, {query.lon})")
                seen.append((sql, params))
            (sql, params), (sql2, params2) = seen
            varying = {k for k in params.keys() | params2.keys() if params.get(k) != params2.get(k)}
            if sql != sql2 or not varying <= set(nearest_floor.POINT_VALUES):
                raise RuntimeError(f"{name}: find_nearest's statement depends on more than the point: {varying}")
            statements[name] = nearest_floor.NearestStatement(sql, params)
    finally:
        engine.dispose()
    return statements


def check_nearest_sql(
    url: str, queries: list[BenchQuery], statements: dict[str, nearest_floor.NearestStatement], now: datetime, out_dir
) -> str:
    """Run each filter's script (pgbench, -M prepared) for its first CHECK_POINTS points and compare the answer,
    sorted and trimmed as find_nearest does, with find_nearest's: all of it for a statement that answers both parts,
    else its public results, which are its first ones (a confidential result displaces the farthest); a sentence for
    the report."""
    picks = {name: range(1, CHECK_POINTS + 1) for name in FILTER_MIX}
    rows = nearest_floor.check_nearest_sql(url, statements, picks, out_dir)
    engine = make_engine(url, pool_size=1)
    differ, compared, hits = [], 0, 0
    try:
        with engine.connect() as connection:
            for name in FILTER_MIX:
                for n, query in enumerate([q for q in queries if q.filter_name == name][:CHECK_POINTS], start=1):
                    nearest_query = query.nearest_query(now)
                    whole = nearest_statements(connection, nearest_query).confidential is None
                    ours = [
                        (h.card["service_id"], h.card["location_id"], round(h.distance_m, 6), h.serves_location)
                        for h in find_nearest(connection, nearest_query)
                        if whole or not h.card["confidential"]
                    ]
                    connection.rollback()
                    got = sorted(
                        (card["service_id"], card["location_id"], round(float(d), 6), serves_location)
                        for card, d, _bearing, serves_location in rows.get((name, n), [])
                        if card is not None  # the row of NULLs of an empty answer
                    )
                    got = sorted(got, key=lambda r: (r[2], r[0], r[1]))[: len(ours)]
                    compared += 1
                    hits += len(ours)
                    if got != ours:
                        differ.append(f"`{name}` point {n} ({len(got)} rows against {len(ours)})")
    finally:
        engine.dispose()
    if differ:
        return f"**pgbench's answers differ from find_nearest's** for {', '.join(differ)} (of {compared} checked)"
    return f"pgbench's answers equal find_nearest's for the {compared} points checked ({CHECK_POINTS} per filter, {hits} results)"


SHARE_QUERIES = 800  # the first of the mix: how many run find_nearest's confidential statement


def confidential_share(url: str, queries: list[BenchQuery], now: datetime) -> str:
    """How many of the mix's first SHARE_QUERIES queries run the confidential statement as well as the public one
    (find_nearest runs it when a confidential cell lies within the public k-th), overall and per filter, of those
    with a public statement of their own; a sentence for the report."""
    engine = make_engine(url, pool_size=1)
    runs: dict[str, list[bool]] = defaultdict(list)
    try:
        with engine.connect() as connection:
            for query in queries[:SHARE_QUERIES]:
                nearest_query = query.nearest_query(now)
                statements = nearest_statements(connection, nearest_query)
                if statements.confidential is not None:
                    _, reach_m = public_part(connection, nearest_query, statements)
                    runs[query.filter_name].append(reach_m is not None)
            connection.rollback()
    finally:
        engine.dispose()
    total = sum(sum(flags) for flags in runs.values())
    per_filter = ", ".join(f"`{name}` {sum(runs[name])}/{len(runs[name])}" for name in FILTER_MIX if name in runs)
    count = sum(len(flags) for flags in runs.values())
    return (
        f"the confidential statement runs for {total} of the {count} queries with a public statement of their own "
        f"among the first {SHARE_QUERIES} ({per_filter})"
    )


def prepare_nearest_sql(url: str, queries: list[BenchQuery], size_label: str, now: datetime) -> NearestSqlFloor:
    """find_nearest's statement per filter as pgbench scripts on the plain KNN's points (prepare_knn_floor loads
    them), checked against find_nearest."""
    statements = capture_nearest_sql(url, queries, now)
    counts = nearest_floor.per_filter_counts([q.filter_name for q in queries])
    out_dir = common.BENCH_OUT_DIR / f"pgbench-nearest-{size_label}"
    scripts, lookups = nearest_floor.write_nearest_scripts(out_dir, statements, counts)
    check = f"{check_nearest_sql(url, queries, statements, now, out_dir)}; {confidential_share(url, queries, now)}"
    log(f"  find_nearest SQL via pgbench: {check}")
    return NearestSqlFloor(scripts, lookups, statements, check)


def run_pgbench_mix(
    url: str, scripts: dict[str, Path], *, clients: int, duration_s: float, label: str, warmup_s: float = FLOOR_WARMUP_S
) -> PgbenchResult:
    """pgbench over a mix of scripts, as run_knn runs the plain KNN: a warm-up, then ``duration_s``."""
    threads = min(WRK_THREADS, clients)
    nearest_floor.run_pgbench(url, scripts, clients=clients, threads=threads, duration_s=warmup_s, label=label)
    return nearest_floor.run_pgbench(url, scripts, clients=clients, threads=threads, duration_s=duration_s, label=label)


def _knn_line(result: PgbenchResult) -> str:
    return f"{result.tps:.1f} tps, average {result.latency_avg_ms:.2f} ms, failed {result.failed}, aborted {result.aborted}"


# --------------------------------------------------------------------------- HTTP


def check_endpoint(server: common.Server, queries: list[BenchQuery], token: str) -> None:
    """One request per filter must answer 200 with results, before any load."""
    seen: set[str] = set()
    for query in queries:
        if query.filter_name in seen:
            continue
        seen.add(query.filter_name)
        status, body = common.get_json(server.base_url + query.path(), timeout_s=30, token=token)
        if 400 <= status < 500:  # the bench is misconfigured (token, parameters): stop here
            raise RuntimeError(f"{query.path()} answered {status}: {body}")
        if status != 200:  # the server is too slow or failing: that is a result, measure it
            log(f"  warning: {query.path()} answered {status}: {body.get('detail', body)}")
    if seen != set(FILTER_MIX):
        raise RuntimeError(f"query mix lacks filters {set(FILTER_MIX) - seen}")


def run_http(
    url: str, queries: list[BenchQuery], tokens: list[str], *, workers: int, duration_s: float, label: str
) -> common.HttpResult:
    paths = [query.path() for query in queries]
    extra_env = {"FIELDNAV_LIMIT_REQUESTS_PER_MIN": str(RATE_LIMIT_PER_MIN)}
    with common.fieldnav_server(url, workers=workers, label=label, extra_env=extra_env) as server:
        check_endpoint(server, queries, tokens[0])
        common.run_wrk(
            server.base_url,
            paths,
            tokens,
            connections=CONNECTIONS,
            threads=WRK_THREADS,
            duration_s=HTTP_WARMUP_S,
            label=label,
        )
        return common.run_wrk(
            server.base_url,
            paths,
            tokens,
            connections=CONNECTIONS,
            threads=WRK_THREADS,
            duration_s=duration_s,
            label=label,
        )


# --------------------------------------------------------------------------- latency by filter


def run_filter_probe(url: str, queries: list[BenchQuery]) -> dict[str, list[float]]:
    """Single connection, each filter in turn on its first queries of the mix: up to
    FILTER_PROBE_QUERIES per filter, at most FILTER_PROBE_MAX_S seconds per filter."""
    engine = make_engine(url, pool_size=1)
    latencies_ms: dict[str, list[float]] = {}
    try:
        with engine.connect() as connection:
            for name in FILTER_MIX:
                picked = [q for q in queries if q.filter_name == name][:FILTER_PROBE_QUERIES]
                latencies_ms[name] = _time_queries(connection, picked, FILTER_PROBE_MAX_S)
    finally:
        engine.dispose()
    return latencies_ms


def _time_queries(connection, queries: list[BenchQuery], budget_s: float) -> list[float]:
    latencies_ms: list[float] = []
    stop_at_s = time.monotonic() + budget_s
    for query in queries:
        if time.monotonic() > stop_at_s:
            break
        started_s = time.monotonic()
        with contextlib.suppress(Exception):  # a timeout is timed like a result
            find_nearest(connection, query.nearest_query(datetime.now(UTC)))
        connection.rollback()
        latencies_ms.append((time.monotonic() - started_s) * 1000)
    return latencies_ms


# --------------------------------------------------------------------------- no full walk


@dataclass
class NoWalkResult:
    where: str
    hits: int
    p50_ms: float
    max_ms: float
    shared_buffers: int  # hit + read
    execution_ms: float  # EXPLAIN ANALYZE
    rows_scanned: int  # rows the index scans returned before the filters


def capture_statements(engine, query: NearestQuery) -> list[tuple[str, dict]]:
    """The statements and parameters find_nearest sends for ``query`` (``nearest_statements``: the public one, and
    the confidential one when it runs it), with psycopg's %(name)s placeholders, for a plain cursor's EXPLAIN."""
    with engine.connect() as connection:
        statements = nearest_statements(connection, query)
        reach_m = None if statements.confidential is None else public_part(connection, query, statements)[1]
    captured = [(statements.first.compile(dialect=engine.dialect).string, statements.params)]
    if statements.confidential is not None and reach_m is not None:
        params = {**statements.params, "reach_m": reach_m}
        captured.append((statements.confidential.compile(dialect=engine.dialect).string, params))
    return captured


def explain(engine, statements: list[tuple[str, dict]]) -> list[dict]:
    plans = []
    with engine.connect() as connection:
        cursor = connection.connection.driver_connection.cursor()
        for statement, parameters in statements:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, parameters)
            plans.append(cursor.fetchone()[0][0])
        connection.rollback()
    return plans


def explain_text(engine, statements: list[tuple[str, dict]]) -> str:
    chunks = []
    with engine.connect() as connection:
        cursor = connection.connection.driver_connection.cursor()
        for statement, parameters in statements:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            chunks.append("\n".join(row[0] for row in cursor.fetchall()))
        connection.rollback()
    return "\n\n".join(chunks)


def _scan_rows(node: dict) -> int:
    own = node.get("Actual Rows", 0) * node.get("Actual Loops", 1) + node.get("Rows Removed by Filter", 0)
    scanned = own if "Scan" in node.get("Node Type", "") else 0
    return scanned + sum(_scan_rows(child) for child in node.get("Plans", []))


def run_no_walk(url: str, size_label: str) -> list[NoWalkResult]:
    engine = make_engine(url, pool_size=1)
    results = []
    try:
        for where, (lat, lon) in NO_WALK_POINTS.items():
            params = {"lat": str(lat), "lon": str(lon), "limit": str(LIMIT), **NOTHING_FILTER}
            query = nearest_query_from_params(params, datetime.now(UTC))
            latencies_ms, hits = [], 0
            with engine.connect() as connection:
                stop_at_s = time.monotonic() + NO_WALK_MAX_S
                for _ in range(NO_WALK_REPEATS):
                    if latencies_ms and time.monotonic() > stop_at_s:
                        break
                    started_s = time.monotonic()
                    hits = len(find_nearest(connection, query))
                    latencies_ms.append((time.monotonic() - started_s) * 1000)
                    connection.rollback()
            statements = capture_statements(engine, query)
            plans = explain(engine, statements)
            _write_explain(size_label, where, explain_text(engine, statements))
            results.append(
                NoWalkResult(
                    where=where,
                    hits=hits,
                    p50_ms=percentile(latencies_ms, 0.5),
                    max_ms=max(latencies_ms),
                    shared_buffers=sum(
                        p["Plan"].get("Shared Hit Blocks", 0) + p["Plan"].get("Shared Read Blocks", 0) for p in plans
                    ),
                    execution_ms=sum(p["Execution Time"] for p in plans),
                    rows_scanned=sum(_scan_rows(p["Plan"]) for p in plans),
                )
            )
    finally:
        engine.dispose()
    return results


def _write_explain(size_label: str, where: str, plan_text: str) -> None:
    common.BENCH_OUT_DIR.mkdir(parents=True, exist_ok=True)
    slug = "".join(c if c.isalnum() else "-" for c in where.split(" (")[0].lower())
    (common.BENCH_OUT_DIR / f"explain-nearest-{size_label}-{slug}.txt").write_text(plan_text + "\n")


# --------------------------------------------------------------------------- profiles

EXPLAIN_QUERIES = 3  # per filter, the first of the mix


def explain_by_filter(url: str, queries: list[BenchQuery], out_dir: Path) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of find_nearest's statement and of the plain KNN on the first
    queries of each filter: planning and execution time, buffers (medians); plans in ``out_dir``."""
    engine = make_engine(url, pool_size=1)
    lines = [
        "| filter | find_nearest: plan ms | exec ms | buffers | plain KNN: plan ms | exec ms | buffers |",
        "|---|---|---|---|---|---|---|",
    ]
    try:
        for name, params in FILTER_MIX.items():
            ours, knn = nearest_profile.ExplainStats(), nearest_profile.ExplainStats()
            plan_text = []
            for query in [q for q in queries if q.filter_name == name][:EXPLAIN_QUERIES]:
                statements = capture_statements(engine, query.nearest_query(datetime.now(UTC)))
                nearest_profile.add_plan(ours, explain(engine, statements))
                knn_statement = nearest_floor.knn_sql(params, nearest_floor.literal_point(query.lat, query.lon), LIMIT)
                knn_plan = ""
                with engine.connect() as connection:
                    cursor = connection.connection.driver_connection.cursor()
                    nearest_profile.add_plan(knn, [nearest_profile.explain_json(cursor, knn_statement)])
                    if not plan_text:
                        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + knn_statement)
                        knn_plan = "\n".join(row[0] for row in cursor.fetchall())
                    connection.rollback()
                if not plan_text:  # the first query's plans, in full (its own connection: the pool holds one)
                    plan_text = [
                        f"-- find_nearest, {query.path()}",
                        explain_text(engine, statements),
                        "",
                        "-- plain KNN",
                        knn_statement,
                        knn_plan,
                    ]
            (out_dir / f"explain-{nearest_floor.slug(name)}.txt").write_text("\n".join(plan_text) + "\n")
            lines.append(
                f"| `{name}` | {median(ours.planning_ms):.2f} | {median(ours.execution_ms):.2f} | {median(ours.buffers):.0f} "
                f"| {median(knn.planning_ms):.2f} | {median(knn.execution_ms):.2f} | {median(knn.buffers):.0f} |"
            )
    finally:
        engine.dispose()
    return "\n".join(lines)


def _label_pgbench_statements(statements: list[nearest_profile.Statement]) -> list[nearest_profile.Statement]:
    """pg_stat_statements' rows with find_nearest's statement run by pgbench, and its lookup, named as such
    (nearest_profile.statement_label would call them "find_nearest" and "plain KNN"): their text carries
    nearest_floor's marks."""
    labelled = []
    for s in statements:
        if nearest_floor.LOOKUP_MARK in s.query:
            s = dataclasses.replace(s, query="find_nearest SQL via pgbench: its point lookup")
        elif nearest_floor.NEAREST_MARK in s.query:
            kind = nearest_profile.statement_label(s.query).removeprefix("find_nearest, ")
            s = dataclasses.replace(s, query=f"find_nearest SQL via pgbench, {kind}")
        labelled.append(s)
    return labelled


def run_profile(
    cluster,
    url: str,
    label: str,
    queries: list[BenchQuery],
    tokens: list[str],
    scripts,
    args,
    sql: NearestSqlFloor | None = None,
) -> str:
    """After the measured runs (not in the medians): pg_stat_statements around find_nearest at
    16 connections, the plain KNN at 16, find_nearest's statement via pgbench at 16 (``sql``) and
    HTTP; EXPLAIN per filter; py-spy on the HTTP workers. Everything is written to
    bench/out/profile-nearest-<size>/ as well."""
    out_dir = nearest_profile.profile_dir(label)
    dbname = str(make_url(url).database)
    duration_s = args.duration_s
    pgss_missing = args.pgss_missing
    chunks = [
        f"Written to `{out_dir.relative_to(common.PROJECT_DIR)}/`: `summary.md` (this), `py-spy-http.txt` (collapsed "
        f"stacks), `explain-<filter>.txt`. After the measured runs, {duration_s:.0f} s per phase (after its warm-up)."
    ]
    if pgss_missing is None:
        nearest_profile.set_planning_tracking(cluster, dbname, on=True)
    else:
        chunks.append(f"**pg_stat_statements not used**: {pgss_missing}. EXPLAIN below only.")

    def statements(title: str, action) -> str:
        if pgss_missing is None:
            nearest_profile.reset_statements(cluster, dbname)
        started_s = time.monotonic()
        outcome = action()
        wall_s = time.monotonic() - started_s
        text_ = f"#### {title}: {outcome}\n\n"
        if pgss_missing is None:
            top = _label_pgbench_statements(nearest_profile.top_statements(cluster, dbname))
            text_ += f"pg_stat_statements over {wall_s:.0f} s (warm-up included):\n\n"
            text_ += nearest_profile.statements_table(top, wall_s)
        return text_

    try:
        log(f"{label} profile: find_nearest, {CONNECTIONS} connections")
        chunks.append(
            statements(
                f"find_nearest, {CONNECTIONS} processes",
                lambda: _floor_line(run_floor(url, queries, connections=CONNECTIONS, duration_s=duration_s)),
            )
        )
        log(f"{label} profile: plain KNN, {CONNECTIONS} connections")
        chunks.append(
            statements(
                f"plain KNN (pgbench), {CONNECTIONS} connections",
                lambda: _knn_line(
                    run_knn(url, scripts, clients=CONNECTIONS, duration_s=duration_s, label=f"{label}-p")
                ),
            )
        )
        if sql is not None:
            log(f"{label} profile: find_nearest SQL (pgbench), {CONNECTIONS} connections")
            chunks.append(
                statements(
                    f"find_nearest SQL (pgbench), {CONNECTIONS} connections",
                    lambda: _knn_line(
                        run_pgbench_mix(
                            url, sql.scripts, clients=CONNECTIONS, duration_s=duration_s, label=f"{label}-psql"
                        )
                    ),
                )
            )
        workers = args.workers[0]
        spy_path = out_dir / "py-spy-http.txt"
        log(f"{label} profile: HTTP, {workers} workers, under py-spy")
        chunks.append(
            statements(
                f"HTTP, {workers} workers, {CONNECTIONS} connections, under py-spy",
                lambda: _http_profiled(url, queries, tokens, workers, duration_s, spy_path, label),
            )
        )
        chunks.append(
            "#### py-spy, `fieldnav serve` workers under the HTTP load\n\n"
            + nearest_profile.spy_text(nearest_profile.summarise_spy(spy_path))
        )
    finally:
        if pgss_missing is None:
            nearest_profile.set_planning_tracking(cluster, dbname, on=False)
    log(f"{label} profile: EXPLAIN per filter")
    chunks.append(
        f"#### EXPLAIN (ANALYZE, BUFFERS), the first {EXPLAIN_QUERIES} queries of each filter (medians)\n\n"
        "find_nearest's statement as it sends it (planned with its values; planning time included), the plain KNN "
        "with the point inlined (pgbench runs it prepared, so its planning is mostly saved).\n\n"
        + explain_by_filter(url, queries, out_dir)
    )
    text_ = "\n\n".join(chunks)
    (out_dir / "summary.md").write_text(text_ + "\n")
    return text_


def _http_profiled(
    url: str, queries: list[BenchQuery], tokens: list[str], workers: int, duration_s: float, spy_path: Path, label: str
) -> str:
    paths = [query.path() for query in queries]
    extra_env = {"FIELDNAV_LIMIT_REQUESTS_PER_MIN": str(RATE_LIMIT_PER_MIN)}
    with common.fieldnav_server(url, workers=workers, label=f"{label}-profile", extra_env=extra_env) as server:
        check_endpoint(server, queries, tokens[0])
        common.run_wrk(
            server.base_url,
            paths,
            tokens,
            connections=CONNECTIONS,
            threads=WRK_THREADS,
            duration_s=HTTP_WARMUP_S,
            label=label,
        )
        with nearest_profile.spying(server.process.pid, spy_path, max(1.0, duration_s - 1)):
            http = common.run_wrk(
                server.base_url,
                paths,
                tokens,
                connections=CONNECTIONS,
                threads=WRK_THREADS,
                duration_s=duration_s,
                label=label,
            )
    return f"{_qps(http.qps)} req/s, p50 {http.p50_ms:.1f} ms, p99 {http.p99_ms:.1f} ms, errors {http.errors}"


# --------------------------------------------------------------------------- one size


@dataclass
class SizeResults:
    label: str
    services: int
    sites: int
    floor16: list[FloorResult] = field(default_factory=list)
    floor1: list[FloorResult] = field(default_factory=list)
    http: dict[int, list[common.HttpResult]] = field(default_factory=lambda: defaultdict(list))
    floor1_by_filter_ms: list[dict[str, list[float]]] = field(default_factory=list)  # per run
    knn16: list[PgbenchResult] = field(default_factory=list)
    knn1: list[PgbenchResult] = field(default_factory=list)
    python_knn1: list[FloorResult] = field(default_factory=list)  # the plain KNN from Python, 1 connection
    floor16_by_filter_ms: list[dict[str, list[float]]] = field(default_factory=list)  # per run
    sql16: list[PgbenchResult] = field(default_factory=list)  # find_nearest's statement via pgbench
    sql1: list[PgbenchResult] = field(default_factory=list)
    lookup16: list[PgbenchResult] = field(default_factory=list)  # its per-transaction lookup alone
    lookup1: list[PgbenchResult] = field(default_factory=list)
    sql_check: str = ""  # pgbench's answers against find_nearest's
    no_walk: list[NoWalkResult] = field(default_factory=list)
    by_filter_ms: dict[str, list[float]] = field(default_factory=dict)
    schema: tuple[str, tuple[str, ...]] = ("", ())  # alembic revision, service_site indexes
    profile: str = ""  # --profile's markdown


def bench_size(cluster, label: str, queries: list[BenchQuery], tokens: list[str], args) -> SizeResults:
    services = common.SIZES[label]
    url = common.database_url(cluster, f"bench_{label}")
    common.load_demo_services(url, services, reload=args.reload)
    engine = make_engine(url, pool_size=1)
    results = SizeResults(label, services, common.site_count(engine))
    results.schema = common.schema_summary(engine)
    engine.dispose()
    duration_s = args.duration_s
    scripts = prepare_knn_floor(url, queries, label)
    sql = prepare_nearest_sql(url, queries, label, datetime.now(UTC))
    results.sql_check = sql.check
    for run in range(1, args.runs + 1):
        log(f"{label} run {run}/{args.runs}: SQL floor, {CONNECTIONS} connections, {duration_s:.0f} s")
        results.floor16_by_filter_ms.append({})
        results.floor16.append(
            run_floor(
                url,
                queries,
                connections=CONNECTIONS,
                duration_s=duration_s,
                by_filter_ms=results.floor16_by_filter_ms[-1],
            )
        )
        log(f"  {_floor_line(results.floor16[-1])}")
        log(f"{label} run {run}/{args.runs}: SQL floor, 1 connection, {SINGLE_CONNECTION_DURATION_S:.0f} s")
        results.floor1_by_filter_ms.append({})
        results.floor1.append(
            run_floor(
                url,
                queries,
                connections=1,
                duration_s=SINGLE_CONNECTION_DURATION_S,
                by_filter_ms=results.floor1_by_filter_ms[-1],
            )
        )
        log(f"  {_floor_line(results.floor1[-1])}")
        log(f"{label} run {run}/{args.runs}: plain KNN from Python, 1 connection, {SINGLE_CONNECTION_DURATION_S:.0f} s")
        results.python_knn1.append(
            run_floor(url, queries, connections=1, duration_s=SINGLE_CONNECTION_DURATION_S, knn_only=True)
        )
        log(f"  {_floor_line(results.python_knn1[-1])}")
        log(f"{label} run {run}/{args.runs}: plain-KNN floor (pgbench), {CONNECTIONS} connections, {duration_s:.0f} s")
        results.knn16.append(run_knn(url, scripts, clients=CONNECTIONS, duration_s=duration_s, label=f"{label}-16"))
        log(f"  {_knn_line(results.knn16[-1])}")
        log(
            f"{label} run {run}/{args.runs}: plain-KNN floor (pgbench), 1 connection, {SINGLE_CONNECTION_DURATION_S:.0f} s"
        )
        results.knn1.append(
            run_knn(url, scripts, clients=1, duration_s=SINGLE_CONNECTION_DURATION_S, label=f"{label}-1")
        )
        log(f"  {_knn_line(results.knn1[-1])}")
        run_nearest_sql(url, sql, results, run, args)
        for workers in args.workers:
            log(
                f"{label} run {run}/{args.runs}: HTTP, {workers} workers, {CONNECTIONS} connections, {duration_s:.0f} s"
            )
            http = run_http(url, queries, tokens, workers=workers, duration_s=duration_s, label=f"{label}-w{workers}")
            results.http[workers].append(http)
            log(f"  {_qps(http.qps)} req/s, p50 {http.p50_ms:.1f} ms, p99 {http.p99_ms:.1f} ms, errors {http.errors}")
    log(f"{label}: latency by filter, 1 connection")
    results.by_filter_ms = run_filter_probe(url, queries)
    log(f"{label}: no-full-walk check")
    results.no_walk = run_no_walk(url, label)
    if args.profile:
        results.profile = run_profile(cluster, url, label, queries, tokens, scripts, args, sql)
    return results


def run_nearest_sql(url: str, sql: NearestSqlFloor, results: SizeResults, run: int, args) -> None:
    """find_nearest's statement via pgbench at 16 and 1 connections (the floors' durations), then the lookup alone."""
    label, duration_s = results.label, args.duration_s
    for what, scripts, warmup_s, at16, at1 in (
        ("find_nearest SQL (pgbench)", sql.scripts, FLOOR_WARMUP_S, results.sql16, results.sql1),
        ("its point lookup alone (pgbench)", sql.lookups, LOOKUP_WARMUP_S, results.lookup16, results.lookup1),
    ):
        for clients, seconds, into in (
            (CONNECTIONS, duration_s, at16),
            (1, SINGLE_CONNECTION_DURATION_S, at1),
        ):
            log(f"{label} run {run}/{args.runs}: {what}, {clients} connection{'s' * (clients > 1)}, {seconds:.0f} s")
            into.append(
                run_pgbench_mix(
                    url, scripts, clients=clients, duration_s=seconds, label=f"{label}-sql{clients}", warmup_s=warmup_s
                )
            )
            log(f"  {_knn_line(into[-1])}")


def _floor_line(result: FloorResult) -> str:
    return f"{result.qps:.1f} q/s, p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms, errors {result.errors or 0}"


# --------------------------------------------------------------------------- report


def med(values) -> float:
    return median(list(values))


@dataclass
class Summary:
    floor16_qps: float
    floor16_p50_ms: float
    floor16_p99_ms: float
    floor1_p50_ms: float
    floor1_p99_ms: float
    http_qps: dict[int, float]
    http_p50_ms: dict[int, float]
    http_p99_ms: dict[int, float]
    http_errors: dict[int, int]
    knn16_tps: float
    knn1_avg_ms: float  # pgbench's average
    knn1_p50_ms: float  # the median of its transactions
    python_knn1_p50_ms: float  # the plain KNN from Python (plain_knn)
    knn16_p50_ms: float
    knn16_p99_ms: float
    knn_errors: int
    floor_errors: int


def summarise(results: SizeResults) -> Summary:
    return Summary(
        floor16_qps=med(r.qps for r in results.floor16),
        floor16_p50_ms=med(r.p50_ms for r in results.floor16),
        floor16_p99_ms=med(r.p99_ms for r in results.floor16),
        floor1_p50_ms=med(r.p50_ms for r in results.floor1),
        floor1_p99_ms=med(r.p99_ms for r in results.floor1),
        http_qps={w: med(r.qps for r in runs) for w, runs in results.http.items()},
        http_p50_ms={w: med(r.p50_ms for r in runs) for w, runs in results.http.items()},
        http_p99_ms={w: med(r.p99_ms for r in runs) for w, runs in results.http.items()},
        http_errors={w: sum(r.errors for r in runs) for w, runs in results.http.items()},
        knn16_tps=med(r.tps for r in results.knn16),
        knn1_avg_ms=med(r.latency_avg_ms for r in results.knn1),
        knn1_p50_ms=med(r.latency_p50_ms for r in results.knn1),
        python_knn1_p50_ms=med(r.p50_ms for r in results.python_knn1),
        knn16_p50_ms=med(r.latency_p50_ms for r in results.knn16),
        knn16_p99_ms=med(r.latency_p99_ms for r in results.knn16),
        knn_errors=sum(r.errors for r in results.knn16 + results.knn1),
        floor_errors=sum(sum(r.errors.values()) for r in results.floor16 + results.floor1),
    )


def _amount(value: float) -> str:
    """A ratio's term: two decimals below 10 (latencies in ms), one above (rates)."""
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def _qps(value: float) -> str:
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}"


def _runs_text(values) -> str:
    return ", ".join(_qps(v) for v in values)


def _errors_text(runs: list[FloorResult]) -> str:
    totals: dict[str, int] = defaultdict(int)
    for run in runs:
        for name, count in run.errors.items():
            totals[name] += count
    return ", ".join(f"{count} {name}" for name, count in sorted(totals.items())) or "0"


def results_table(all_results: list[SizeResults], workers: list[int]) -> str:
    lines = [
        "| size | sites | what | connections | queries/s | p50 ms | p99 ms | errors | runs (queries/s) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for results in all_results:
        s = summarise(results)
        prefix = f"| {results.label} ({results.services:,} services) | {results.sites:,} "
        lines.append(
            prefix + f"| SQL floor | 1 | {_qps(med(r.qps for r in results.floor1))} | {s.floor1_p50_ms:.1f} | "
            f"{s.floor1_p99_ms:.1f} | {_errors_text(results.floor1)} | {_runs_text(r.qps for r in results.floor1)} |"
        )
        runs = results.python_knn1
        lines.append(
            prefix + f"| plain KNN from Python (psycopg) | 1 | {_qps(med(r.qps for r in runs))} | "
            f"{s.python_knn1_p50_ms:.2f} | {med(r.p99_ms for r in runs):.2f} | {_errors_text(runs)} | "
            f"{_runs_text(r.qps for r in runs)} |"
        )
        lines.append(
            prefix + f"| SQL floor | {CONNECTIONS} | {_qps(s.floor16_qps)} | {s.floor16_p50_ms:.1f} | "
            f"{s.floor16_p99_ms:.1f} | {_errors_text(results.floor16)} | {_runs_text(r.qps for r in results.floor16)} |"
        )
        for what, at1, at16 in (
            ("plain-KNN floor (pgbench)", results.knn1, results.knn16),
            ("find_nearest SQL (pgbench)", results.sql1, results.sql16),
            ("its point lookup alone (pgbench)", results.lookup1, results.lookup16),
        ):
            for connections, runs in ((1, at1), (CONNECTIONS, at16)):
                if not runs:
                    continue
                lines.append(
                    prefix + f"| {what} | {connections} | {_qps(med(r.tps for r in runs))} | "
                    f"{med(r.latency_p50_ms for r in runs):.2f} (avg {med(r.latency_avg_ms for r in runs):.2f}) | "
                    f"{med(r.latency_p99_ms for r in runs):.2f} | "
                    f"{sum(r.errors for r in runs)} | "
                    f"{_runs_text(r.tps for r in runs)} |"
                )
        for w in workers:
            runs = results.http[w]
            lines.append(
                prefix + f"| HTTP, {w} workers | {CONNECTIONS} | {_qps(s.http_qps[w])} | {s.http_p50_ms[w]:.1f} | "
                f"{s.http_p99_ms[w]:.1f} | {s.http_errors[w]} | {_runs_text(r.qps for r in runs)} |"
            )
    return "\n".join(lines)


def per_filter_table(all_results: list[SizeResults]) -> str:
    header = "| filter | " + " | ".join(f"{r.label}: p50 / max ms (queries)" for r in all_results) + " |"
    lines = [header, "|---|" + "---|" * len(all_results)]
    for name in FILTER_MIX:
        cells = []
        for results in all_results:
            values = results.by_filter_ms.get(name, [])
            cells.append(f"{percentile(values, 0.5):.1f} / {max(values, default=float('nan')):.1f} ({len(values)})")
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def knn_filter_table(all_results: list[SizeResults]) -> str:
    """Per filter, on one connection, in the same runs: pgbench's average latency of each plain-KNN
    script against find_nearest's p50 and mean (the SQL floor's 1-connection runs, split by filter);
    pgbench's tps per script at 16 connections (its share of the mix, about 1/9). Medians over runs."""
    lines = [
        "| size | filter | plain KNN, 1 conn: avg ms | plain KNN, 16 conn: tps / avg ms | "
        "find_nearest, 1 conn: p50 / mean ms (queries) | find_nearest p50 / plain KNN avg | mean / avg |",
        "|---|---|---|---|---|---|---|",
    ]
    for results in all_results:
        for name in FILTER_MIX:
            knn1_ms = med(r.by_script[name].latency_avg_ms for r in results.knn1 if name in r.by_script)
            stats16 = [r.by_script[name] for r in results.knn16 if name in r.by_script]
            runs = [run.get(name, []) for run in results.floor1_by_filter_ms]
            p50_ms = med(percentile(v, 0.5) for v in runs if v)
            mean_ms = med(sum(v) / len(v) for v in runs if v)
            count = sum(len(v) for v in runs)
            lines.append(
                f"| {results.label} | `{name}` | {knn1_ms:.2f} | {med(x.tps for x in stats16):.1f} / "
                f"{med(x.latency_avg_ms for x in stats16):.2f} | {p50_ms:.1f} / {mean_ms:.1f} ({count}) | "
                f"{ratio(p50_ms, knn1_ms):.1f} | {ratio(mean_ms, knn1_ms):.1f} |"
            )
        s = summarise(results)
        mean1_ms = med(sum(r.latencies_ms) / len(r.latencies_ms) for r in results.floor1 if r.latencies_ms)
        lines.append(
            f"| {results.label} | **whole mix** | {s.knn1_avg_ms:.2f} | {s.knn16_tps:.1f} / "
            f"{med(r.latency_avg_ms for r in results.knn16):.2f} | {s.floor1_p50_ms:.1f} / {mean1_ms:.1f} | "
            f"{ratio(s.floor1_p50_ms, s.knn1_avg_ms):.1f} | {ratio(mean1_ms, s.knn1_avg_ms):.1f} |"
        )
    return "\n".join(lines)


def _cost_cells(knn: float, sql: float, lookup: float, python: float, *, tps: bool) -> str:
    """Cells of a decomposition row: plain KNN, find_nearest SQL, the lookup, the SQL less the lookup, find_nearest,
    then the statement and client costs (time per query against time per query, so > 1 is dearer). Latencies
    (ms) subtract; rates (tps) subtract as times per transaction, 1 / (1 / sql - 1 / lookup)."""
    if tps:
        net = 1 / (1 / sql - 1 / lookup) if sql and lookup and sql < lookup else float("nan")
        statement, client = ratio(knn, net), ratio(net, python)
        values = f"{_qps(knn)} | {_qps(sql)} | {_qps(lookup)} | ≈ {_qps(net)} | {_qps(python)}"
    else:
        net = sql - lookup
        statement, client = ratio(net, knn), ratio(python, net)
        values = f"{knn:.2f} | {sql:.2f} | {lookup:.2f} | ≈ {net:.2f} | {python:.2f}"
    return f"{values} | **{statement:.2f}** | **{client:.2f}** |"


def decomposition_table(all_results: list[SizeResults]) -> str:
    """Per filter and for the whole mix, at 1 and 16 connections (medians over runs): the plain KNN (pgbench),
    find_nearest's statement (pgbench), its per-transaction lookup alone (pgbench), and find_nearest itself (the
    Python floor, split by filter); the statement cost and the client cost."""
    lines = [
        "| size | filter | connections | unit | plain KNN (pgbench) | find_nearest SQL (pgbench) | its lookup alone | "
        "SQL less lookup | find_nearest (Python) | statement cost | client cost |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]

    def script_ms(runs: list[PgbenchResult], name: str) -> float:
        return med(r.by_script[name].latency_avg_ms for r in runs if name in r.by_script)

    def python_mean_ms(by_filter: list[dict[str, list[float]]], name: str) -> float:
        return med(sum(v) / len(v) for run in by_filter if (v := run.get(name)))

    for results in all_results:
        if not results.sql1 or not results.sql16:
            continue
        for name in FILTER_MIX:
            for connections, knn, sql, lookup, by_filter in (
                (1, results.knn1, results.sql1, results.lookup1, results.floor1_by_filter_ms),
                (CONNECTIONS, results.knn16, results.sql16, results.lookup16, results.floor16_by_filter_ms),
            ):
                lines.append(
                    f"| {results.label} | `{name}` | {connections} | avg ms | "
                    + _cost_cells(
                        script_ms(knn, name),
                        script_ms(sql, name),
                        script_ms(lookup, name),
                        python_mean_ms(by_filter, name),
                        tps=False,
                    )
                )
        mean1_ms = med(sum(r.latencies_ms) / len(r.latencies_ms) for r in results.floor1 if r.latencies_ms)
        lines.append(
            f"| {results.label} | **whole mix** | 1 | avg ms | "
            + _cost_cells(
                med(r.latency_avg_ms for r in results.knn1),
                med(r.latency_avg_ms for r in results.sql1),
                med(r.latency_avg_ms for r in results.lookup1),
                mean1_ms,
                tps=False,
            )
        )
        lines.append(
            f"| {results.label} | **whole mix** | {CONNECTIONS} | tps | "
            + _cost_cells(
                med(r.tps for r in results.knn16),
                med(r.tps for r in results.sql16),
                med(r.tps for r in results.lookup16),
                med(r.qps for r in results.floor16),
                tps=True,
            )
        )
    return "\n".join(lines)


def decomposition_text(all_results: list[SizeResults]) -> str:
    checks = "; ".join(f"{r.label}: {r.sql_check}" for r in all_results if r.sql_check)
    return f"""On this machine the 16 Python processes of the find_nearest floor share the CPUs with PostgreSQL, while
pgbench's C client costs almost nothing: part of the gap to the plain KNN is the client, not the SQL. A third
measurement splits it: **find_nearest's own statement run by pgbench** (`bench/nearest_floor.py`), the exact SQL it
sends for each filter (captured from `find_nearest` itself: `_filters`, `_posting_lists`, `_public_statement` and the
values it binds; the first statement alone: the public part, or both parts for `shelter+capacity`
(`_free_statement`); after the public part find_nearest runs the confidential one only when a confidential cell lies
within the public k-th, for the share of queries given below; `fresh_since` and `open_at` fixed at the start of the size's runs), `-M prepared`, one script per
filter with weight 1, the same points and durations as the plain KNN, at 1 and {CONNECTIONS} connections. pgbench
has no string values, so each transaction first reads the point and the filter's values with a prepared `\\gset`
lookup (a round trip the plain KNN does not make); the lookup is also run alone, and "SQL less lookup" subtracts it
(latencies directly; at {CONNECTIONS} connections as times per transaction, 1 / (1 / tps - 1 / lookup tps): an
estimate). find_nearest prepares every statement, `shelter+capacity` included, as pgbench does. Checked before the runs: {checks or "not run"}.

- **statement cost** = find_nearest SQL less lookup (pgbench) / plain KNN (pgbench), as time per query: what
  find_nearest's statement costs over the simplest KNN, with a client that is not the bottleneck;
- **client cost** = find_nearest (Python) / find_nearest SQL less lookup (pgbench), as time per query: SQLAlchemy,
  psycopg and the 16 Python processes competing with PostgreSQL for the cores.

Their product is find_nearest / plain KNN: at {CONNECTIONS} connections the inverse of the goal's throughput ratio
(goal >= {GOALS["nearest_knn_qps_ratio_min"]:.2f}, so product <= {1 / GOALS["nearest_knn_qps_ratio_min"]:.1f}); at 1
connection find_nearest's mean / the plain KNN's average (the goal itself takes the p50). Per filter both connection
counts compare average latencies (pgbench's per-script average, the floor's mean for that filter); the whole mix at
{CONNECTIONS} compares throughput. Medians over runs.

{decomposition_table(all_results)}"""


def knn_goals_table(all_results: list[SizeResults], workers: list[int]) -> str:
    """Issue 21's ratios, each with its goal (GOALS) and whether it is met."""
    lines = ["| ratio | size | value | goal | verdict |", "|---|---|---|---|---|"]

    def row(name: str, size: str, numerator: float, denominator: float, limit: float, *, at_least: bool) -> None:
        value = ratio(numerator, denominator)
        goal = f">= {limit:.2f}" if at_least else f"<= {limit:.2f}"
        lines.append(
            f"| {name} | {size} | {_amount(numerator)} / {_amount(denominator)} = **{value:.2f}** | {goal} | "
            f"{_verdict(within(value, limit, at_least=at_least))} |"
        )

    by_label = {r.label: summarise(r) for r in all_results}
    for label, s in by_label.items():
        row(
            f"find_nearest q/s / plain-KNN tps, {CONNECTIONS} connections",
            label,
            s.floor16_qps,
            s.knn16_tps,
            GOALS["nearest_knn_qps_ratio_min"],
            at_least=True,
        )
        row(
            "find_nearest p50 / plain-KNN p50, 1 connection (ms)",
            label,
            s.floor1_p50_ms,
            s.knn1_p50_ms,
            GOALS["nearest_knn_latency_ratio_max"],
            at_least=False,
        )
        # Not the goal: both through the same Python client (psycopg), so the ratio holds what
        # find_nearest's statement and code add, and not the client pgbench does not pay.
        numerator, denominator = s.floor1_p50_ms, s.python_knn1_p50_ms
        lines.append(
            "| find_nearest p50 / plain-KNN p50, both from Python (psycopg, as find_nearest sends its statements), "
            f"1 connection (ms; like for like, for reference) | {label} | {numerator:.2f} / {denominator:.2f} = "
            f"**{ratio(numerator, denominator):.2f}** | - | reference |"
        )
        for w in workers:
            row(
                f"HTTP req/s ({w} workers) / plain-KNN tps, {CONNECTIONS} connections",
                label,
                s.http_qps[w],
                s.knn16_tps,
                GOALS["http_knn_qps_ratio_min"],
                at_least=True,
            )
            row(
                f"HTTP p99 / p50 ({w} workers, {CONNECTIONS} connections, ms)",
                label,
                s.http_p99_ms[w],
                s.http_p50_ms[w],
                GOALS["http_p99_p50_ratio_max"],
                at_least=False,
            )
        # Not a goal: the tail of the simplest query under the same 16 connections, by pgbench's C
        # client, is the machine's own (2 cores shared by the server and its clients).
        p99_ms, p50_ms = s.knn16_p99_ms, s.knn16_p50_ms
        lines.append(
            f"| plain-KNN p99 / p50, {CONNECTIONS} connections (pgbench: the machine's own tail, for reference) | "
            f"{label} | {p99_ms:.1f} / {p50_ms:.1f} = **{ratio(p99_ms, p50_ms):.2f}** | - | reference |"
        )
    small, large = by_label.get("100k"), by_label.get("1m")
    if small and large:
        for w in workers:
            for what, big, little in (
                ("p50", large.http_p50_ms[w], small.http_p50_ms[w]),
                ("p99", large.http_p99_ms[w], small.http_p99_ms[w]),
            ):
                row(
                    f"HTTP {what} 1M / 100k ({w} workers, ms)",
                    "1m / 100k",
                    big,
                    little,
                    GOALS["latency_growth_max"],
                    at_least=False,
                )
        row(
            "find_nearest p50 1M / 100k, 1 connection (ms)",
            "1m / 100k",
            large.floor1_p50_ms,
            small.floor1_p50_ms,
            GOALS["latency_growth_max"],
            at_least=False,
        )
    else:
        lines.append(
            f"| latency 1M / 100k | - | not measured (`--sizes` lacks 1m) | <= {GOALS['latency_growth_max']} | n/a |"
        )
    errors = sum(s.knn_errors + s.floor_errors + sum(s.http_errors.values()) for s in by_label.values())
    lines.append(
        f"| errors (find_nearest floor, plain-KNN failed or aborted, HTTP non-2xx or socket) | all | **{errors}** | 0 | "
        f"{_verdict(errors == 0)} |"
    )
    return "\n".join(lines)


def no_walk_table(all_results: list[SizeResults]) -> str:
    lines = [
        "| size | where | results | p50 ms | max ms | EXPLAIN ms | shared buffers | rows scanned |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for results in all_results:
        for r in results.no_walk:
            lines.append(
                f"| {results.label} | {r.where} | {r.hits} | {r.p50_ms:.1f} | {r.max_ms:.1f} | {r.execution_ms:.1f} | "
                f"{r.shared_buffers:,} | {r.rows_scanned:,} |"
            )
    return "\n".join(lines)


def _verdict(ok: bool | None) -> str:
    return "n/a (no measurement)" if ok is None else "met" if ok else "NOT met"


def ratio(numerator: float, denominator: float) -> float:
    if not denominator or math.isnan(numerator) or math.isnan(denominator):
        return float("nan")
    return numerator / denominator


def within(value: float, limit: float, *, at_least: bool = False) -> bool | None:
    if math.isnan(value):
        return None
    return value >= limit if at_least else value <= limit


def goals_text(all_results: list[SizeResults], workers: list[int]) -> str:
    by_label = {r.label: summarise(r) for r in all_results}
    lines = []
    small, large = by_label.get("100k"), by_label.get("1m")
    for w in workers:
        lines.append(f"**{w} workers**")
        lines.append("")
        if small:
            qps_ratio = ratio(small.http_qps[w], small.floor16_qps)
            lines.append(
                f"- HTTP / SQL floor throughput at 100k: {small.http_qps[w]:.1f} / {small.floor16_qps:.1f} = **{qps_ratio:.2f}** "
                f"(goal >= {GOALS['http_floor_qps_ratio_min']:.2f}): "
                f"{_verdict(within(qps_ratio, GOALS['http_floor_qps_ratio_min'], at_least=True))}"
            )
        for label, s in by_label.items():
            p99 = s.http_p99_ms[w]
            lines.append(
                f"- HTTP p99 at {CONNECTIONS} connections, {label}: **{p99:.1f} ms** "
                f"(goal <= {GOALS['p99_ms_max']:.0f} ms): {_verdict(within(p99, GOALS['p99_ms_max']))}"
            )
        if small and small.floor1_p50_ms > GOALS["p99_ms_max"]:
            lines.append(
                f"- (the throughput ratio says little here: the SQL alone takes {small.floor1_p50_ms:.0f} ms at p50 on one "
                f"connection, so HTTP and the floor both wait for the same slow statements)"
            )
        if small and large:
            p50_growth = ratio(large.http_p50_ms[w], small.http_p50_ms[w])
            p99_growth = ratio(large.http_p99_ms[w], small.http_p99_ms[w])
            ok = within(max(p50_growth, p99_growth), GOALS["latency_growth_max"])
            lines.append(
                f"- HTTP latency 1M / 100k: p50 {large.http_p50_ms[w]:.1f} / {small.http_p50_ms[w]:.1f} = **{p50_growth:.2f}**, "
                f"p99 {large.http_p99_ms[w]:.1f} / {small.http_p99_ms[w]:.1f} = **{p99_growth:.2f}** "
                f"(goal <= {GOALS['latency_growth_max']}): {_verdict(ok)}"
            )
        errors = sum(s.http_errors[w] for s in by_label.values())
        lines.append(f"- HTTP errors (non-2xx or socket): {errors}: {_verdict(errors == 0)}")
        lines.append("")
    if small and large:
        growth = ratio(large.floor1_p50_ms, small.floor1_p50_ms)
        lines.append(
            f"SQL floor, 1 connection, p50 1M / 100k: {large.floor1_p50_ms:.1f} / {small.floor1_p50_ms:.1f} = **{growth:.2f}**; "
            f"p99 {large.floor1_p99_ms:.1f} / {small.floor1_p99_ms:.1f} = **{ratio(large.floor1_p99_ms, small.floor1_p99_ms):.2f}**."
        )
    return "\n".join(lines).rstrip()


def _schema_text(all_results: list[SizeResults]) -> str:
    schemas = {r.schema for r in all_results}
    revision, indexes = all_results[0].schema
    text_ = f"Schema: revision `{revision}`, indexes on service_site: {', '.join(f'`{i}`' for i in indexes)}."
    if len(schemas) > 1:
        text_ += " **Warning: the databases differ: " + "; ".join(f"{r.label}: {r.schema}" for r in all_results) + "**"
    return text_


def _code_change_warning(args) -> str:
    changed = common.changed_files(args.code_at_start, common.code_snapshot())
    if not changed:
        return ""
    touches_nearest = [path for path in changed if path in NEAREST_CODE or path.startswith("migrations/")]
    verdict = (
        "it touches the nearest path: the numbers mix two versions; run again"
        if touches_nearest
        else "none of it is on the nearest path (service/directory/nearest.py, its route, migrations)"
    )
    return (
        f"\n\n**The application code changed during this run** (git {args.revision_at_start} -> {common.git_revision()}): "
        f"{', '.join(f'`{path}`' for path in changed)}; {verdict}."
    )


def report(all_results: list[SizeResults], args, started_at: datetime, elapsed_s: float) -> str:
    sizes = ", ".join(f"{r.label} = {r.services:,} services ({r.sites:,} sites)" for r in all_results)
    return f"""
Date: {started_at.strftime("%Y-%m-%d %H:%M %Z")} ({elapsed_s / 60:.0f} min) — code at {args.revision_at_start}, fingerprint {common.code_fingerprint(args.code_at_start)}; `service/directory/nearest.py` at {args.nearest_commit}{_code_change_warning(args)}

Command: `{args.command}`

Data sets: {sizes}; demo data (`service.directory.demo_data`, sources of 100k, seeds {common.SOURCE_SEED_BASE}+), `VACUUM ANALYZE` after loading.
Private cluster `.fieldnav/bench-db` ({common.bench_cluster_memory_text()}, non-durable).
{_schema_text(all_results)}

Machine: {common.machine_summary()}; load average at start {args.load_at_start}, at end {common.load_average()}
(other sessions share this machine). Everything shares these CPUs: PostgreSQL, the uvicorn workers,
and the load generator (wrk, {WRK_THREADS} threads) or the 16 floor processes. Numbers are medians of {args.runs}
interleaved runs of {args.duration_s:.0f} s each (after a warm-up), so a noisy neighbour moves single runs, not the medians.

Query mix: {QUERY_COUNT} seeded queries (seed {QUERY_SEED}), points population-weighted around Ontario places, jittered
up to {JITTER_RADIUS_KM:.0f} km, limit={LIMIT}, filters picked uniformly from: {", ".join(f"`{n}`" for n in FILTER_MIX)}.
The same list, in the same order, for the SQL floor and for HTTP.

- SQL floor: N processes, one connection each, calling `service.directory.nearest.find_nearest` back to back
  (its one statement in autocommit, as the endpoint sends it; no HTTP, no JSON, no pool check-out, no auth).
  Counted: queries completed inside the measured window; errors (e.g. the 10 s statement timeout) are timed too.
- plain-KNN floor (issue 21, `bench/nearest_floor.py`): for each query the simplest SQL that could answer it,
  `SELECT card_json, ST_Distance(geom::geography, pt::geography) FROM service_site WHERE NOT is_private AND status = 'active'
  AND <filters as plain WHERE clauses> ORDER BY geom <-> pt LIMIT {LIMIT}` (no distance bound, no confidential sites),
  one pgbench script per filter (weight 1 each, as the mix draws filters uniformly), `-M prepared`, the points of that
  filter's queries in the list drawn with `\\set random` from a table loaded once (schema `{nearest_floor.SCHEMA}`), read in
  the same statement. `pgbench -c 16 -j 2` and `-c 1`, {FLOOR_WARMUP_S:.0f} s warm-up, then the same durations as the SQL floor.
  Scripts in `bench/out/pgbench-nearest-<size>/`. pgbench reports tps and the average latency; the p50 is the median
  of its per-transaction log (`--log`).
- plain KNN from Python (1 connection): the plain KNN's statement per filter, the point as values, sent from one
  process as find_nearest sends its statements (a raw psycopg cursor, prepared at once, rows in binary, the cards
  parsed by the same json loader); find_nearest's p50 against it is the like-for-like reference row below.
- find_nearest SQL via pgbench (the decomposition below): find_nearest's own statement per filter, run by pgbench as
  the plain KNN is, after a prepared lookup of the point and the filter's values; and that lookup alone.
- HTTP: `fieldnav serve --workers W` (uvicorn, default pool of 10 connections per worker), wrk on loopback,
  {CONNECTIONS} connections, `GET /v1/services/nearest?...` with bearer tokens of {TOKEN_COUNT} field workers (round robin).
  Rate limit at its default ({RATE_LIMIT_PER_MIN}/min per principal, batched writes), token revocation checks as configured.
  Latency is measured by wrk, client side, errors included. Errors: any non-2xx answer or socket error/timeout ({common.WRK_TIMEOUT_S} s).

{results_table(all_results, args.workers)}

### Goals

{goals_text(all_results, args.workers)}

### Against the plain-KNN floor (issue 21)

{knn_goals_table(all_results, args.workers)}

Per filter, the same runs (medians over runs). pgbench reports each script's average only (its per-transaction log
is not split by script here), so per filter find_nearest's p50 and mean are set against the plain KNN's average
("mean / avg" compares like with like); the goal above compares the whole mix's p50s:

{knn_filter_table(all_results)}

### Decomposing the gap: statement cost and client cost (find_nearest's SQL via pgbench)

{decomposition_text(all_results)}

### Latency by filter (SQL floor, 1 connection, the first {FILTER_PROBE_QUERIES} queries of each filter, at most {FILTER_PROBE_MAX_S:.0f} s per filter)

{per_filter_table(all_results)}

### No full walk: a filter that matches nothing

`{"&".join(f"{k}={v}" for k, v in NOTHING_FILTER.items())}`, SQL floor, 1 connection, up to {NO_WALK_REPEATS} repeats ({NO_WALK_MAX_S:.0f} s); buffers and
rows from `EXPLAIN (ANALYZE, BUFFERS)` of the statement (plans in `bench/out/explain-nearest-*.txt`).

{no_walk_table(all_results)}
{_profile_text(all_results)}"""


def _profile_text(all_results: list[SizeResults]) -> str:
    chunks = [f"\n### Profile, {r.label} (`--profile`)\n\n{r.profile}\n" for r in all_results if r.profile]
    return "".join(chunks)


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100k,1m", help="comma-separated: 100k, 1m")
    parser.add_argument("--duration-s", type=float, default=20.0, help="measured seconds per load run")
    parser.add_argument("--workers", default="2,3", help="comma-separated uvicorn worker counts to try")
    parser.add_argument("--runs", type=int, default=3, help="repetitions; medians are reported")
    parser.add_argument("--reload", action="store_true", help="reload the demo data even if present")
    parser.add_argument("--no-results-file", action="store_true", help="print only, leave RESULTS.md alone")
    parser.add_argument("--section", default="Nearest", help="the RESULTS.md section (## title) to replace")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="after the measured runs: pg_stat_statements, EXPLAIN per filter, py-spy on the HTTP workers",
    )
    parser.add_argument(
        "--profile-wait-s",
        type=float,
        default=300.0,
        help="how long to wait for the shared bench cluster to be idle before restarting it to preload pg_stat_statements",
    )
    args = parser.parse_args(argv)
    args.sizes = common.parse_sizes(parser, args.sizes)
    args.workers = [int(w) for w in args.workers.split(",") if w.strip()]
    if not args.workers or not all(1 <= w <= 16 for w in args.workers):
        parser.error("--workers must list worker counts between 1 and 16")
    if not 1 <= args.runs <= 20 or not 1 <= args.duration_s <= 600:
        parser.error("--runs must be 1..20 and --duration-s 1..600")
    args.command = "python bench/nearest.py " + " ".join(
        f"'{a}'" if " " in a else a for a in (sys.argv[1:] if argv is None else argv)
    )
    return args


def nearest_commit() -> str:
    """The last commit of service/directory/nearest.py, and whether the file differs from it."""
    path = "service/directory/nearest.py"
    try:
        commit = subprocess.run(
            ["git", "log", "-1", "--format=%h", "--", path],
            cwd=common.PROJECT_DIR,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", path],
            cwd=common.PROJECT_DIR,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"`{commit}`" + (" (with uncommitted changes)" if dirty else "")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    common.require_wrk()
    started_at, started_s = datetime.now(UTC).astimezone(), time.monotonic()
    args.load_at_start = common.load_average()
    args.revision_at_start, args.code_at_start = common.git_revision(), common.code_snapshot()
    args.nearest_commit = nearest_commit()
    if not nearest_floor.PGBENCH.exists():
        raise SystemExit(f"pgbench not found at {nearest_floor.PGBENCH}")
    cluster = common.start_bench_cluster()
    args.pgss_missing = None
    if args.profile:  # before any measurement: preloading it may restart the bench cluster
        nearest_profile.ensure_py_spy()
        args.pgss_missing = nearest_profile.enable_pg_stat_statements(
            cluster, f"bench_{args.sizes[0]}", wait_s=args.profile_wait_s
        )
        if args.pgss_missing:
            log(f"profile: {args.pgss_missing}; EXPLAIN only")
    queries = make_query_mix()
    tokens = common.make_tokens(TOKEN_COUNT)
    all_results: list[SizeResults] = []
    for label in args.sizes:  # the report is rewritten after each size: a later failure keeps it
        if args.profile and args.pgss_missing is None and label != args.sizes[0]:
            # Preloaded by now (no restart): the extension itself is per database.
            common.database_url(cluster, f"bench_{label}")  # created and migrated when missing
            args.pgss_missing = nearest_profile.enable_pg_stat_statements(
                cluster, f"bench_{label}", wait_s=args.profile_wait_s
            )
        all_results.append(bench_size(cluster, label, queries, tokens, args))
        text_ = report(all_results, args, started_at, time.monotonic() - started_s)
        if not args.no_results_file:
            common.replace_results_section(args.section, text_)
            log(
                f"wrote the {args.section} section of {common.RESULTS_FILE} ({', '.join(r.label for r in all_results)})"
            )
    print(text_)


if __name__ == "__main__":
    main()
