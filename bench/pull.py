"""Pulling a catalogue from an HSDS 3 API against importing the same catalogue from a file.

    .venv/bin/python bench/pull.py                          # the recorded run (100,000 services)
    .venv/bin/python bench/pull.py --services 5000 --no-results-file   # a quick try

What it does: on the bench cluster (.fieldnav/bench-db), ``--services`` demo services (seed
2000, as bench/common.py writes them) go to an ndjson file. Then, each as its own process so
that its peak RSS is its own:

1. **File import**: `fieldnav import FILE --source pull-bench` into ``bench_pull_file``;
2. **Pull**: a local HSDS 3 API (a threaded http.server in this process, on loopback) serves
   the same file as ``/services?full=true`` pages of ``--page-size`` (an index of line offsets:
   the server never holds the catalogue either), and `fieldnav import --from-api URL --source
   pull-bench` pulls it into ``bench_pull_api``.

Both databases are emptied of the source first, so both are a first, full import. Reported:
services/s (the command's wall time, process start to exit), peak RSS of the command
(``ru_maxrss`` of a wrapper's only child) and the pull's share of the file import's speed.
Goal: the pull at >= 50% of the file import's services/s, with a peak RSS under 1 GB.
Writes the "HSDS API pull" section of bench/RESULTS.md (unless ``--no-results-file``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common
import orjson
from common import log
from sqlalchemy import text

SECTION = "HSDS API pull"
SOURCE = "pull-bench"
SEED = 2000

# Where the pull's memory goes (written under the numbers).
RSS_NOTE = [
    "",
    "The pull spools pages to a temporary file as they arrive (the HTTP side holds one page), then",
    "imports it `FIELDNAV_PULL_CHUNK_SERVICES` (2000) services at a time in one transaction",
    "(service/importer/chunked.py); the file import holds the whole catalogue. The sites are rebuilt",
    "at the end in batches of 5,000 (service/directory/sites.py). Both databases get VACUUM ANALYZE",
    "before each round.",
]

# Runs a command and prints its peak RSS (KiB) last: ru_maxrss of this wrapper's children,
# of which the command is the only one.
_MEASURE = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:]).returncode\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def line_offsets(path: Path) -> list[tuple[int, int]]:
    offsets, position = [], 0
    with path.open("rb") as handle:
        for line in handle:
            offsets.append((position, len(line)))
            position += len(line)
    return offsets


def serve_file(path: Path) -> tuple[ThreadingHTTPServer, str]:
    """An HSDS 3 API answering /services (Page objects) and /organizations (empty) from the file."""
    offsets = line_offsets(path)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            number, size = int(query.get("page", "1")), int(query.get("per_page", "500"))
            items = offsets if parts.path == "/services" else []
            total_pages = max(1, -(-len(items) // size))
            chosen = items[(number - 1) * size : number * size]
            with path.open("rb") as handle:
                lines = []
                for start, length in chosen:
                    handle.seek(start)
                    lines.append(handle.read(length).rstrip(b"\n"))
            head = orjson.dumps(
                {
                    "total_items": len(items),
                    "total_pages": total_pages,
                    "page_number": number,
                    "size": len(chosen),
                    "first_page": number == 1,
                    "last_page": number >= total_pages,
                    "empty": not chosen,
                }
            )
            body = head[:-1] + b',"contents":[' + b",".join(lines) + b"]}"
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", common.free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def run_measured(args: list[str], url: str, env: dict[str, str] | None = None) -> tuple[float, int, str]:
    """(wall seconds, peak RSS in MiB, stdout) of a `fieldnav` command on database ``url``."""
    environment = {**os.environ, "FIELDNAV_DATABASE_URL": url, **(env or {})}
    started_s = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(common.FIELDNAV_BIN), *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=7200,
    )
    wall_s = time.monotonic() - started_s
    if result.returncode != 0:
        raise SystemExit(f"fieldnav {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    peak_kib = int(result.stderr.strip().splitlines()[-1])
    return wall_s, peak_kib // 1024, result.stdout.strip()


def empty_source(url: str) -> None:
    engine = common.loading_engine(url)
    try:
        with engine.begin() as connection:
            for table in ("service_site", "service", "location", "organization", "taxonomy_term", "taxonomy", "unit"):
                connection.execute(text(f"DELETE FROM {table} WHERE source = :s"), {"s": SOURCE})
            connection.execute(text("DELETE FROM hsds_source WHERE name = :s"), {"s": SOURCE})
        # Each round deletes and reloads 100k services: without fresh statistics and the dead
        # rows gone, the next round's plans (the sites query above all) are the bench's, not ours.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--services", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-results-file", action="store_true")
    options = parser.parse_args()

    cluster = common.start_bench_cluster()
    file_url = common.database_url(cluster, "bench_pull_file")
    api_url = common.database_url(cluster, "bench_pull_api")
    common.BENCH_DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = common.BENCH_DATA_DIR / f"{SOURCE}-{options.services}.ndjson"
    if not path.exists():
        log(f"writing {options.services} demo services to {path}")
        common.write_demo_ndjson(path, options.services, SEED, SOURCE)
    size_mb = path.stat().st_size / 1e6
    load_before = common.load_average()
    # Alternated, best of --rounds: the machine may be shared, and both sides see the same.
    file_runs: list[tuple[float, int]] = []
    pull_runs: list[tuple[float, int]] = []
    server, base_url = serve_file(path)
    try:
        for round_number in range(1, options.rounds + 1):
            empty_source(file_url)
            log(f"round {round_number}: file import ...")
            file_s, file_rss, file_out = run_measured(["import", str(path), "--source", SOURCE], file_url)
            log(file_out)
            file_runs.append((file_s, file_rss))
            empty_source(api_url)
            log(f"round {round_number}: pull from {base_url} ...")
            pull_s, pull_rss, pull_out = run_measured(
                ["import", "--from-api", base_url, "--source", SOURCE],
                api_url,
                {"FIELDNAV_PULL_PAGE_SIZE": str(options.page_size)},
            )
            log(pull_out)
            pull_runs.append((pull_s, pull_rss))
    finally:
        server.shutdown()
    file_s, pull_s = min(s for s, _ in file_runs), min(s for s, _ in pull_runs)
    file_rss, pull_rss = max(r for _, r in file_runs), max(r for _, r in pull_runs)
    file_rate, pull_rate = options.services / file_s, options.services / pull_s
    share = pull_rate / file_rate
    every_run = ", ".join(f"{f:.1f} s / {p:.1f} s" for (f, _), (p, _) in zip(file_runs, pull_runs, strict=True))
    body = "\n".join(
        [
            f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, `.venv/bin/python bench/pull.py"
            f"{'' if options.services == 100_000 else f' --services {options.services}'}`, git {common.git_revision()}.",
            f"Data set: {options.services:,} demo services (seed {SEED}), {size_mb:.0f} MB of ndjson; each command "
            f"a first, full import of source `{SOURCE}` into its own database of the bench cluster.",
            f"HSDS API: a threaded http.server on loopback serving the same file as `/services?full=true` pages of "
            f"{options.page_size} (`FIELDNAV_PULL_PAGE_SIZE`). Machine: {common.machine_summary()}; "
            f"load {load_before} at the start, {common.load_average()} at the end.",
            "",
            f"Best of {options.rounds} alternated rounds (file / pull wall time per round: {every_run}); "
            "peak RSS: the highest of the rounds.",
            "",
            "| command | wall s | services/s | peak RSS MiB |",
            "|---|---|---|---|",
            f"| `fieldnav import FILE` | {file_s:.1f} | {file_rate:.0f} | {file_rss} |",
            f"| `fieldnav import --from-api URL` | {pull_s:.1f} | {pull_rate:.0f} | {pull_rss} |",
            "",
            f"The pull runs at {share:.0%} of the file import's services/s (goal >= 50%); its peak RSS is "
            f"{pull_rss} MiB (goal < 1024 MiB), the file import's {file_rss} MiB.",
            *RSS_NOTE,
        ]
    )
    print(body)
    if not options.no_results_file:
        common.replace_results_section(SECTION, body)
        log(f"wrote the '{SECTION}' section of {common.RESULTS_FILE}")


if __name__ == "__main__":
    main()
