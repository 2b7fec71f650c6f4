"""What every fieldnav benchmark needs: a private database cluster, demo data loaded once and
reused, a real `fieldnav serve` subprocess, a wrk load generator on loopback, percentiles,
and the RESULTS.md writer.

Nothing here talks to anything but 127.0.0.1. Every loop is bounded (a count or a deadline).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson
from sqlalchemy import Engine, make_url, text

PROJECT_DIR = Path(__file__).resolve().parent.parent
if str(PROJECT_DIR) not in sys.path:  # `python bench/x.py` puts bench/, not the project, on the path
    sys.path.insert(0, str(PROJECT_DIR))

from service.directory.demo_data import generate_services  # noqa: E402
from service.importer import import_path  # noqa: E402
from service.platform import migrate  # noqa: E402
from service.platform.db import make_engine  # noqa: E402
from service.platform.embedded_db import EmbeddedCluster, EmbeddedDbError  # noqa: E402

BENCH_DB_DIR = PROJECT_DIR / ".fieldnav" / "bench-db"
BENCH_DATA_DIR = PROJECT_DIR / ".fieldnav" / "bench-data"
BENCH_OUT_DIR = PROJECT_DIR / "bench" / "out"  # logs and scratch files (gitignored)
RESULTS_FILE = PROJECT_DIR / "bench" / "RESULTS.md"
FIELDNAV_BIN = PROJECT_DIR / ".venv" / "bin" / "fieldnav"
# The bench server's FIELDNAV_HOME: its own signing key, never the dev one in .fieldnav/keys.
BENCH_HOME = PROJECT_DIR / ".fieldnav" / "bench-home"

# The importer keeps a whole source in memory (~1-2 GB per 100k services): big data sets are
# loaded as several sources of this size, one after another.
SERVICES_PER_SOURCE = 100_000
SOURCE_SEED_BASE = 1000

SIZES = {"100k": 100_000, "1m": 1_000_000}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- machine


def memory_bytes() -> int:
    """The memory this process may use: the machine's, or its cgroup's limit when lower."""
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
    except OSError:
        return physical
    return min(physical, int(limit)) if limit.isdigit() else physical


def machine_summary() -> str:
    total_ram_gb = memory_bytes() / 1024**3
    return f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {total_ram_gb:.0f} GB RAM, {platform.platform()}"


def load_average() -> str:
    return " / ".join(f"{value:.1f}" for value in os.getloadavg()) + " (1/5/15 min)"


def code_snapshot() -> dict[str, str]:
    """{path: content hash} of the application's code and migrations: others may edit them
    while a benchmark runs, and a run that straddles a change measures two programs."""
    import hashlib

    snapshot = {}
    for folder in ("service", "spatial", "migrations"):
        for path in sorted((PROJECT_DIR / folder).rglob("*")):
            if path.is_file() and path.suffix in (".py", ".sql", ".yaml", ".csv"):
                snapshot[str(path.relative_to(PROJECT_DIR))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return snapshot


def code_fingerprint(snapshot: dict[str, str] | None = None) -> str:
    import hashlib

    items = sorted((snapshot if snapshot is not None else code_snapshot()).items())
    return hashlib.sha256(repr(items).encode()).hexdigest()[:12]


def changed_files(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(path for path in before.keys() | after.keys() if before.get(path) != after.get(path))


def git_revision() -> str:
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=10
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        return result.stdout.strip() + (" (uncommitted changes)" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


# --------------------------------------------------------------------------- database


def bench_shared_buffers_mb() -> int:
    """PostgreSQL's usual advice, as docs/deploy.md gives it: a quarter of the machine's memory
    for shared buffers, here capped at 8 GB (the 1M-service database is about 6 GB). With the
    default 128 MB, a nearest query at 1M spent a third of the backend's time copying pages
    from the kernel (perf, bench/README.md), measuring the cluster's size and not the code."""
    return max(128, min(memory_bytes() // 2**20 // 4, 8192))


def bench_cluster_memory_text() -> str:
    """The cluster's memory setting, for the reports."""
    return f"shared_buffers {bench_shared_buffers_mb()} MB, a quarter of the machine's memory at most 8 GB"


def start_bench_cluster() -> EmbeddedCluster:
    """The bench's own cluster in .fieldnav/bench-db (never the dev or test cluster), with its
    shared buffers sized to the machine (restarted once when it runs with another size)."""
    wanted_mb = bench_shared_buffers_mb()
    cluster = EmbeddedCluster(BENCH_DB_DIR, durable=False, settings={"shared_buffers": f"{wanted_mb}MB"})
    engine = make_engine(cluster.start(), pool_size=1)
    try:
        with engine.connect() as connection:
            running_mb = connection.execute(
                text("SELECT pg_size_bytes(current_setting('shared_buffers')) / 1048576")
            ).scalar_one()
    finally:
        engine.dispose()
    if running_mb != wanted_mb:
        log(f"bench cluster: shared_buffers {running_mb} MB -> {wanted_mb} MB (restart)")
        cluster.stop()
        cluster.start()
    return cluster


def database_url(cluster: EmbeddedCluster, name: str) -> str:
    """URL of database ``name``, created (with PostGIS) and migrated when needed."""
    try:
        url = cluster.create_database(name)
        log(f"created database {name}")
    except EmbeddedDbError as error:
        if "already exists" not in str(error):
            raise
        url = make_url(cluster.url()).set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(url)
    return url


def loading_engine(url: str) -> Engine:
    """An engine for imports: the app's engines carry the API's statement_timeout (10 s by
    default), which a COPY of 100k service sites can exceed on a busy 2-core machine."""
    return make_engine(
        url,
        pool_size=1,
        connect_args={
            "options": "-c statement_timeout=0",
            "connect_timeout": 5,
            "application_name": "fieldnav-bench-load",
        },
    )


def source_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT source, count(*) FROM service GROUP BY source")).all()
    return dict(rows)


def schema_summary(engine: Engine) -> tuple[str, tuple[str, ...]]:
    """(alembic revision, index names on service_site): two databases migrated while the
    migrations were being edited can claim the same revision and still differ."""
    with engine.connect() as connection:
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        indexes = (
            connection.execute(
                text("SELECT indexname FROM pg_indexes WHERE tablename = 'service_site' ORDER BY indexname")
            )
            .scalars()
            .all()
        )
    return revision, tuple(indexes)


def site_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT count(*) FROM service_site")).scalar_one()


def demo_sources(total_services: int) -> list[tuple[str, int, int]]:
    """(source name, seed, service count) of the sources that make up ``total_services``."""
    sources, remaining, index = [], total_services, 0
    while remaining > 0:
        count = min(SERVICES_PER_SOURCE, remaining)
        sources.append((f"demo-{index}", SOURCE_SEED_BASE + index, count))
        remaining -= count
        index += 1
    return sources


def load_demo_services(url: str, total_services: int, *, reload: bool = False) -> None:
    """Make the database hold exactly ``total_services`` demo services, importing only the
    sources that are missing or incomplete (all of them with ``reload``), then ANALYZE."""
    engine = loading_engine(url)
    try:
        wanted = demo_sources(total_services)
        present = source_counts(engine)
        extra = sorted(set(present) - {name for name, _, _ in wanted})
        if extra:
            raise SystemExit(
                f"{make_url(url).database} holds sources the bench did not make: {extra}; use another "
                f"database or drop it"
            )
        todo = [s for s in wanted if reload or present.get(s[0]) != s[2]]
        if not todo:
            log(f"{make_url(url).database}: {total_services} services already loaded")
            return
        for name, seed, count in todo:
            _import_demo_source(engine, name, seed, count)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            started_s = time.monotonic()
            connection.execute(text("VACUUM ANALYZE"))
            log(f"VACUUM ANALYZE in {time.monotonic() - started_s:.0f} s")
    finally:
        engine.dispose()


def _import_demo_source(engine: Engine, source: str, seed: int, count: int) -> None:
    BENCH_DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = BENCH_DATA_DIR / f"{source}.ndjson"
    started_s = time.monotonic()
    try:
        write_demo_ndjson(path, count, seed, source)
        report = import_path(engine, path, source=source)
    finally:
        path.unlink(missing_ok=True)
    log(f"{report.summary_line()} (with generation: {time.monotonic() - started_s:.0f} s)")


# Demo data gives shared objects (organizations, taxonomy terms, the bed unit) the same uuid5
# in every data set, and an HSDS id belongs to one source only: a second demo source would be
# refused. Each source gets its own copy of those objects by renaming every version-5 UUID
# (service-specific ids are version 4 and stay as they are).
_UUID5 = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def write_demo_ndjson(path: Path, count: int, seed: int, source: str) -> int:
    namespace = uuid.uuid5(uuid.NAMESPACE_URL, f"https://fieldnav.example.org/bench/{source}")
    renamed: dict[bytes, bytes] = {}

    def rename(match: re.Match) -> bytes:
        old = match.group(0)
        if old not in renamed:
            renamed[old] = str(uuid.uuid5(namespace, old.decode())).encode()
        return renamed[old]

    written = 0
    with open(path, "wb") as out:
        for service in generate_services(count, seed):
            out.write(_UUID5.sub(rename, orjson.dumps(service)) + b"\n")
            written += 1
    return written


# --------------------------------------------------------------------------- server


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    base_url: str
    process: subprocess.Popen
    log_path: Path


@contextlib.contextmanager
def fieldnav_server(
    database_url_: str,
    *,
    workers: int,
    label: str,
    ready_timeout_s: float = 60.0,
    extra_env: dict[str, str] | None = None,
) -> Iterator[Server]:
    """`fieldnav serve --workers N` on a free loopback port, ready (GET /readyz is 200)."""
    port = free_port()
    BENCH_OUT_DIR.mkdir(parents=True, exist_ok=True)
    log_path = BENCH_OUT_DIR / f"server-{label}.log"
    env = {**os.environ, **server_env(database_url_), **(extra_env or {})}
    command = [str(FIELDNAV_BIN), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            command, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True, cwd=PROJECT_DIR
        )
    server = Server(f"http://127.0.0.1:{port}", process, log_path)
    try:
        _wait_ready(server, ready_timeout_s)
        yield server
    finally:
        _stop(process)


def server_env(database_url_: str) -> dict[str, str]:
    """Environment of the bench server. The rate limit is raised out of the way (it is still
    counted, in the database, on every request, as in production): a load generator is a
    handful of clients sending what thousands of phones would."""
    return {
        "FIELDNAV_DATABASE_URL": database_url_,
        "FIELDNAV_HOME": str(BENCH_HOME),
        "FIELDNAV_LIMIT_REQUESTS_PER_MIN": "1000000000",
    }


def make_tokens(
    count: int, *, ttl_h: float = 4.0, role: str = "field_worker", agency: str = "bench", subject_prefix: str = "bench"
) -> list[str]:
    """``count`` bearer tokens (by default role field_worker, agency bench, subjects bench-0..),
    signed with the bench home's key, so each request can come from one of many field workers.
    A navigator's agency is its centre id (e.g. ``role="navigator", agency="211-ontario"``)."""
    program = (
        "import sys\n"
        "from datetime import timedelta\n"
        "from service.auth.principal import Role\n"
        "from service.auth.tokens import create_token\n"
        "for i in range(int(sys.argv[1])):\n"
        "    token, _ = create_token(agency=sys.argv[4], role=Role(sys.argv[3]), subject=f'{sys.argv[5]}-{i}', ttl=timedelta(hours=float(sys.argv[2])))\n"
        "    print(token)\n"
    )
    env = {**os.environ, "FIELDNAV_HOME": str(BENCH_HOME)}
    result = subprocess.run(
        [sys.executable, "-c", program, str(count), str(ttl_h), role, agency, subject_prefix],
        env=env,
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    tokens = result.stdout.split()
    if len(tokens) != count:
        raise RuntimeError(f"expected {count} tokens, got {len(tokens)}: {result.stderr}")
    return tokens


def _wait_ready(server: Server, timeout_s: float) -> None:
    deadline_s = time.monotonic() + timeout_s
    while time.monotonic() < deadline_s:
        if server.process.poll() is not None:
            raise RuntimeError(f"fieldnav serve exited with {server.process.returncode}; see {server.log_path}")
        try:
            with urllib.request.urlopen(server.base_url + "/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"fieldnav serve not ready after {timeout_s:.0f} s; see {server.log_path}")


def _stop(process: subprocess.Popen, timeout_s: float = 20.0) -> None:
    # Our own process group (start_new_session): the uvicorn supervisor and its workers.
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout_s)


def proc_stat_fields(pid: int | str) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (which may hold spaces), from
    ``state`` on: ppid is [1], utime [11], stime [12], cutime [13], cstime [14]. None when
    the process is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def parse_sizes(parser: argparse.ArgumentParser, sizes_text: str) -> list[str]:
    """``--sizes`` (comma-separated labels of SIZES), or the parser's usage error."""
    sizes = [size.strip().lower() for size in sizes_text.split(",") if size.strip()]
    unknown = [size for size in sizes if size not in SIZES]
    if unknown or not sizes:
        parser.error(f"unknown sizes {unknown}; use {', '.join(SIZES)}")
    return sizes


def worker_pids(master_pid: int) -> list[int]:
    """The uvicorn worker processes of a `fieldnav serve` master: its children started by
    multiprocessing's ``spawn_main`` (not the resource tracker). With one worker uvicorn serves
    from the master itself, so that is the list."""
    workers = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = proc_stat_fields(entry.name)
        if fields is None or int(fields[1]) != master_pid:  # gone meanwhile, or another's
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in cmdline:
            workers.append(int(entry.name))
    return sorted(workers) or [master_pid]


MEMORY_FIELDS = ("VmRSS", "RssAnon", "RssFile", "RssShmem", "VmHWM")


def process_memory_kib(pid: int) -> dict[str, int]:
    """Resident memory of one process from /proc/<pid>/status, in KiB: VmRSS (the total),
    RssAnon (heap: where a growing cache or a leak shows), RssFile, RssShmem (e.g. the
    multiprocess metrics files), VmHWM (peak). Empty when the process is gone."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    values = {}
    for line in lines:
        name, _, rest = line.partition(":")
        if name in MEMORY_FIELDS:
            values[name] = int(rest.split()[0])
    return values


def get_json(url: str, timeout_s: float = 10.0, token: str | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


# --------------------------------------------------------------------------- wrk

# Requests cycle through a file of "path token" lines (each thread from its own offset), every
# non-2xx answer is counted, and done() prints one JSON line with the summary.
_WRK_SCRIPT = r"""
local threads = {}
local paths = {}
local tokens = {}
local next_index = 0
non2xx = 0

function setup(thread)
  thread:set("thread_number", #threads)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(args[1]) do
    local path, token = line:match("^(%S+) (%S+)$")
    paths[#paths + 1] = path
    tokens[#tokens + 1] = token
  end
  next_index = (thread_number * 7919) % #paths
end

function request()
  next_index = next_index % #paths + 1
  return wrk.format("GET", paths[next_index], {["Authorization"] = "Bearer " .. tokens[next_index]})
end

function response(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end

function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do bad = bad + thread:get("non2xx") end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "non2xx": %d, "socket_errors": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, bad, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
"""


@dataclass
class FloorResult:
    """Work done straight against PostgreSQL (no HTTP) by several processes in one window."""

    completed: int  # queries or tiles finished inside the measured window
    duration_s: float
    errors: dict[str, int]  # exception class name -> count
    latencies_ms: list[float]

    @property
    def qps(self) -> float:
        return self.completed / self.duration_s

    @property
    def p50_ms(self) -> float:
        return percentile(self.latencies_ms, 0.50)

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies_ms, 0.99)


@dataclass(frozen=True)
class HttpResult:
    requests: int
    duration_s: float
    errors: int  # non-2xx answers + socket errors
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float

    @property
    def qps(self) -> float:
        return self.requests / self.duration_s


# wrk leaves answers slower than its timeout out of the latency histogram (it counts them as
# timeouts), so the timeout is well above the server's own statement timeout (10 s).
WRK_TIMEOUT_S = 30


def require_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk not found: install it (apt-get install -y wrk) and run again")
    return wrk


def run_wrk(
    base_url: str,
    paths: Sequence[str],
    tokens: Sequence[str],
    *,
    connections: int,
    threads: int,
    duration_s: float,
    label: str,
) -> HttpResult:
    """One wrk run against ``base_url`` over ``paths``, request i with bearer token
    ``tokens[i % len(tokens)]``; bounded by ``duration_s``."""
    wrk = require_wrk()
    BENCH_OUT_DIR.mkdir(parents=True, exist_ok=True)
    script_path = BENCH_OUT_DIR / "cycle_paths.lua"
    script_path.write_text(_WRK_SCRIPT)
    paths_path = BENCH_OUT_DIR / f"paths-{label}.txt"
    paths_path.write_text("".join(f"{path} {tokens[i % len(tokens)]}\n" for i, path in enumerate(paths)))
    command = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration_s))}s",
        "--timeout",
        f"{WRK_TIMEOUT_S}s",
        "-s",
        str(script_path),
        base_url,
        "--",
        str(paths_path),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=duration_s + WRK_TIMEOUT_S + 60)
    line = next((out for out in result.stdout.splitlines() if out.startswith("WRK_JSON ")), None)
    if result.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    data = json.loads(line.removeprefix("WRK_JSON "))
    if data["max_us"] == 0:  # no latency was recorded: wrk's percentiles mean nothing
        data.update(p50_us=float("nan"), p90_us=float("nan"), p99_us=float("nan"), max_us=float("nan"))
    return HttpResult(
        requests=data["requests"],
        duration_s=data["duration_us"] / 1e6,
        errors=data["non2xx"] + data["socket_errors"],
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
    )


# --------------------------------------------------------------------------- statistics


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (fraction in 0..1); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-fraction * len(ordered) // 1))))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return percentile(values, 0.5) if len(values) % 2 else _even_median(values)


def _even_median(values: Sequence[float]) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    middle = len(ordered) // 2
    return (ordered[middle - 1] + ordered[middle]) / 2


# --------------------------------------------------------------------------- RESULTS.md


def replace_results_section(title: str, body: str, path: Path = RESULTS_FILE) -> None:
    """Replace the ``## {title}`` section of RESULTS.md (up to the next ``## ``), or append it."""
    heading = f"## {title}"
    existing = (
        path.read_text()
        if path.exists()
        else "# Benchmark results\n\nWritten by the scripts in bench/ (see bench/README.md).\n"
    )
    lines = existing.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == heading), None)
    section = [heading, "", *body.strip("\n").splitlines(), ""]
    if start is None:
        new_lines = [*lines, "", *section] if lines and lines[-1].strip() else [*lines, *section]
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        new_lines = [*lines[:start], *section, *lines[end:]]
    path.write_text("\n".join(new_lines).rstrip("\n") + "\n")
