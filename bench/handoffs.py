"""POST /v1/handoffs over real HTTP: latency (p50/p99) and throughput of the one tap.

    .venv/bin/python bench/handoffs.py                      # 2 workers, 16 connections, 15 s, 3 runs
    .venv/bin/python bench/handoffs.py --workers 1,2 --runs 1 --duration-s 10
    .venv/bin/python bench/handoffs.py --no-results-file    # print only

What it does: the bench cluster (.fieldnav/bench-db), database ``bench_handoffs`` (migrated,
the shipped Ontario centre plus a regional centre with a webhook loaded, so the outbox is
written), `fieldnav serve --workers W`, and wrk POSTing handoffs with 16 connections: every
request a distinct Idempotency-Key, bodies cycling through urgencies, needs, consent and
locations across Ontario (each with a phone number to encrypt). Each run starts with a 3 s
warm-up. Then a 1-connection run gives latency without queueing. Any answer but 201 counts
as an error, and the handoffs in the database must equal the 201s.

Each request does the whole job: token check, rate-limit count, idempotency key insert, the
centre lookup (PostGIS), encryption, the handoff, its history, its webhook event, its audit
entry and the stored response in one transaction.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    BENCH_OUT_DIR,
    HttpResult,
    database_url,
    fieldnav_server,
    git_revision,
    log,
    machine_summary,
    make_tokens,
    median,
    replace_results_section,
    require_wrk,
    start_bench_cluster,
)
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text

from service.handoffs.centres import load_centres

DATABASE = "bench_handoffs"
ONTARIO_FILE = Path(__file__).resolve().parent.parent / "service" / "data" / "centres" / "ontario.json"
PLACES = [
    (43.6534, -79.3839),
    (45.4215, -75.6972),
    (43.2557, -79.8711),
    (42.9849, -81.2453),
    (46.4917, -80.9930),
    (48.3809, -89.2477),
    (44.2312, -76.4860),
    (43.4643, -80.5204),
    (42.3149, -83.0364),
    (44.3894, -79.6903),
]
NEEDS = [
    ["shelter"],
    ["food"],
    ["mental_health", "crisis"],
    ["housing", "income"],
    ["substance_use"],
    ["senior_support"],
]

# POSTs with a distinct Idempotency-Key each (thread number + counter + run id), tokens of
# many field workers and bodies cycled from files; only 201 counts as success.
WRK_SCRIPT = r"""
local threads = {}
local bodies = {}
local tokens = {}
local counter = 0
local run_id
non201 = 0

function setup(thread)
  thread:set("thread_number", #threads)
  table.insert(threads, thread)
end

function init(args)
  run_id = args[1]
  for line in io.lines(args[2]) do tokens[#tokens + 1] = line end
  for line in io.lines(args[3]) do bodies[#bodies + 1] = line end
  counter = thread_number * 7919
end

function request()
  counter = counter + 1
  local headers = {
    ["Authorization"] = "Bearer " .. tokens[counter % #tokens + 1],
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = run_id .. "-" .. thread_number .. "-" .. counter,
  }
  return wrk.format("POST", "/v1/handoffs", headers, bodies[counter % #bodies + 1])
end

function response(status, headers, body)
  if status ~= 201 then non201 = non201 + 1 end
end

function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do bad = bad + thread:get("non201") end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "non2xx": %d, "socket_errors": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, bad, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
"""


def bodies(count: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    out = []
    for index in range(count):
        lat, lon = PLACES[index % len(PLACES)]
        consent = rng.random() < 0.85
        body = {
            "needs": {"groups": NEEDS[index % len(NEEDS)], "note": f"bench note {index}: needs help tonight"},
            "urgency": "urgent" if rng.random() < 0.3 else "routine",
            "language": rng.choice(["en", "en", "en", "fr"]),
            "interpreter_needed": rng.random() < 0.1,
            "contact": {"phone": f"+1 416 555 {rng.randint(100, 199):04d}", "voicemail_ok": rng.random() < 0.5},
            "location": {
                "lat": lat + rng.uniform(-0.05, 0.05),
                "lon": lon + rng.uniform(-0.05, 0.05),
                "navigator_must_attend": False,
            },
        }
        if consent:
            body["consent"] = {"type": "verbal", "scope": ["contact"], "script_version": "on-211-2026.1"}
        out.append(json.dumps(body, separators=(",", ":")))
    return out


def prepare_database() -> str:
    cluster = start_bench_cluster()
    url = database_url(cluster, DATABASE)
    engine = create_engine(url)
    try:
        load_centres(engine, ONTARIO_FILE)
        regional = BENCH_OUT_DIR / "bench-centres.json"
        BENCH_OUT_DIR.mkdir(parents=True, exist_ok=True)
        regional.write_text(
            json.dumps(
                {
                    "centres": [
                        {
                            "id": "211-east",
                            "name": {"en": "211 East", "fr": "211 Est"},
                            "phone": "211",
                            "hours": "24/7",
                            "webhook_url": "https://centre.invalid/fieldnav-events",
                            "webhook_secret_env": "FIELDNAV_BENCH_WEBHOOK_SECRET",
                            "area": {
                                "type": "Polygon",
                                "coordinates": [
                                    [[-76.4, 45.0], [-75.2, 45.0], [-75.2, 45.6], [-76.4, 45.6], [-76.4, 45.0]]
                                ],
                            },
                        }
                    ]
                }
            )
        )
        load_centres(engine, regional)
    finally:
        engine.dispose()
    return url


def handoff_count(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT count(*) FROM handoff")).scalar_one()
    finally:
        engine.dispose()


def run_wrk_post(
    base_url: str, tokens_path: Path, bodies_path: Path, *, connections: int, threads: int, duration_s: float
) -> HttpResult:
    wrk = require_wrk()
    script = BENCH_OUT_DIR / "post_handoffs.lua"
    script.write_text(WRK_SCRIPT)
    command = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration_s))}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        base_url,
        "--",
        uuid.uuid4().hex[:12],
        str(tokens_path),
        str(bodies_path),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=duration_s + 60)
    line = next((out for out in result.stdout.splitlines() if out.startswith("WRK_JSON ")), None)
    if result.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    data = json.loads(line.removeprefix("WRK_JSON "))
    return HttpResult(
        requests=data["requests"],
        duration_s=data["duration_us"] / 1e6,
        errors=data["non2xx"] + data["socket_errors"],
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
    )


@dataclass
class Measured:
    workers: int
    loaded: list[HttpResult]
    single: HttpResult
    created: int
    successes: int
    in_flight_bound: int


def measure(url: str, workers: int, runs: int, duration_s: float, connections: int, bodies_path: Path) -> Measured:
    tokens_path = BENCH_OUT_DIR / "handoff-tokens.txt"
    tokens_path.write_text("\n".join(make_tokens(64)) + "\n")  # 64 field workers (the bench home's signing key)
    env = {"FIELDNAV_HANDOFF_KEYS": Fernet.generate_key().decode(), "FIELDNAV_AUTH_PUBLIC_READS": "false"}
    before = handoff_count(url)
    successes = 0
    with fieldnav_server(url, workers=workers, label=f"handoffs-w{workers}", extra_env=env) as server:
        log(f"workers={workers}: warm-up 3 s")
        warm = run_wrk_post(server.base_url, tokens_path, bodies_path, connections=connections, threads=2, duration_s=3)
        successes += warm.requests - warm.errors
        loaded = []
        for run in range(runs):
            result = run_wrk_post(
                server.base_url, tokens_path, bodies_path, connections=connections, threads=2, duration_s=duration_s
            )
            successes += result.requests - result.errors
            log(
                f"workers={workers} run {run + 1}: {result.qps:.0f} req/s, p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms, "
                f"{result.errors} errors"
            )
            loaded.append(result)
        single = run_wrk_post(server.base_url, tokens_path, bodies_path, connections=1, threads=1, duration_s=5)
        successes += single.requests - single.errors
        log(f"workers={workers} 1 connection: p50 {single.p50_ms:.1f} ms, p99 {single.p99_ms:.1f} ms")
    return Measured(workers, loaded, single, handoff_count(url) - before, successes, connections * (runs + 1) + 1)


def report(
    results: list[Measured], duration_s: float, connections: int, command: str, load: tuple[float, float]
) -> str:
    lines = [
        f"Date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}. Commit: {git_revision()}.",
        f"Machine: {machine_summary()}. Load average (1 min) before / after: {load[0]:.1f} / {load[1]:.1f}.",
        f"Command: `{command}`.",
        "",
        f"`POST /v1/handoffs` over HTTP (`fieldnav serve`, wrk, {connections} connections, 2 threads, "
        f"{duration_s:.0f} s per run after a 3 s warm-up; medians of the runs). Every request is a new handoff with a "
        "distinct Idempotency-Key: token check, rate-limit count, key insert, PostGIS centre lookup, Fernet "
        "encryption, handoff + history + webhook outbox + audit + stored response in one transaction.",
        "",
        "| workers | handoffs/s | p50 ms | p90 ms | p99 ms | max ms | errors | 1-conn p50 ms | 1-conn p99 ms |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for m in results:
        lines.append(
            f"| {m.workers} | {median([r.qps for r in m.loaded]):.0f} | {median([r.p50_ms for r in m.loaded]):.1f} | "
            f"{median([r.p90_ms for r in m.loaded]):.1f} | {median([r.p99_ms for r in m.loaded]):.1f} | "
            f"{max(r.max_ms for r in m.loaded):.0f} | {sum(r.errors for r in m.loaded)} | {m.single.p50_ms:.1f} | {m.single.p99_ms:.1f} |"
        )
    lines.append("")
    # wrk does not count the requests still in flight when a run ends; the server completes them.
    checks = [
        f"workers={m.workers}: {m.created} handoffs in the database for {m.successes} answers 201 counted by wrk"
        + ("" if 0 <= m.created - m.successes <= m.in_flight_bound else " (MISMATCH)")
        for m in results
    ]
    lines.append("Check: " + "; ".join(checks) + " (the difference: requests in flight when each wrk run stopped).")
    lines.append("")
    lines.append(
        "Caveats: the load generator, PostgreSQL and uvicorn share the machine's CPUs; every request writes "
        "(WAL, fsync off on the bench cluster, which is non-durable), so numbers on a durable server with "
        "`synchronous_commit = on` are bounded by its commit latency."
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", default="2", help="comma-separated uvicorn worker counts to measure")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration-s", type=float, default=15.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--no-results-file", action="store_true")
    args = parser.parse_args()
    require_wrk()
    url = prepare_database()
    bodies_path = BENCH_OUT_DIR / "handoff-bodies.ndjson"
    bodies_path.write_text("\n".join(bodies(500)) + "\n")
    started, load_before = time.monotonic(), os.getloadavg()[0]
    results = [
        measure(url, int(w), args.runs, args.duration_s, args.connections, bodies_path) for w in args.workers.split(",")
    ]
    command = "python bench/handoffs.py " + " ".join(sys.argv[1:])
    body = report(results, args.duration_s, args.connections, command.strip(), (load_before, os.getloadavg()[0]))
    print(body)
    log(f"done in {time.monotonic() - started:.0f} s")
    if not args.no_results_file:
        replace_results_section("Handoffs", body)


if __name__ == "__main__":
    main()
