"""The plain-KNN floor of bench/nearest.py (issue 21): for each query of the mix, the simplest
SQL that could answer it, prepared, run by pgbench.

    SELECT card_json, ST_Distance(geom::geography, <pt>::geography) FROM service_site
    WHERE NOT is_private AND status = 'active' AND <the query's filters, as plain WHERE clauses>
    ORDER BY geom <-> <pt> LIMIT 10

The issue wrote it with ``card``, the jsonb column. Since migration 0030 the card's text is stored
too (``card_json``), and the simplest query that answers reads that, as find_nearest does: with
``card`` the floor would pay the rendering of ten jsonb cards (about 0.1 ms) that find_nearest
no longer pays, and the ratios would credit find_nearest with it. Runs before 2026-12-07 05:40
UTC read ``card``.

No 200 km bound, no proof that the planar order holds the geodesic answer, no confidential
sites, no second pass: what find_nearest adds to this is what the ratios of bench/nearest.py
measure. The points are the query list's own (make_query_mix), loaded once per run into a
small table (schema ``bench_floor``, never the application's); each filter's script draws one
of its own queries' points with ``\\set random`` and reads it in the same statement through a
scalar subquery (an InitPlan: the KNN walk still orders by a value known at scan time), so a
transaction is one round trip. One pgbench run holds one script per filter, weight 1 each
(FILTER_MIX is drawn uniformly), ``-M prepared``: pgbench reports the mix's tps and average
latency and each script's.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import make_url, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

from service.platform.db import make_engine
from spatial.geodesy import web_mercator_m

PGBENCH = Path("/usr/lib/postgresql/15/bin/pgbench")
SCHEMA = "bench_floor"
POINT_TABLE = f"{SCHEMA}.knn_point"
STALE_AFTER = "12 hours"  # FIELDNAV_CAPACITY_STALE_AFTER_H's default, as the endpoint applies it


def _quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _text_array(values: str) -> str:
    """'{a,b}' from the query string's comma-separated codes (codes are [a-z_|])."""
    codes = [c for c in values.split(",") if c]
    if not all(re.fullmatch(r"[a-z_]+", c) for c in codes):
        raise ValueError(f"unexpected codes {values!r}")
    return _quote_literal("{" + ",".join(codes) + "}")


def knn_where(params: dict[str, str]) -> list[str]:
    """The filters of a FILTER_MIX entry as plain WHERE clauses (values inlined: every filter is
    a fixed string of the bench, and pgbench's prepared statement then plans per filter)."""
    clauses = ["NOT is_private", "status = 'active'"]
    for name, value in params.items():
        if name == "category":
            clauses.append(f"category_groups && {_text_array(value)}")
        elif name == "language":
            clauses.append(f"language_codes && {_text_array(value)}")
        elif name == "age":
            age = int(value)
            clauses.append(
                f"(minimum_age IS NULL OR minimum_age <= {age}) AND (maximum_age IS NULL OR maximum_age >= {age})"
            )
        elif name == "open_now" and value == "true":
            clauses.append(
                "coalesce(open_week_minutes @> fieldnav_week_minute(now(), timezone), open_ranges @> now(), false)"
            )
        elif name == "accessible" and value == "true":
            clauses.append("accessible")
        elif name == "has_capacity" and value == "true":
            clauses.append(f"capacity_available > 0 AND capacity_as_of >= now() - interval '{STALE_AFTER}'")
        else:
            raise ValueError(f"no plain-KNN clause for {name}={value}")
    return clauses


def knn_sql(params: dict[str, str], point_sql: str, limit: int) -> str:
    """The plain-KNN statement for one filter around ``point_sql`` (an SQL geometry expression)."""
    return (
        f"SELECT card_json, ST_Distance(geom::geography, ({point_sql})::geography) AS distance_m FROM service_site "
        f"WHERE {' AND '.join(knn_where(params))} ORDER BY geom <-> ({point_sql}) LIMIT {limit}"
    )


def literal_point(lat: float, lon: float) -> str:
    return f"ST_SetSRID(ST_MakePoint({lon!r}, {lat!r}), 4326)"


def slug(filter_name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", filter_name.lower()).strip("-")


def load_points(url: str, points: dict[str, Sequence[tuple[float, float]]]) -> None:
    """(Re)write the table of the query list's points, numbered 1.. per filter: ``points`` is
    {filter name: [(lat, lon), ...]} in query-list order. Each point keeps its place on the
    map (spatial.geodesy.web_mercator_m), which find_nearest's statement reads like the point."""
    engine = make_engine(url, pool_size=1)
    try:
        with engine.begin() as connection:
            connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
            # Made anew each run: it holds one run's points, and an older bench's lacks a column.
            connection.execute(text(f"DROP TABLE IF EXISTS {POINT_TABLE}"))
            connection.execute(
                text(
                    f"CREATE TABLE {POINT_TABLE} (filter text NOT NULL, n integer NOT NULL, "
                    "geom geometry(Point, 4326) NOT NULL, "
                    "merc_x float8 NOT NULL, merc_y float8 NOT NULL, PRIMARY KEY (filter, n))"
                )
            )
            rows = [
                {"filter": name, "n": n, "lat": lat, "lon": lon}
                | dict(zip(("merc_x", "merc_y"), web_mercator_m(lat, lon), strict=True))
                for name, pts in points.items()
                for n, (lat, lon) in enumerate(pts, start=1)
            ]
            connection.execute(
                text(
                    f"INSERT INTO {POINT_TABLE} (filter, n, geom, merc_x, merc_y) "
                    "VALUES (:filter, :n, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :merc_x, :merc_y)"
                ),
                rows,
            )
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(f"ANALYZE {POINT_TABLE}"))
    finally:
        engine.dispose()


def write_scripts(
    out_dir: Path, filters: dict[str, dict[str, str]], counts: dict[str, int], limit: int
) -> dict[str, Path]:
    """One pgbench script per filter: draw one of its points, run the plain KNN."""
    out_dir.mkdir(parents=True, exist_ok=True)
    scripts = {}
    for name, params in filters.items():
        point = f"SELECT geom FROM {POINT_TABLE} WHERE filter = {_quote_literal(name)} AND n = :i"
        path = out_dir / f"knn-{slug(name)}.sql"
        path.write_text(f"\\set i random(1, {counts[name]})\n{knn_sql(params, point, limit)};\n")
        scripts[name] = path
    return scripts


@dataclass
class ScriptStats:
    transactions: int
    tps: float
    latency_avg_ms: float  # pgbench's average
    failed: int


@dataclass
class PgbenchResult:
    clients: int
    duration_s: float
    transactions: int
    failed: int
    aborted: int  # clients pgbench gave up on (an error it does not retry)
    tps: float
    latency_avg_ms: float  # pgbench's average
    # The median of every transaction's latency (pgbench's per-transaction log): the goals
    # compare medians, and a mix of cheap and dear filters has an average well above its median.
    latency_p50_ms: float
    latency_p99_ms: float  # the same log's 99th percentile: the machine's own tail beside HTTP's
    by_script: dict[str, ScriptStats] = field(default_factory=dict)  # filter name -> stats

    @property
    def errors(self) -> int:
        return self.failed + self.aborted


_NUMBER = r"([0-9.]+)"


def run_pgbench(
    url: str, scripts: dict[str, Path], *, clients: int, threads: int, duration_s: float, label: str
) -> PgbenchResult:
    """One pgbench run over every script (weight 1 each), -M prepared, ``duration_s`` long."""
    parsed = make_url(url)
    common.BENCH_OUT_DIR.mkdir(parents=True, exist_ok=True)
    log_dir = Path(tempfile.mkdtemp(prefix="pgbench-log-", dir=common.BENCH_OUT_DIR))
    command = [
        str(PGBENCH),
        "--no-vacuum",
        "--protocol=prepared",
        f"--client={clients}",
        f"--jobs={threads}",
        f"--time={max(1, round(duration_s))}",
        f"--host={parsed.host}",
        f"--port={parsed.port}",
        f"--username={parsed.username}",
        "--log",
        f"--log-prefix={log_dir / 'tx'}",
    ]
    for path in scripts.values():
        command += ["--file", f"{path}@1"]
    command.append(str(parsed.database))
    env = {
        **os.environ,
        "PGPASSWORD": parsed.password or "",
        "PGAPPNAME": f"bench-knn-{label}",
        "PGCONNECT_TIMEOUT": "10",
    }
    try:
        result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=duration_s + 120)
        latencies_ms = _logged_latencies_ms(log_dir)
    finally:
        shutil.rmtree(log_dir, ignore_errors=True)
    out = result.stdout
    processed = re.search(r"number of transactions actually processed: (\d+)", out)
    if processed is None:
        raise RuntimeError(f"pgbench failed ({result.returncode}):\n{out}\n{result.stderr[-3000:]}")
    failed = re.search(r"^number of failed transactions: (\d+)", out, re.MULTILINE)
    latency = re.search(rf"^latency average = {_NUMBER} ms", out, re.MULTILINE)
    tps = re.search(rf"^tps = {_NUMBER}", out, re.MULTILINE)
    by_path = {str(path): name for name, path in scripts.items()}
    by_script: dict[str, ScriptStats] = {}
    for block in re.split(r"^SQL script \d+: ", out, flags=re.MULTILINE)[1:]:
        path = block.splitlines()[0].strip()
        transactions = re.search(rf"- (\d+) transactions \([0-9.]+% of total, tps = {_NUMBER}\)", block)
        script_latency = re.search(rf"- latency average = {_NUMBER} ms", block)
        script_failed = re.search(r"- number of failed transactions: (\d+)", block)
        if path in by_path and transactions:
            by_script[by_path[path]] = ScriptStats(
                transactions=int(transactions.group(1)),
                tps=float(transactions.group(2)),
                latency_avg_ms=float(script_latency.group(1)) if script_latency else float("nan"),
                failed=int(script_failed.group(1)) if script_failed else 0,
            )
    aborted = len(re.findall(r"^pgbench: error: client \d+ .*aborted", result.stderr, re.MULTILINE))
    if aborted:
        common.log(f"  pgbench: {aborted} clients aborted: {result.stderr.strip().splitlines()[-1][:300]}")
    return PgbenchResult(
        clients=clients,
        duration_s=duration_s,
        transactions=int(processed.group(1)),
        failed=int(failed.group(1)) if failed else 0,
        aborted=aborted,
        tps=float(tps.group(1)) if tps else float("nan"),
        latency_avg_ms=float(latency.group(1)) if latency else float("nan"),
        latency_p50_ms=common.median(latencies_ms) if latencies_ms else float("nan"),
        latency_p99_ms=common.percentile(latencies_ms, 0.99) if latencies_ms else float("nan"),
        by_script=by_script,
    )


def _logged_latencies_ms(log_dir: Path) -> list[float]:
    """Every transaction's latency from pgbench's per-transaction logs (one file per thread; the
    third field is the latency in microseconds), failed ones left out (their third field is a word)."""
    latencies_ms = []
    for path in log_dir.glob("tx.*"):
        with path.open() as lines:
            for line in lines:
                fields = line.split(maxsplit=3)
                if len(fields) > 2 and fields[2].isdigit():
                    latencies_ms.append(int(fields[2]) / 1000)
    return latencies_ms


def per_filter_counts(filter_names: Sequence[str]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for name in filter_names:
        counts[name] += 1
    return dict(counts)


# --------------------------------------------------------------------------- find_nearest's SQL, run by pgbench
#
# The decomposition of the gap between find_nearest (16 Python processes on the machine's cores, beside PostgreSQL)
# and the plain KNN (pgbench's C client, which costs almost nothing): the exact statement find_nearest sends, run by
# pgbench on the same points. "Statement cost" is this against the plain KNN (both with a client that is not the
# bottleneck), "client cost" find_nearest itself against this.
#
# The statement is find_nearest's text() SQL, captured as it executes it (bench/nearest.py capture_nearest_sql),
# unchanged: its ``:name`` placeholders are pgbench variables too, and pgbench leaves ``::`` casts alone (a colon
# not followed by a name is not a variable). Under ``-M prepared`` pgbench sends each occurrence as an untyped
# parameter: the server infers each one's type from its place (psycopg sends typed ones); check_nearest_sql
# compares the answers with find_nearest's. pgbench has no string values in ``\set``, so one prepared lookup per
# transaction (``\gset``) reads the point from the floor's table and the filter's constant values (categories,
# fresh_since, open_at, limit, ...) as text: a second round trip the plain KNN does not make, measured alone by
# the lookup scripts so that the reader (and the report) can subtract it.

NEAREST_MARK = "/* find_nearest SQL via pgbench */"
LOOKUP_MARK = "/* find_nearest SQL via pgbench: point lookup */"
# find_nearest's values that come from the query point; every other value is the filter's own constant.
POINT_VALUES = {
    "lat": "ST_Y(geom)",
    "lon": "ST_X(geom)",
    "serves_lat": "ST_Y(geom)",
    "serves_lon": "ST_X(geom)",
    "merc_x": "merc_x",
    "merc_y": "merc_y",
}
CHECK_TABLE = f"{SCHEMA}.nearest_check"
_VARIABLE = re.compile(r"(?<![:\w]):([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True)
class NearestStatement:
    """find_nearest's statement for one filter, as it sends it: the text() SQL (``:name`` placeholders) and the
    values of one query (the point's are replaced per transaction)."""

    sql: str
    params: dict


def variables(sql: str) -> set[str]:
    """The ``:name`` variables of a statement, as pgbench (and SQLAlchemy's text()) read them."""
    return set(_VARIABLE.findall(sql))


def _text_value(name: str, value) -> str:
    """A bound value as the text pgbench will send (the server casts it to the parameter's inferred type)."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"no pgbench text for {name}={value!r}")
    if isinstance(value, (list, tuple)):
        if not all(isinstance(v, str) and re.fullmatch(r"[a-z_]+", v) for v in value):
            raise ValueError(f"unexpected codes {name}={value!r}")
        return "{" + ",".join(value) + "}"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, str) and re.fullmatch(r"[A-Za-z_/+-]+", value):  # a time zone name
        return value
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, int):
        return str(value)
    raise ValueError(f"no pgbench text for {name}={value!r}")


def lookup_sql(filter_name: str, statement: NearestStatement) -> str:
    """One row: the point (n = :i of the filter's points) and the filter's constant values, one column per variable
    of the statement, for ``\\gset``."""
    names = sorted(variables(statement.sql))
    missing = [n for n in names if n not in statement.params]
    if missing:
        raise ValueError(f"{filter_name}: no value for {missing}")
    columns = [
        f'{POINT_VALUES[n] if n in POINT_VALUES else _quote_literal(_text_value(n, statement.params[n]))} AS "{n}"'
        for n in names
    ]
    return (
        f"{LOOKUP_MARK} SELECT {', '.join(columns)} FROM {POINT_TABLE} "
        f"WHERE filter = {_quote_literal(filter_name)} AND n = :i"
    )


def _nearest_script(filter_name: str, statement: NearestStatement, count: int) -> str:
    return (
        f"\\set i random(1, {count})\n{lookup_sql(filter_name, statement)} \\gset\n"
        f"{NEAREST_MARK}\n{statement.sql.strip()};\n"
    )


def write_nearest_scripts(
    out_dir: Path, statements: dict[str, NearestStatement], counts: dict[str, int]
) -> tuple[dict[str, Path], dict[str, Path]]:
    """Per filter, a pgbench script running find_nearest's statement on one of the filter's points (after the
    lookup of its values), and one running the lookup alone."""
    out_dir.mkdir(parents=True, exist_ok=True)
    scripts, lookups = {}, {}
    for name, statement in statements.items():
        scripts[name] = out_dir / f"nearest-sql-{slug(name)}.sql"
        scripts[name].write_text(_nearest_script(name, statement, counts[name]))
        lookups[name] = out_dir / f"lookup-{slug(name)}.sql"
        lookups[name].write_text(f"\\set i random(1, {counts[name]})\n{lookup_sql(name, statement)} \\gset\n")
    return scripts, lookups


def check_nearest_sql(
    url: str, statements: dict[str, NearestStatement], picks: dict[str, Sequence[int]], out_dir: Path
) -> dict[tuple[str, int], list[tuple]]:
    """Run each filter's script once (pgbench, -M prepared, one client) for the points numbered ``picks[filter]``,
    keeping the rows the statement returns; {(filter, n): [(card, distance_m, bearing_deg, serves_location)]}, in
    the statement's order (find_nearest sorts and trims them)."""
    engine = make_engine(url, pool_size=1)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    f"CREATE TABLE IF NOT EXISTS {CHECK_TABLE} (filter text NOT NULL, n integer NOT NULL, "
                    "card jsonb, distance_m float8, bearing_deg float8, serves_location text)"
                )
            )
            connection.execute(text(f"TRUNCATE {CHECK_TABLE}"))
        lines = []
        for name, statement in statements.items():
            for n in picks[name]:
                lines += [
                    f"\\set i {int(n)}",
                    f"{lookup_sql(name, statement)} \\gset",
                    f"INSERT INTO {CHECK_TABLE} SELECT {_quote_literal(name)}, :i, x.card, x.distance_m, "
                    f"x.bearing_deg, x.serves_location FROM ({NEAREST_MARK}\n{statement.sql.strip()}) x;",
                ]
        out_dir.mkdir(parents=True, exist_ok=True)
        script = out_dir / "check-nearest-sql.sql"
        script.write_text("\n".join(lines) + "\n")
        parsed = make_url(url)
        command = [
            str(PGBENCH),
            "--no-vacuum",
            "--protocol=prepared",
            "--client=1",
            "--transactions=1",
            f"--host={parsed.host}",
            f"--port={parsed.port}",
            f"--username={parsed.username}",
            "--file",
            str(script),
            str(parsed.database),
        ]
        env = {**os.environ, "PGPASSWORD": parsed.password or "", "PGAPPNAME": "bench-knn-check"}
        result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
        if result.returncode != 0 or "number of failed transactions: 0" not in result.stdout:
            raise RuntimeError(f"pgbench check failed ({result.returncode}):\n{result.stdout}\n{result.stderr[-3000:]}")
        rows: dict[tuple[str, int], list[tuple]] = defaultdict(list)
        with engine.connect() as connection:
            for row in connection.execute(
                text(f"SELECT filter, n, card, distance_m, bearing_deg, serves_location FROM {CHECK_TABLE}")
            ):
                rows[(row.filter, row.n)].append((row.card, row.distance_m, row.bearing_deg, row.serves_location))
        return dict(rows)
    finally:
        engine.dispose()
