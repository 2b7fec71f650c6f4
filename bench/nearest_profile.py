"""Profiles for bench/nearest.py --profile (issue 21, 3): where the time goes.

* Database: pg_stat_statements in the bench cluster (calls, mean planning and execution time,
  rows and buffers per statement) around each load phase. The module must be preloaded
  (shared_preload_libraries), which takes a restart of the bench cluster: it is done only
  when no other session is connected to the cluster (others share it), after waiting up to a
  bound; otherwise the profile says so and relies on EXPLAIN alone. Once preloaded it stays
  (ALTER SYSTEM), so later runs need no restart. The extension's view lives in schema
  ``bench_floor`` of the bench database; planning is tracked only for that database's new
  sessions (ALTER DATABASE ... SET pg_stat_statements.track_planning), and reset afterwards.
* EXPLAIN (ANALYZE, BUFFERS) of the first queries of each filter, find_nearest's statement and
  the plain KNN side by side (planning and execution time, buffers).
* py-spy on the `fieldnav serve` workers under the HTTP load (bench/tiles_profile.py's
  recording: GIL-holding samples, collapsed stacks), summarised by function.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import common
import psycopg
import tiles_profile
from common import log
from psycopg import sql
from sqlalchemy import make_url

PGSS = "pg_stat_statements"
PGSS_SCHEMA = "bench_floor"


# --------------------------------------------------------------------------- pg_stat_statements


def _superuser(cluster, dbname: str) -> psycopg.Connection:
    url = make_url(cluster.superuser_url())
    return psycopg.connect(
        host=url.query["host"],
        port=url.query["port"],
        user=url.username,
        dbname=dbname,
        autocommit=True,
        connect_timeout=10,
    )


def _other_sessions(connection: psycopg.Connection) -> list[tuple[Any, ...]]:
    return connection.execute(
        "SELECT datname, usename, application_name, state FROM pg_stat_activity "
        "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
    ).fetchall()


def enable_pg_stat_statements(cluster, dbname: str, *, wait_s: float) -> str | None:
    """Make pg_stat_statements usable in ``dbname``; None when it is, else why not."""
    with _superuser(cluster, "postgres") as connection:
        available = connection.execute("SELECT 1 FROM pg_available_extensions WHERE name = %s", (PGSS,)).fetchone()
        if not available:
            return "pg_stat_statements is not installed for this PostgreSQL (postgresql-contrib)"
        preloaded = connection.execute("SELECT current_setting('shared_preload_libraries')").fetchone()[0]
        if PGSS not in [lib.strip() for lib in preloaded.split(",")]:
            libraries = ", ".join([lib.strip() for lib in preloaded.split(",") if lib.strip()] + [PGSS])
            deadline_s = time.monotonic() + wait_s
            while (others := _other_sessions(connection)) and time.monotonic() < deadline_s:
                log(
                    f"profile: waiting for the bench cluster to be idle before its restart ({len(others)} other sessions)"
                )
                time.sleep(10)
            if others:
                return (
                    f"pg_stat_statements needs a restart of the bench cluster, which had {len(others)} other sessions "
                    f"for {wait_s:.0f} s (others share it): not restarted"
                )
            connection.execute(sql.SQL("ALTER SYSTEM SET shared_preload_libraries = {}").format(sql.Literal(libraries)))
    if PGSS not in preloaded:
        log("profile: restarting the bench cluster to preload pg_stat_statements")
        cluster.stop()
        cluster.start()
    with _superuser(cluster, dbname) as connection:
        connection.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(PGSS_SCHEMA)))
        connection.execute(
            sql.SQL("CREATE EXTENSION IF NOT EXISTS pg_stat_statements SCHEMA {}").format(sql.Identifier(PGSS_SCHEMA))
        )
    return None


def set_planning_tracking(cluster, dbname: str, *, on: bool) -> None:
    """Planning times for the new sessions of ``dbname`` only (the profile's), not the cluster's."""
    statement = (
        "ALTER DATABASE {} SET pg_stat_statements.track_planning = on"
        if on
        else "ALTER DATABASE {} RESET pg_stat_statements.track_planning"
    )
    with contextlib.suppress(psycopg.Error), _superuser(cluster, dbname) as connection:
        connection.execute(sql.SQL(statement).format(sql.Identifier(dbname)))


def _pgss_schema(connection: psycopg.Connection) -> str:
    row = connection.execute(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = %s",
        (PGSS,),
    ).fetchone()
    return row[0] if row else PGSS_SCHEMA


def reset_statements(cluster, dbname: str) -> None:
    """Forget this database's statements (other databases' are left alone)."""
    with _superuser(cluster, dbname) as connection:
        schema = _pgss_schema(connection)
        connection.execute(
            sql.SQL(
                "SELECT {}.pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = current_database()), 0)"
            ).format(sql.Identifier(schema))
        )


@dataclass(frozen=True)
class Statement:
    calls: int
    mean_plan_ms: float  # 0 when planning was not tracked (a prepared statement's generic plan: no planning)
    plans: int
    mean_exec_ms: float
    total_ms: float  # planning + execution
    rows_per_call: float
    buffers_per_call: float  # shared hit + read
    query: str


def top_statements(cluster, dbname: str, top: int = 12) -> list[Statement]:
    """This database's statements since the last reset, by total (planning + execution) time."""
    with _superuser(cluster, dbname) as connection:
        schema = _pgss_schema(connection)
        rows = connection.execute(
            sql.SQL(
                "SELECT calls, plans, total_plan_time, total_exec_time, rows, shared_blks_hit + shared_blks_read, query "
                "FROM {}.pg_stat_statements "
                "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND calls > 0 "
                "AND userid <> (SELECT oid FROM pg_roles WHERE rolname = current_user) "
                "ORDER BY total_plan_time + total_exec_time DESC LIMIT %s"
            ).format(sql.Identifier(schema)),
            (top,),
        ).fetchall()
    return [
        Statement(
            calls=calls,
            plans=plans,
            mean_plan_ms=plan_ms / plans if plans else 0.0,
            mean_exec_ms=exec_ms / calls,
            total_ms=plan_ms + exec_ms,
            rows_per_call=n_rows / calls,
            buffers_per_call=buffers / calls,
            query=query,
        )
        for calls, plans, plan_ms, exec_ms, n_rows, buffers, query in rows
    ]


# Which filters a statement tests, from the columns it names (pg_stat_statements replaces
# constants with $n, so the values, e.g. which category, are not in its text).
_FILTER_COLUMNS = {
    "category_groups &&": "category",
    "language_codes &&": "language",
    "minimum_age": "age",
    "open_week_minutes": "open now",
    "capacity_available >": "capacity",
    "accessible": "accessible",
}


def statement_label(query: str) -> str:
    """A short name for a statement: what it is in this bench and the filters it tests, or its first words."""
    flat = " ".join(query.split())
    if "public_candidates" in flat:
        kind = "find_nearest"
    elif "bench_floor.knn_point" in flat:
        kind = "plain KNN"
    else:
        return f"`{flat[:100]}{'...' if len(flat) > 100 else ''}`"
    filters = [name for column, name in _FILTER_COLUMNS.items() if column in flat]
    return f"{kind}, {' + '.join(filters) or 'no filter'}"


def statements_table(statements: list[Statement], wall_s: float) -> str:
    if not statements:
        return "(no statements recorded)"
    lines = [
        "| statement | calls | calls/s | mean plan ms | mean exec ms | share of DB time | rows/call | buffers/call |",
        "|---|---|---|---|---|---|---|---|",
    ]
    total = sum(s.total_ms for s in statements) or 1.0
    for s in statements:
        plan = f"{s.mean_plan_ms:.2f} ({s.plans:,} plans)" if s.plans else "0 (generic plan)"
        lines.append(
            f"| {statement_label(s.query)} | {s.calls:,} | {s.calls / wall_s:.0f} | {plan} | {s.mean_exec_ms:.2f} | "
            f"{s.total_ms / total:.0%} | {s.rows_per_call:.1f} | {s.buffers_per_call:.0f} |"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------- EXPLAIN


@dataclass
class ExplainStats:
    planning_ms: list[float] = field(default_factory=list)
    execution_ms: list[float] = field(default_factory=list)
    buffers: list[int] = field(default_factory=list)


def explain_json(cursor, statement: str, parameters: dict | None = None) -> dict:
    cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, parameters)
    return cursor.fetchone()[0][0]


def add_plan(stats: ExplainStats, plans: list[dict]) -> None:
    stats.planning_ms.append(sum(p.get("Planning Time", 0.0) for p in plans))
    stats.execution_ms.append(sum(p["Execution Time"] for p in plans))
    stats.buffers.append(
        sum(p["Plan"].get("Shared Hit Blocks", 0) + p["Plan"].get("Shared Read Blocks", 0) for p in plans)
    )


# --------------------------------------------------------------------------- py-spy

# Frames whose inclusive share says something about the nearest path.
NAMED = {
    "the endpoint `nearest()` (route)": "nearest (service/api/routes/services.py)",
    "`find_nearest` (SQL: SQLAlchemy, psycopg, waiting excluded)": "find_nearest (service/directory/nearest.py)",
    "building results (`nearest_result`)": "nearest_result (",
    "JSON response (`cached_json`)": "cached_json (",
    "`authorize` (token, policy, rate limit)": "authorize (service/api/security.py)",
    "FastAPI `solve_dependencies`": "solve_dependencies (fastapi/",
    "FastAPI `run_endpoint_function`": "run_endpoint_function (fastapi/",
    "thread hand-off (`run_in_threadpool`)": "run_in_threadpool (starlette/concurrency.py)",
    "request metrics (`prometheus_client`)": "(prometheus_client/",
    "SQLAlchemy": "(sqlalchemy/",
    "psycopg": "(psycopg/",
}


@dataclass
class SpyProfile:
    samples: int = 0
    by_function: list[tuple[str, float]] = field(default_factory=list)  # self time
    inclusive: list[tuple[str, float]] = field(default_factory=list)  # any frame of the stack, app code first
    by_package: list[tuple[str, float]] = field(default_factory=list)
    named: list[tuple[str, float]] = field(default_factory=list)


def _function(frame: str) -> str:
    return frame.strip()


def summarise_spy(raw_path: Path, top: int = 15) -> SpyProfile:
    """py-spy's raw collapsed stacks (all processes): top functions by self and inclusive time."""
    if not raw_path.exists():
        return SpyProfile()
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    named: Counter[str] = Counter()
    total = 0
    for line in raw_path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        frames = tiles_profile._frames(stack)
        if not frames:
            continue
        count = int(count_text)
        total += count
        own[_function(frames[-1])] += count
        packages[tiles_profile._package(frames[-1])] += count
        for frame in set(frames):
            inclusive[_function(frame)] += count
        for name, needle in NAMED.items():
            if any(needle in f for f in frames):
                named[name] += count
    if not total:
        return SpyProfile()
    app_first = [(f, n) for f, n in inclusive.most_common() if "service/" in f][:top]
    return SpyProfile(
        samples=total,
        by_function=[(f, n / total) for f, n in own.most_common(top)],
        inclusive=[(f, n / total) for f, n in app_first],
        by_package=[(p, n / total) for p, n in packages.most_common(10)],
        named=[(name, named[name] / total) for name in NAMED],
    )


def spy_text(profile: SpyProfile) -> str:
    if not profile.samples:
        return "(no py-spy samples)"
    lines = [
        f"{profile.samples:,} GIL-holding samples over the workers.",
        "",
        "Self time by package of the leaf frame: " + ", ".join(f"{p} {v:.0%}" for p, v in profile.by_package),
        "",
        "Inclusive: " + "; ".join(f"{n} {v:.0%}" for n, v in profile.named),
        "",
        "| top functions by self time | share |",
        "|---|---|",
        *(f"| `{f}` | {v:.1%} |" for f, v in profile.by_function),
        "",
        "| fieldnav functions by inclusive time | share |",
        "|---|---|",
        *(f"| `{f}` | {v:.1%} |" for f, v in profile.inclusive),
    ]
    return "\n".join(lines)


@contextlib.contextmanager
def spying(pid: int, out_path: Path, duration_s: float) -> Iterator[None]:
    with tiles_profile.recording(pid, out_path, duration_s):
        yield


def ensure_py_spy() -> Path:
    return tiles_profile.ensure_py_spy()


def profile_dir(size_label: str) -> Path:
    path = common.BENCH_OUT_DIR / f"profile-nearest-{size_label}"
    path.mkdir(parents=True, exist_ok=True)
    return path
