"""Benchmark of GET /v1/places (service/places/) at the 100k bench database (issue 19).

    .venv/bin/python bench/places.py [--size 100k] [--rounds 200] [--runs 3] [--workers 2]
                                     [--no-results-file]

On the bench's database (bench_100k, made, migrated to the newest revision and loaded as
bench/nearest.py does: migration 0020_places loaded the shipped places, and each demo import
rebuilt the gazetteer of its public addresses), on one connection:

* the SQL alone: ``service.places.search.search`` (the statements the endpoint runs when no
  external geocoder is set) for six kinds of query (a town's exact name, a name's first
  letters, a postal code, a postal prefix, a street address of the directory, a typo),
  ``--rounds`` each; p50 and p99 per kind;
* HTTP: ``fieldnav serve --workers W``, the same queries one after another from one client
  over keep-alive (urllib opens a connection per request: http.client is used instead);
  p50 and p99 per kind.

``--runs`` runs, each the SQL pass then the HTTP pass against the same server, so both see the
same machine; the report gives the medians over runs of each run's p50 / p99. Goal: p50 under
5 ms over HTTP. The "Places (issue 19)" section of bench/RESULTS.md is replaced with the results.
"""

from __future__ import annotations

import argparse
import http.client
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common
from common import log, median, percentile
from sqlalchemy import text

from service.platform.db import make_engine

SECTION = "Places (issue 19)"
SEED = 20261
SAMPLE = 50  # distinct queries per kind, cycled through ``--rounds``
LIMIT = 10
GOAL_P50_MS = 5.0


def _bench_database(cluster, size: str) -> str:
    """bench_<size>, migrated to the newest revision and loaded (as bench/nearest.py makes it)."""
    url = common.database_url(cluster, f"bench_{size}")
    common.load_demo_services(url, common.SIZES[size])
    return url


def _queries(url: str) -> tuple[dict[str, list[str]], dict[tuple[str, str], int]]:
    """Queries of each kind, drawn from what the database holds, and the place counts."""
    rng = random.Random(SEED)
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as connection:

            def sample(sql: str) -> list[str]:
                values = connection.execute(text(sql)).scalars().all()
                return rng.sample(values, min(SAMPLE, len(values)))

            towns = sample("SELECT name FROM place WHERE origin = 'geonames' AND weight > 5000")
            counts = connection.execute(
                text("SELECT origin, kind, count(*) FROM place GROUP BY 1, 2 ORDER BY 1, 2")
            ).all()
            log("places: " + ", ".join(f"{o}/{k} {n}" for o, k, n in counts))
            queries = {
                "town, exact": towns,
                "name prefix (3 letters)": [t[:3] for t in towns],
                "postal code": sample("SELECT name FROM place WHERE kind = 'postal_code'"),
                "postal prefix": sample("SELECT name FROM place WHERE kind = 'postal_prefix'"),
                "street address": sample("SELECT name FROM place WHERE kind = 'address'"),
                "typo (fuzzy)": [t[:-2] + t[-1] + t[-2] for t in towns if len(t) > 5],
            }
    finally:
        engine.dispose()
    empty = [kind for kind, values in queries.items() if not values]
    if empty:
        raise SystemExit(f"no place to query for {empty}: is the place table loaded (migration 0020)?")
    return queries, {(o, k): n for o, k, n in counts}


def _sql_floor(url: str, queries: dict[str, list[str]], rounds: int, warm: bool) -> dict[str, list[float]]:
    from service.places.normal import normal
    from service.places.search import search

    engine = make_engine(url, pool_size=1)
    timings: dict[str, list[float]] = {}
    try:
        with engine.connect() as connection:
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")  # as the endpoint reads
            for kind, values in queries.items():
                if warm:  # the cache and the prepared statements
                    for value in values[:10]:
                        search(connection, normal(value), LIMIT)
                samples = []
                for i in range(rounds):
                    started = time.perf_counter()
                    search(connection, normal(values[i % len(values)]), LIMIT)
                    samples.append((time.perf_counter() - started) * 1000)
                timings[kind] = samples
    finally:
        engine.dispose()
    return timings


def _http(
    server: common.Server, token: str, queries: dict[str, list[str]], rounds: int, warm: bool
) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {}
    parts = urlsplit(server.base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    headers = {"Authorization": f"Bearer {token}"}

    def get(q: str) -> None:
        connection.request("GET", "/v1/places?" + urlencode({"q": q, "limit": LIMIT}), headers=headers)
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise SystemExit(f"GET /v1/places?q={q!r}: {response.status}")

    try:
        for kind, values in queries.items():
            if warm:
                for value in values[:10]:
                    get(value)
            samples = []
            for i in range(rounds):
                started = time.perf_counter()
                get(values[i % len(values)])
                samples.append((time.perf_counter() - started) * 1000)
            timings[kind] = samples
    finally:
        connection.close()
    return timings


def _all(run: dict[str, list[float]]) -> list[float]:
    return [v for values in run.values() for v in values]


def _cell(runs: list[dict[str, list[float]]], kind: str | None, fraction: float) -> float:
    return median([percentile(run[kind] if kind else _all(run), fraction) for run in runs])


def _table(kinds: list[str], sql: list[dict], over_http: list[dict]) -> str:
    lines = [
        "| query | SQL p50 ms | SQL p99 ms | HTTP p50 ms | HTTP p99 ms | HTTP p50 per run |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for kind in [*kinds, None]:
        per_run = ", ".join(f"{percentile(run[kind] if kind else _all(run), 0.5):.2f}" for run in over_http)
        name = kind or "**all**"
        lines.append(
            f"| {name} | {_cell(sql, kind, 0.5):.2f} | {_cell(sql, kind, 0.99):.2f} "
            f"| {_cell(over_http, kind, 0.5):.2f} | {_cell(over_http, kind, 0.99):.2f} | {per_run} |"
        )
    return "\n".join(lines)


def _report(args, kinds, counts, sql, over_http, services, started_at, elapsed_s) -> str:
    changed = common.changed_files(args.code_at_start, common.code_snapshot())
    warning = (
        f"\n\n**The application code changed during this run**: {', '.join(f'`{p}`' for p in changed)}."
        if changed
        else ""
    )
    places = ", ".join(f"{origin}/{kind} {n:,}" for (origin, kind), n in counts.items())
    worst = max(_cell(over_http, kind, 0.5) for kind in kinds)
    overall = _cell(over_http, None, 0.5)
    verdict = "met" if overall < GOAL_P50_MS else "NOT met"
    return f"""
Date: {started_at.strftime("%Y-%m-%d %H:%M %Z")} ({elapsed_s / 60:.0f} min) — code at {args.revision_at_start}, fingerprint {common.code_fingerprint(args.code_at_start)}{warning}

Command: `{args.command}`

Data set: `bench_{args.size}`, {services:,} demo services; `place` holds {sum(counts.values()):,} places ({places}).

Machine: {common.machine_summary()}; load average at start {args.load_at_start}, at end {common.load_average()}
(other sessions share this machine).

{len(kinds)} kinds of query, up to {SAMPLE} distinct values each (seed {SEED}, drawn from the place table), {args.rounds}
queries per kind and pass, `limit={LIMIT}`, one connection / one keep-alive client, no external geocoder. SQL:
`service.places.search.search` (autocommit). HTTP: `GET /v1/places?q=..&limit={LIMIT}` against `fieldnav serve --workers
{args.workers}`, bearer token, timed client side. {args.runs} runs, each the SQL pass then the HTTP pass (after a warm-up
in the first); figures are medians over runs of each run's p50 / p99.

{_table(kinds, sql, over_http)}

Goal: `GET /v1/places` p50 under {GOAL_P50_MS:.0f} ms at {args.size} services: **{overall:.2f} ms** over all queries
(slowest kind {worst:.2f} ms): {verdict}.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="100k", choices=sorted(common.SIZES))
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3, help="interleaved runs; medians are reported")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-results-file", action="store_true", help="print only, leave RESULTS.md alone")
    args = parser.parse_args()
    if not 1 <= args.runs <= 20 or not 10 <= args.rounds <= 10_000:
        parser.error("--runs must be 1..20 and --rounds 10..10000")
    args.command = " ".join(["python bench/places.py", *sys.argv[1:]])
    started_at, started_s = datetime.now(UTC).astimezone(), time.monotonic()
    args.load_at_start = common.load_average()
    args.revision_at_start, args.code_at_start = common.git_revision(), common.code_snapshot()
    cluster = common.start_bench_cluster()
    url = _bench_database(cluster, args.size)
    queries, counts = _queries(url)
    (token,) = common.make_tokens(1)
    sql, over_http = [], []
    with common.fieldnav_server(url, workers=args.workers, label="places") as server:
        for run in range(args.runs):
            sql.append(_sql_floor(url, queries, args.rounds, warm=run == 0))
            over_http.append(_http(server, token, queries, args.rounds, warm=run == 0))
            log(
                f"run {run + 1}/{args.runs}: SQL p50 {percentile(_all(sql[-1]), 0.5):.2f} ms, "
                f"HTTP p50 {percentile(_all(over_http[-1]), 0.5):.2f} ms"
            )
    engine = make_engine(url, pool_size=1)
    try:
        services = sum(common.source_counts(engine).values())
    finally:
        engine.dispose()
    text_ = _report(args, list(queries), counts, sql, over_http, services, started_at, time.monotonic() - started_s)
    if not args.no_results_file:
        common.replace_results_section(SECTION, text_)
        log(f"wrote the {SECTION!r} section of {common.RESULTS_FILE}")
    print(text_)


if __name__ == "__main__":
    main()
