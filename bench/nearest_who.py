"""Benchmark of nearest with "who serves this address" and "who it is for" (issue 19).

    .venv/bin/python bench/nearest_who.py [--queries 1000] [--runs 5] [--workers 2]
                                          [--no-results-file]

Goal: nearest with ``serves`` and ``population`` (and ``gender``) adds at most 30% to the p50 of
nearest without them, measured side by side in the same run, at 100k services.

On the bench's 100k database (bench_100k, made and loaded as bench/nearest.py does), with the
points of bench/nearest.py's seeded query list (population-weighted around the demo places):

* SQL: one connection (autocommit, as the endpoint reads) calling
  ``service.directory.nearest.find_nearest`` for four variants of each point: plain (no
  filter), ``serves`` = the point itself, ``populations=("women",)`` with ``gender="women"``,
  and all three together;
* HTTP: ``fieldnav serve --workers W`` and one keep-alive client (http.client), ``GET
  /v1/services/nearest?lat=..&lon=..`` with the same four variants as query parameters
  (``serves=here``, ``population=women``, ``gender=woman``).

Interleaved: every point is asked in all variants back to back, the order rotating from point
to point and run to run, so a noisy neighbour slows every variant alike. Each of ``--runs``
runs gives a p50 per variant and its ratio to plain's p50 of the same run; the report gives
the medians over runs. Then ``EXPLAIN (ANALYZE, BUFFERS)`` of each variant on the first points,
of the generic plan the prepared statement runs on (``EXECUTE``) and of the custom plan, with
the time of its public and confidential parts (plans in bench/out/explain-nearest-who-*.txt),
and how many buffers reading ``population_groups`` costs against ``status`` (TOAST).

The "Nearest: who serves this address and who it is for (issue 19)" section of
bench/RESULTS.md is replaced with the results.
"""

from __future__ import annotations

import argparse
import http.client
import re
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common
import nearest as nearest_bench
from common import log, median, percentile
from psycopg import sql as psycopg_sql
from sqlalchemy import text

from service.directory.nearest import NearestQuery, find_nearest
from service.directory.populations import GENDER_CODES, population_codes
from service.platform.db import make_engine

SECTION = "Nearest: who serves this address and who it is for (issue 19)"
SIZE = "100k"
LIMIT = 10
POPULATION = "women"  # a group code (population_codes())
GENDER_PARAM = "woman"  # the HTTP value (populations.GENDERS) ...
GENDER_CODE = "women"  # ... and the group code NearestQuery takes (GENDER_CODES)
GOAL_RATIO = 1.30
WARMUP_QUERIES = 100
EXPLAIN_POINTS = 20
MIN_SERVES_SHARE = 0.10  # below this, the database predates migration 0022 or the demo areas

# name -> (NearestQuery fields, HTTP query parameters); "here" is the query point.
VARIANTS: dict[str, tuple[dict, dict[str, str]]] = {
    "plain": ({}, {}),
    "serves": ({"serves": "here"}, {"serves": "here"}),
    "population+gender": (
        {"populations": (POPULATION,), "gender": GENDER_CODE},
        {"population": POPULATION, "gender": GENDER_PARAM},
    ),
    "serves+population+gender": (
        {"serves": "here", "populations": (POPULATION,), "gender": GENDER_CODE},
        {"serves": "here", "population": POPULATION, "gender": GENDER_PARAM},
    ),
}
FULL = "serves+population+gender"


@dataclass(frozen=True)
class Point:
    lat: float
    lon: float

    def query(self, variant: str) -> NearestQuery:
        fields = dict(VARIANTS[variant][0])
        if fields.get("serves") == "here":
            fields["serves"] = (self.lat, self.lon)
        return NearestQuery(lat=self.lat, lon=self.lon, limit=LIMIT, **fields)

    def path(self, variant: str) -> str:
        params = {"lat": f"{self.lat:.5f}", "lon": f"{self.lon:.5f}", "limit": str(LIMIT), **VARIANTS[variant][1]}
        return "/v1/services/nearest?" + urlencode(params)


def make_points(count: int) -> list[Point]:
    """The points of bench/nearest.py's seeded query list (its filters are not used)."""
    return [Point(q.lat, q.lon) for q in nearest_bench.make_query_mix(count)]


def rotated(names: list[str], shift: int) -> list[str]:
    shift %= len(names)
    return names[shift:] + names[:shift]


# --------------------------------------------------------------------------- data check


@dataclass
class DataCheck:
    services: int
    sites: int
    public_sites: int
    serves_geom_sites: int
    serves_geom_public: int
    max_serves_points: int
    grouped_sites: int  # population_groups not empty
    women_sites: int
    gender_sites: int  # any gender group
    revision: str


def check_data(engine) -> DataCheck:
    """The sites must have population groups and service areas (migrations 0021, 0022 and the
    demo data that gives 20% of services a circle and 5% "Ontario")."""
    with engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT count(*) AS sites, count(*) FILTER (WHERE NOT is_private) AS public_sites,"
                " count(serves_geom) AS serves_geom_sites,"
                " count(serves_geom) FILTER (WHERE NOT is_private) AS serves_geom_public,"
                " coalesce(max(ST_NPoints(serves_geom)), 0) AS max_serves_points,"
                " count(*) FILTER (WHERE cardinality(population_groups) > 0) AS grouped_sites,"
                " count(*) FILTER (WHERE :women = ANY(population_groups)) AS women_sites,"
                " count(*) FILTER (WHERE population_groups && CAST(:genders AS text[])) AS gender_sites"
                " FROM service_site"
            ),
            {"women": POPULATION, "genders": list(GENDER_CODES)},
        ).one()
        services = connection.execute(text("SELECT count(*) FROM service")).scalar_one()
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    check = DataCheck(services=services, revision=revision, **row._asdict())
    share = check.serves_geom_sites / max(1, check.sites)
    log(
        f"data: {check.services:,} services, {check.sites:,} sites; serves_geom on {check.serves_geom_sites:,} "
        f"({share:.1%}); population groups on {check.grouped_sites:,}; revision {check.revision}"
    )
    if share < MIN_SERVES_SHARE or check.grouped_sites == 0:
        raise SystemExit(
            "bench_100k lacks service areas or population groups (older data?): drop it "
            "(or run bench/nearest.py --reload) and run again"
        )
    return check


# --------------------------------------------------------------------------- SQL


@dataclass
class Timings:
    """Latencies per run and variant (ms), and what the answers held."""

    runs: list[dict[str, list[float]]] = field(default_factory=list)
    results: Counter = field(default_factory=Counter)  # variant -> results returned (last run)
    serves_location: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))


def run_sql(url: str, points: list[Point], runs: int, timings: Timings, run_index: int) -> None:
    engine = make_engine(url, pool_size=1)
    names = list(VARIANTS)
    try:
        with engine.connect() as connection:
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            if run_index == 0:  # warm the cache and the prepared statements
                for point in points[:WARMUP_QUERIES]:
                    for name in names:
                        find_nearest(connection, point.query(name))
            samples: dict[str, list[float]] = {name: [] for name in names}
            for i, point in enumerate(points):
                for name in rotated(names, i + run_index):
                    query = point.query(name)
                    started = time.perf_counter()
                    hits = find_nearest(connection, query)
                    samples[name].append((time.perf_counter() - started) * 1000)
                    if run_index == runs - 1:
                        timings.results[name] += len(hits)
                        timings.serves_location[name].update(hit.serves_location for hit in hits)
            timings.runs.append(samples)
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- HTTP


def run_http(server: common.Server, token: str, points: list[Point], timings: Timings, run_index: int) -> None:
    parts = urlsplit(server.base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    headers = {"Authorization": f"Bearer {token}"}
    names = list(VARIANTS)

    def get(path: str) -> None:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise SystemExit(f"GET {path}: {response.status} {body[:300]!r}")

    try:
        if run_index == 0:
            for point in points[:WARMUP_QUERIES]:
                for name in names:
                    get(point.path(name))
        samples: dict[str, list[float]] = {name: [] for name in names}
        for i, point in enumerate(points):
            for name in rotated(names, i + run_index):
                path = point.path(name)
                started = time.perf_counter()
                get(path)
                samples[name].append((time.perf_counter() - started) * 1000)
        timings.runs.append(samples)
    finally:
        connection.close()


# --------------------------------------------------------------------------- EXPLAIN


@dataclass
class ExplainSummary:
    execution_ms: list[float] = field(default_factory=list)  # custom plan (EXPLAIN of the statement)
    generic_ms: list[float] = field(default_factory=list)  # generic plan (EXPLAIN EXECUTE), what runs
    public_ms: list[float] = field(default_factory=list)  # generic plan: the public part
    confidential_ms: list[float] = field(default_factory=list)  # generic plan: the confidential part
    shared_buffers: list[int] = field(default_factory=list)  # generic plan
    rows_scanned: list[int] = field(default_factory=list)  # generic plan
    generic_plans: int = 0  # pg_prepared_statements: how often the statement ran on a generic plan


_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _as_prepared(statement: str) -> tuple[str, list[str]]:
    """psycopg's server-side form of ``statement`` ($1.. in the order names first appear)
    and the names in that order."""
    order = list(dict.fromkeys(_PLACEHOLDER.findall(statement)))
    numbers = {name: i + 1 for i, name in enumerate(order)}
    return _PLACEHOLDER.sub(lambda m: f"${numbers[m.group(1)]}", statement), order


def _buffers(plan: dict) -> int:
    return plan["Plan"].get("Shared Hit Blocks", 0) + plan["Plan"].get("Shared Read Blocks", 0)


def run_explain(url: str, points: list[Point]) -> dict[str, ExplainSummary]:
    """EXPLAIN (ANALYZE, BUFFERS) of each variant's statement on the first points, twice: as a
    statement (a custom plan, planned with the values) and as ``EXECUTE`` of the statement
    psycopg prepared on this connection (from its 6th run; PostgreSQL moves it to a generic
    plan after 5 more), which is what the benchmark and the endpoint run. The first point's
    plans are kept as text in bench/out/."""
    engine = make_engine(url, pool_size=1)
    capture_engine = make_engine(url, pool_size=1)
    summaries = {name: ExplainSummary() for name in VARIANTS}
    common.BENCH_OUT_DIR.mkdir(parents=True, exist_ok=True)
    try:
        with engine.connect() as connection:
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            for point in points[:WARMUP_QUERIES]:  # prepared, then generic
                for name in VARIANTS:
                    find_nearest(connection, point.query(name))
            driver = connection.connection.driver_connection
            cursor = driver.cursor()
            rows = cursor.execute("SELECT name, statement, generic_plans FROM pg_prepared_statements").fetchall()
            prepared = {statement: (name, generic) for name, statement, generic in rows}
            for i, point in enumerate(points[:EXPLAIN_POINTS]):
                for name in VARIANTS:
                    ((statement, params),) = nearest_bench.capture_statements(capture_engine, point.query(name))
                    summary = summaries[name]
                    cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, params)
                    summary.execution_ms.append(cursor.fetchone()[0][0]["Execution Time"])
                    server_side, order = _as_prepared(statement)
                    if server_side not in prepared:
                        raise RuntimeError(f"{name}: the statement was not prepared on this connection")
                    prepared_name, summary.generic_plans = prepared[server_side]
                    arguments = psycopg_sql.SQL(", ").join(psycopg_sql.Literal(params[k]) for k in order)
                    execute = psycopg_sql.SQL("EXECUTE {}({})").format(psycopg_sql.Identifier(prepared_name), arguments)
                    explain = psycopg_sql.SQL("EXPLAIN (ANALYZE, BUFFERS{}) ")
                    cursor.execute(explain.format(psycopg_sql.SQL(", FORMAT JSON")) + execute)
                    plan = cursor.fetchone()[0][0]
                    public, confidential = plan["Plan"]["Plans"][:2]  # UNION ALL of the two parts
                    summary.generic_ms.append(plan["Execution Time"])
                    summary.public_ms.append(public["Actual Total Time"])
                    summary.confidential_ms.append(confidential["Actual Total Time"])
                    summary.shared_buffers.append(_buffers(plan))
                    summary.rows_scanned.append(nearest_bench._scan_rows(plan["Plan"]))
                    if i == 0:
                        cursor.execute(explain.format(psycopg_sql.SQL("")) + execute)
                        generic_text = "\n".join(row[0] for row in cursor.fetchall())
                        (common.BENCH_OUT_DIR / f"explain-nearest-who-{name}.txt").write_text(
                            f"-- point {point.lat}, {point.lon}\n-- custom plan (EXPLAIN of the statement)\n"
                            + nearest_bench.explain_text(capture_engine, [(statement, params)])
                            + f"\n\n-- generic plan (EXPLAIN EXECUTE {prepared_name})\n{generic_text}\n"
                        )
    finally:
        engine.dispose()
        capture_engine.dispose()
    return summaries


@dataclass
class ToastCheck:
    """Is a filter column stored out of line (TOAST) for many sites? Reading it then costs
    buffers the plain query never touches."""

    wide_private: int  # confidential sites over the table's TOAST threshold
    private: int
    wide_public: int
    public: int
    buffers: dict[str, int]  # column -> shared buffers to read it on every confidential site
    threshold_bytes: int  # the table's toast_tuple_target (8160 since migration 0030)


# PostgreSQL's default toast_tuple_target, for a table that does not set its own.
DEFAULT_TOAST_THRESHOLD_BYTES = 2032
_TOAST_THRESHOLD = text("""
SELECT coalesce((SELECT CAST(option_value AS integer) FROM pg_options_to_table(c.reloptions)
                 WHERE option_name = 'toast_tuple_target'), :default_bytes)
FROM pg_class c WHERE c.oid = CAST('service_site' AS regclass)
""")


def check_toast(engine) -> ToastCheck:
    with engine.connect() as connection:
        threshold_bytes = connection.execute(
            _TOAST_THRESHOLD, {"default_bytes": DEFAULT_TOAST_THRESHOLD_BYTES}
        ).scalar_one()
        row = connection.execute(
            text(
                "SELECT count(*) FILTER (WHERE is_private AND pg_column_size(s.*) > :t) AS wide_private,"
                " count(*) FILTER (WHERE is_private) AS private,"
                " count(*) FILTER (WHERE NOT is_private AND pg_column_size(s.*) > :t) AS wide_public,"
                " count(*) FILTER (WHERE NOT is_private) AS public FROM service_site s"
            ),
            {"t": threshold_bytes},
        ).one()
        buffers = {}
        cursor = connection.connection.driver_connection.cursor()
        for column in ("status", "population_groups", "serves_geom"):
            cursor.execute(
                f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT count({column}::text) FROM service_site "
                "WHERE is_private"
            )
            buffers[column] = _buffers(cursor.fetchone()[0][0])
        connection.rollback()
    return ToastCheck(buffers=buffers, threshold_bytes=threshold_bytes, **row._asdict())


# --------------------------------------------------------------------------- report


def p50s(timings: Timings, name: str) -> list[float]:
    return [percentile(run[name], 0.5) for run in timings.runs]


def p99s(timings: Timings, name: str) -> list[float]:
    return [percentile(run[name], 0.99) for run in timings.runs]


def ratios(timings: Timings, name: str) -> list[float]:
    return [percentile(run[name], 0.5) / percentile(run["plain"], 0.5) for run in timings.runs]


def latency_table(timings: Timings, *, with_results: bool) -> str:
    header = "| variant | p50 ms | p99 ms | p50 / plain p50 | per run: p50 ms | per run: ratio |"
    align = "|---|---:|---:|---:|---|---|"
    if with_results:
        header += " results (yes / no / unknown serves_location) |"
        align += "---|"
    lines = [header, align]
    for name in VARIANTS:
        runs_p50 = ", ".join(f"{v:.2f}" for v in p50s(timings, name))
        runs_ratio = ", ".join(f"{v:.2f}" for v in ratios(timings, name))
        line = (
            f"| `{name}` | {median(p50s(timings, name)):.2f} | {median(p99s(timings, name)):.2f} "
            f"| **{median(ratios(timings, name)):.2f}** | {runs_p50} | {runs_ratio} |"
        )
        if with_results:
            where = timings.serves_location[name]
            line += f" {timings.results[name]:,} ({where['yes']:,} / {where['no']:,} / {where['unknown']:,}) |"
        lines.append(line)
    return "\n".join(lines)


def explain_table(summaries: dict[str, ExplainSummary]) -> str:
    def cell(values: list[float], digits: int = 2) -> str:
        return f"{median(values):,.{digits}f} / {max(values):,.{digits}f}"

    lines = [
        "| variant | generic plan: execution ms | public part ms | confidential part ms | shared buffers "
        "| rows scanned | custom plan: execution ms | generic plans used |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, s in summaries.items():
        lines.append(
            f"| `{name}` | {cell(s.generic_ms)} | {cell(s.public_ms)} | {cell(s.confidential_ms)} "
            f"| {cell(s.shared_buffers, 0)} | {cell(s.rows_scanned, 0)} | {cell(s.execution_ms)} | {s.generic_plans} |"
        )
    return "\n".join(lines)


def toast_text(toast: ToastCheck) -> str:
    b = toast.buffers
    return (
        f"Row width: {toast.wide_private:,} of {toast.private:,} confidential sites and {toast.wide_public:,} of "
        f"{toast.public:,} public ones are over the table's {toast.threshold_bytes:,}-byte TOAST threshold. Reading a column "
        f"of every confidential site costs {b['status']:,} shared buffers for `status` (what plain reads), "
        f"{b['population_groups']:,} for `population_groups` and {b['serves_geom']:,} for `serves_geom`: the extra "
        "buffers are out-of-line (TOAST) values fetched row by row."
    )


def _verdict(value: float) -> str:
    return "met" if value <= GOAL_RATIO else "NOT met"


def report(
    args, data: DataCheck, sql: Timings, over_http: Timings, explained, toast: ToastCheck, started_at, elapsed_s
) -> str:
    changed = common.changed_files(args.code_at_start, common.code_snapshot())
    warning = (
        f"\n\n**The application code changed during this run**: {', '.join(f'`{p}`' for p in changed)}; "
        "if that touches the nearest path, run again."
        if changed
        else ""
    )
    sql_ratio, http_ratio = median(ratios(sql, FULL)), median(ratios(over_http, FULL))
    return f"""
Date: {started_at.strftime("%Y-%m-%d %H:%M %Z")} ({elapsed_s / 60:.0f} min) — code at {args.revision_at_start}, fingerprint {common.code_fingerprint(args.code_at_start)}{warning}

Command: `{args.command}`

Data set: `bench_100k`, {data.services:,} demo services ({data.sites:,} sites, {data.public_sites:,} public), revision
`{data.revision}`. `serves_geom` on {data.serves_geom_sites:,} sites ({data.serves_geom_sites / data.sites:.1%};
{data.serves_geom_public:,} public; the largest has {data.max_serves_points:,} points), population groups on
{data.grouped_sites:,} sites ({data.women_sites:,} with `{POPULATION}`, {data.gender_sites:,} with a gender group).

Machine: {common.machine_summary()}; load average at start {args.load_at_start}, at end {common.load_average()}
(other sessions share this machine; PostgreSQL, the server and the client share the CPUs).

{len(args.points)} points of bench/nearest.py's seeded list (seed {nearest_bench.QUERY_SEED}), limit={LIMIT}; each point is
asked in every variant back to back, the order rotating by point and by run; {args.runs} runs, after a warm-up of
{WARMUP_QUERIES} points. Figures are medians over runs of each run's p50 / p99, and of each run's ratio of a variant's
p50 to plain's p50 in the same run.

- `plain`: no filter; `serves`: `serves=(lat, lon)` of the point (HTTP `serves=here`);
  `population+gender`: `populations=("{POPULATION}",), gender="{GENDER_CODE}"` (HTTP `population={POPULATION}&gender={GENDER_PARAM}`);
  `{FULL}`: all three.

### SQL: `find_nearest`, one connection

{latency_table(sql, with_results=True)}

### HTTP: `GET /v1/services/nearest`, `fieldnav serve --workers {args.workers}`, one keep-alive client

{latency_table(over_http, with_results=False)}

### Goal

- p50 with `serves` + `population` + `gender` / p50 without, same run: SQL **{sql_ratio:.2f}**, HTTP **{http_ratio:.2f}**
  (goal <= {GOAL_RATIO:.2f}): SQL {_verdict(sql_ratio)}, HTTP {_verdict(http_ratio)}.

### EXPLAIN (ANALYZE, BUFFERS), the first {EXPLAIN_POINTS} points (p50 / max)

The statement as it runs (psycopg prepares it from its 6th run on a connection, PostgreSQL then keeps a
generic plan: `EXPLAIN (ANALYZE, BUFFERS) EXECUTE` of the prepared statement), with the custom plan's time
(`EXPLAIN` of the statement with its values) beside it. Plans of the first point:
`bench/out/explain-nearest-who-*.txt`.

{explain_table(explained)}

{toast_text(toast)}
"""


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=1000, help="points per run")
    parser.add_argument("--runs", type=int, default=5, help="interleaved runs; medians are reported")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers of the HTTP part")
    parser.add_argument("--no-results-file", action="store_true", help="print only, leave RESULTS.md alone")
    args = parser.parse_args(argv)
    if not 3 <= args.runs <= 20 or not WARMUP_QUERIES <= args.queries <= 4000:
        parser.error(f"--runs must be 3..20 and --queries {WARMUP_QUERIES}..4000")
    args.command = " ".join(["python bench/nearest_who.py", *(sys.argv[1:] if argv is None else argv)])
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if POPULATION not in population_codes() or GENDER_CODE not in GENDER_CODES:
        raise SystemExit(f"{POPULATION} / {GENDER_CODE} are no longer population / gender codes")
    started_at, started_s = datetime.now(UTC).astimezone(), time.monotonic()
    args.load_at_start = common.load_average()
    args.revision_at_start, args.code_at_start = common.git_revision(), common.code_snapshot()
    cluster = common.start_bench_cluster()
    url = common.database_url(cluster, f"bench_{SIZE}")
    common.load_demo_services(url, common.SIZES[SIZE])
    engine = make_engine(url, pool_size=1)
    try:
        data = check_data(engine)
    finally:
        engine.dispose()
    args.points = make_points(args.queries)
    (token,) = common.make_tokens(1)
    sql, over_http = Timings(), Timings()
    # One server for every run: the SQL runs and the HTTP runs alternate, so both see the same machine.
    with common.fieldnav_server(url, workers=args.workers, label="nearest-who") as server:
        for run in range(args.runs):
            log(f"run {run + 1}/{args.runs}: SQL")
            run_sql(url, args.points, args.runs, sql, run)
            log("  " + ", ".join(f"{n} {percentile(sql.runs[-1][n], 0.5):.2f} ms" for n in VARIANTS))
            log(f"run {run + 1}/{args.runs}: HTTP")
            run_http(server, token, args.points, over_http, run)
            log("  " + ", ".join(f"{n} {percentile(over_http.runs[-1][n], 0.5):.2f} ms" for n in VARIANTS))
    log("EXPLAIN (ANALYZE, BUFFERS)")
    explained = run_explain(url, args.points)
    engine = make_engine(url, pool_size=1)
    try:
        toast = check_toast(engine)
    finally:
        engine.dispose()
    text_ = report(args, data, sql, over_http, explained, toast, started_at, time.monotonic() - started_s)
    if not args.no_results_file:
        common.replace_results_section(SECTION, text_)
        log(f"wrote the {SECTION!r} section of {common.RESULTS_FILE}")
    print(text_)


if __name__ == "__main__":
    main()
