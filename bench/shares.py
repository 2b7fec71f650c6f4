"""Benchmark of the share page (issue 20): ``GET /s/{token}``, its size, its requests, its speed.

    .venv/bin/python bench/shares.py [--size 100k] [--runs 5] [--duration-s 10] [--connections 16]
                                     [--workers 2] [--no-browser] [--no-results-file]

On the bench's database (bench_100k, made, migrated and loaded as bench/nearest.py does), against
``fieldnav serve --workers W``:

1. **Size.** Shares of 10 services made with ``POST /v1/shares`` (a field worker's token,
   ``delivery: link``): 10 public sites drawn at random (seeded) in English and in French, the same
   with one confidential site in place of the last, and the 10 public sites with the most text
   on their cards (name, organisation, address, phones: a worst case), in English and French. Each page fetched with ``Accept-Encoding: gzip`` (the
   ``Content-Length`` of the gzipped answer, as sent) and with ``Accept-Encoding: identity``; the
   two bodies are checked to be the same page (10 list items). Goal: under 30 KB gzipped.
2. **Requests.** Each page opened in Debian's Chromium (Playwright, ``/usr/bin/chromium``, a
   360x640 phone context, as tests/browser does) until the network is idle; every request the
   page makes is recorded (Playwright's context-wide ``request`` event). Goals: none to another
   origin, one in all (the page). Console errors (a CSP refusal would show there) are counted.
3. **Speed.** wrk (2 threads, ``--connections``) on loopback, ``--duration-s`` per target, each
   run going through the targets in turn (rotated per run), after a warm-up of every target (so
   both workers' caches hold the pages and the service details):
   - ``GET /healthz``: the simplest route, the floor;
   - ``GET /v1/services/{id}``: a cached service detail (the ten services of the English share,
     a field worker's bearer token), for context;
   - ``GET /s/{token}`` with ``Accept-Encoding: gzip``, the three first shares in turn, from the
     workers' page cache (service/api/share_pages.py): what a phone asks for;
   - the same with ``Accept-Encoding: identity``: the page without the GZip middleware's work.
   Each wrk connection is closed and opened again after about ``--requests-per-connection``
   (100) requests, so that the load reaches both workers (see ``_wrk``).
   Then one connection (1 thread, ``--duration-s`` / 2) per target: latency without queueing.
   Figures are medians over runs; ratios are each run's share-page / floor ratio, then the
   median of those. Each worker's CPU time during each wrk run is read from /proc, to show
   whether the load reached both workers.

The "Share page (issue 20)" section of bench/RESULTS.md is replaced with the results.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import os
import random
import re
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common
from common import log, median
from sqlalchemy import text

from service.platform.db import make_engine

SECTION = "Share page (issue 20)"
SEED = 20262
SERVICES_PER_SHARE = 10
GOAL_GZIP_BYTES = 30 * 1024
CHROMIUM = Path(os.environ.get("FIELDNAV_TEST_CHROMIUM", "/usr/bin/chromium"))
# As tests/browser/__init__.py launches it: headless, none of Chromium's own background traffic.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]


# --------------------------------------------------------------------------- data


@dataclass
class Picks:
    random_public: list[int]  # site keys
    largest_public: list[int]
    confidential: int
    detail_ids: list[str]  # service ids of random_public, for GET /v1/services/{id}
    services: int
    sites: int
    confidential_sites: int


def _bench_database(cluster, size: str) -> str:
    url = common.database_url(cluster, f"bench_{size}")
    common.load_demo_services(url, common.SIZES[size])
    return url


# The public sites with the most text on a share page's card: name, organisation (when it differs),
# address and the first two phones (service/shares/render.py shows those, and today's hours).
_LONGEST = """
    SELECT site_key FROM service_site WHERE NOT is_private
    ORDER BY length(coalesce(card->>'name', ''))
        + CASE WHEN card->>'organization_name' IS DISTINCT FROM card->>'name'
               THEN length(coalesce(card->>'organization_name', '')) ELSE 0 END
        + length(coalesce(card->'address'->>'address_1', '')) + length(coalesce(card->'address'->>'address_2', ''))
        + length(coalesce(card->'address'->>'city', '')) + length(coalesce(card->'address'->>'postal_code', ''))
        + length(coalesce(card->'phones'->0->>'number', '')) + length(coalesce(card->'phones'->1->>'number', ''))
        DESC, site_key
    LIMIT :n
"""


def _picks(url: str) -> Picks:
    rng = random.Random(SEED)
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as connection:
            public = connection.execute(
                text("SELECT site_key, service_id::text FROM service_site WHERE NOT is_private ORDER BY site_key")
            ).all()
            private = (
                connection.execute(text("SELECT site_key FROM service_site WHERE is_private ORDER BY site_key"))
                .scalars()
                .all()
            )
            largest = (
                connection.execute(
                    text(_LONGEST),
                    {"n": SERVICES_PER_SHARE},
                )
                .scalars()
                .all()
            )
            services = connection.execute(text("SELECT count(*) FROM service")).scalar_one()
    finally:
        engine.dispose()
    if not private:
        raise SystemExit("no confidential site in the database: cannot make the confidential share")
    chosen = rng.sample(public, SERVICES_PER_SHARE)
    return Picks(
        random_public=[row[0] for row in chosen],
        largest_public=list(largest),
        confidential=rng.choice(private),
        detail_ids=[row[1] for row in chosen],
        services=services,
        sites=len(public) + len(private),
        confidential_sites=len(private),
    )


@dataclass
class Share:
    label: str
    language: str
    site_keys: list[int]
    url: str = ""
    path: str = ""
    create_ms: float = 0.0


def _shares(picks: Picks) -> list[Share]:
    with_confidential = [*picks.random_public[:-1], picks.confidential]
    return [
        Share("10 random public, en", "en", picks.random_public),
        Share("10 random public, fr", "fr", picks.random_public),
        Share("9 public + 1 confidential, en", "en", with_confidential),
        Share("10 longest cards, en", "en", picks.largest_public),
        Share("10 longest cards, fr", "fr", picks.largest_public),
    ]


# --------------------------------------------------------------------------- HTTP helpers


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    header_bytes: int  # the status line and headers as received
    body: bytes  # as sent (gzipped when Content-Encoding says so)
    elapsed_ms: float


def _request(base_url: str, method: str, path: str, headers: dict[str, str], body: bytes | None = None) -> Answer:
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        started = time.perf_counter()
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        elapsed_ms = (time.perf_counter() - started) * 1000
        raw_headers = f"HTTP/1.1 {response.status} {response.reason}\r\n" + "".join(
            f"{name}: {value}\r\n" for name, value in response.getheaders()
        )
        return Answer(
            status=response.status,
            headers={name.lower(): value for name, value in response.getheaders()},
            header_bytes=len(raw_headers.encode()) + 2,
            body=data,
            elapsed_ms=elapsed_ms,
        )
    finally:
        connection.close()


def _create(server: common.Server, token: str, share: Share) -> None:
    body = json.dumps(
        {
            "services": [{"site_key": key} for key in share.site_keys],
            "language": share.language,
            "delivery": "link",
        }
    ).encode()
    answer = _request(
        server.base_url,
        "POST",
        "/v1/shares",
        {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Idempotency-Key": str(uuid.uuid4()),
        },
        body,
    )
    if answer.status != 201:
        raise SystemExit(f"POST /v1/shares ({share.label}): {answer.status} {answer.body[:500]!r}")
    created = json.loads(answer.body)
    if created["service_count"] != SERVICES_PER_SHARE:
        raise SystemExit(f"{share.label}: {created['service_count']} services shared, not {SERVICES_PER_SHARE}")
    share.url = created["url"]
    share.path = urlsplit(share.url).path
    share.create_ms = answer.elapsed_ms


# --------------------------------------------------------------------------- 1. size


@dataclass
class Size:
    share: Share
    gzip_bytes: int
    gzip_header_bytes: int
    identity_bytes: int
    encoding: str
    first_get_ms: float  # the first GET: rendered by the worker that took it (a cache miss)
    items: int
    list_bytes: int  # the <ol> of the 10 services, uncompressed; the rest is style, QR code, 211 line


def _size(server: common.Server, share: Share) -> Size:
    zipped = _request(server.base_url, "GET", share.path, {"Accept-Encoding": "gzip", "Accept": "text/html"})
    plain = _request(server.base_url, "GET", share.path, {"Accept-Encoding": "identity", "Accept": "text/html"})
    for answer in (zipped, plain):
        if answer.status != 200:
            raise SystemExit(f"GET {share.label}: {answer.status}")
    encoding = zipped.headers.get("content-encoding", "none")
    if int(zipped.headers["content-length"]) != len(zipped.body):
        raise SystemExit(f"{share.label}: Content-Length {zipped.headers['content-length']} != {len(zipped.body)}")
    page = gzip.decompress(zipped.body) if encoding == "gzip" else zipped.body
    if page != plain.body or "content-encoding" in plain.headers:
        raise SystemExit(f"{share.label}: the gzipped and the plain answers differ")
    items = page.count(b"<li>")
    if items != SERVICES_PER_SHARE:
        raise SystemExit(f"{share.label}: {items} services on the page")
    return Size(
        share=share,
        gzip_bytes=len(zipped.body),
        gzip_header_bytes=zipped.header_bytes,
        identity_bytes=len(plain.body),
        encoding=encoding,
        first_get_ms=zipped.elapsed_ms,
        items=items,
        list_bytes=page.index(b"</ol>") + 5 - page.index(b"<ol>"),
    )


# --------------------------------------------------------------------------- 2. requests in Chromium


@dataclass
class BrowserLoad:
    share: Share
    requests: list[str]
    other_origin: list[str]
    failed: list[str]
    console_errors: list[str]
    transfer_bytes: int  # the document's response headers + body as Chromium received them
    content_encoding: str
    title: str


def _browser_load(browser, share: Share, origin: str) -> BrowserLoad:
    """One page in a fresh phone-sized context (as tests/browser's ``phone_context``)."""
    context = browser.new_context(
        viewport={"width": 360, "height": 640},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="en-CA",
        timezone_id="America/Toronto",
    )
    try:
        requests: list[str] = []
        failed: list[str] = []
        console_errors: list[str] = []

        def on_console(message) -> None:
            if message.type == "error":
                console_errors.append(message.text)

        context.on("request", lambda request: requests.append(request.url))
        context.on("requestfailed", lambda request: failed.append(request.url))
        page = context.new_page()
        page.on("console", on_console)
        response = page.goto(share.url, wait_until="networkidle", timeout=30_000)
        page.wait_for_timeout(500)  # anything late (a lazy image, a beacon) would show now
        if response is None or response.status != 200:
            raise SystemExit(f"Chromium: {share.label}: {response.status if response else 'no answer'}")
        sizes = response.request.sizes()
        return BrowserLoad(
            share=share,
            requests=list(requests),
            other_origin=[url for url in requests if urlsplit(url).netloc != origin],
            failed=list(failed),
            console_errors=list(console_errors),
            transfer_bytes=sizes["responseHeadersSize"] + sizes["responseBodySize"],
            content_encoding=response.headers.get("content-encoding", "none"),
            title=page.title(),
        )
    finally:
        context.close()


def _browser_loads(server: common.Server, shares: list[Share]) -> list[BrowserLoad]:
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.is_file():
        raise SystemExit(f"{CHROMIUM} is missing (apt-get install chromium), or run with --no-browser")
    origin = urlsplit(server.base_url).netloc
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            return [_browser_load(browser, share, origin) for share in shares]
        finally:
            browser.close()


# --------------------------------------------------------------------------- 3. speed (wrk)

# Requests cycle through "path accept-encoding token" lines (token "-" for none); every
# close_every-th request of a thread asks the server to close its connection, which wrk then
# opens again; every answer but 200 counts as an error; done() prints one JSON line.
_WRK_SCRIPT = r"""
local threads = {}
local paths, encodings, tokens = {}, {}, {}
local next_index = 0
local close_every = 0
local sent = 0
bad = 0

function setup(thread)
  thread:set("thread_number", #threads)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(args[1]) do
    local path, encoding, token = line:match("^(%S+) (%S+) (%S+)$")
    paths[#paths + 1] = path
    encodings[#encodings + 1] = encoding
    tokens[#tokens + 1] = token
  end
  next_index = (thread_number * 7919) % #paths
  close_every = tonumber(args[2])
end

function request()
  next_index = next_index % #paths + 1
  local headers = {["Accept-Encoding"] = encodings[next_index]}
  if tokens[next_index] ~= "-" then headers["Authorization"] = "Bearer " .. tokens[next_index] end
  sent = sent + 1
  if close_every > 0 and sent % close_every == 0 then headers["Connection"] = "close" end
  return wrk.format("GET", paths[next_index], headers)
end

function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end

function done(summary, latency, requests)
  local errors = 0
  for _, thread in ipairs(threads) do errors = errors + thread:get("bad") end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "bad": %d, "socket_errors": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, summary.bytes, errors, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


@dataclass(frozen=True)
class Target:
    name: str
    lines: list[str]  # "path encoding token"


@dataclass
class Measure:
    requests: int
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    bytes_per_request: float
    worker_cpu_s: list[float] = field(default_factory=list)


def _ticks(pid: int) -> int:
    fields = common.proc_stat_fields(pid)
    if fields is None:
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime


def _wrk(
    server: common.Server,
    target: Target,
    *,
    connections: int,
    threads: int,
    duration_s: float,
    workers: list[int],
    requests_per_connection: int,
) -> Measure:
    """One wrk run. uvicorn's workers share one listening socket, and the worker that wakes
    first accepts every connection wrk opens at once (a first try put all 16 on one worker for
    /healthz, and 95% on one for the page): each connection is closed after about
    ``requests_per_connection`` requests (``Connection: close`` on every n-th request of a
    thread) and opened again, so that the load spreads over both workers, as phones' short
    sessions do (bench/load.py renews its connections for the same reason)."""
    close_every = max(1, round(requests_per_connection * threads / connections)) if requests_per_connection else 0
    wrk = common.require_wrk()
    common.BENCH_OUT_DIR.mkdir(parents=True, exist_ok=True)
    script = common.BENCH_OUT_DIR / "shares.lua"
    script.write_text(_WRK_SCRIPT)
    lines = common.BENCH_OUT_DIR / f"shares-{re.sub(r'[^a-z]+', '-', target.name.lower()).strip('-')}.txt"
    lines.write_text("".join(line + "\n" for line in target.lines))
    command = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration_s))}s",
        "--timeout",
        f"{common.WRK_TIMEOUT_S}s",
        "-s",
        str(script),
        server.base_url,
        "--",
        str(lines),
        str(max(0, close_every)),
    ]
    before = [_ticks(pid) for pid in workers]
    result = subprocess.run(command, capture_output=True, text=True, timeout=duration_s + common.WRK_TIMEOUT_S + 60)
    after = [_ticks(pid) for pid in workers]
    line = next((out for out in result.stdout.splitlines() if out.startswith("WRK_JSON ")), None)
    if result.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    data = json.loads(line.removeprefix("WRK_JSON "))
    requests = data["requests"]
    hertz = os.sysconf("SC_CLK_TCK")
    return Measure(
        requests=requests,
        rps=requests / (data["duration_us"] / 1e6),
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        errors=data["bad"] + data["socket_errors"],
        bytes_per_request=data["bytes"] / requests if requests else float("nan"),
        worker_cpu_s=[(b - a) / hertz for a, b in zip(before, after, strict=True)],
    )


def _targets(shares: list[Share], picks: Picks, token: str) -> list[Target]:
    pages = [share.path for share in shares[:3]]
    return [
        Target("GET /healthz", ["/healthz gzip -"]),
        Target("GET /v1/services/{id}", [f"/v1/services/{sid} gzip {token}" for sid in picks.detail_ids]),
        Target("GET /s/{token} (gzip)", [f"{path} gzip -" for path in pages]),
        Target("GET /s/{token} (identity)", [f"{path} identity -" for path in pages]),
    ]


FLOOR = "GET /healthz"
PAGE = "GET /s/{token} (gzip)"
PAGE_PLAIN = "GET /s/{token} (identity)"
DETAIL = "GET /v1/services/{id}"


def _speed(
    server: common.Server, targets: list[Target], args
) -> tuple[dict[str, list[Measure]], dict[str, list[Measure]]]:
    workers = common.worker_pids(server.process.pid)
    log(f"workers: {workers}")
    common_options: dict = {"workers": workers, "requests_per_connection": args.requests_per_connection}
    for target in targets:  # both workers' caches, and wrk's connections, warm
        warm = _wrk(server, target, connections=args.connections, threads=2, duration_s=3, **common_options)
        log(f"warm-up {target.name}: {warm.rps:.0f} req/s, errors {warm.errors}")
    loaded: dict[str, list[Measure]] = {target.name: [] for target in targets}
    single: dict[str, list[Measure]] = {target.name: [] for target in targets}
    for run in range(args.runs):
        order = targets[run % len(targets) :] + targets[: run % len(targets)]
        for target in order:
            loaded[target.name].append(
                _wrk(
                    server,
                    target,
                    connections=args.connections,
                    threads=2,
                    duration_s=args.duration_s,
                    **common_options,
                )
            )
        for target in order:
            single[target.name].append(
                _wrk(server, target, connections=1, threads=1, duration_s=args.duration_s / 2, **common_options)
            )
        log(
            f"run {run + 1}/{args.runs}: "
            + ", ".join(f"{name} {m[-1].rps:.0f} req/s p50 {m[-1].p50_ms:.2f} ms" for name, m in loaded.items())
        )
    return loaded, single


# --------------------------------------------------------------------------- report


def _kb(value: float) -> str:
    return f"{value / 1024:.1f} KB"


def _size_table(sizes: list[Size]) -> str:
    lines = [
        "| share | language | gzip body (as sent) | headers | uncompressed body | of which the list | gzip / plain | first GET (render) ms | goal < 30 KB gzip |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for size in sizes:
        verdict = "met" if size.encoding == "gzip" and size.gzip_bytes < GOAL_GZIP_BYTES else "NOT met"
        lines.append(
            f"| {size.share.label} | {size.share.language} | {size.gzip_bytes:,} B ({_kb(size.gzip_bytes)}) "
            f"| {size.gzip_header_bytes:,} B | {size.identity_bytes:,} B ({_kb(size.identity_bytes)}) "
            f"| {size.list_bytes:,} B "
            f"| {size.gzip_bytes / size.identity_bytes:.2f} | {size.first_get_ms:.1f} | {verdict} |"
        )
    return "\n".join(lines)


def _browser_table(loads: list[BrowserLoad]) -> str:
    lines = [
        "| share | requests | to another origin | failed | console errors | document as received (Chromium) |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for load in loads:
        lines.append(
            f"| {load.share.label} | {len(load.requests)} | {len(load.other_origin)} | {len(load.failed)} "
            f"| {len(load.console_errors)} | {load.transfer_bytes:,} B, {load.content_encoding} |"
        )
    return "\n".join(lines)


def _cell(measures: list[Measure], attribute: str) -> float:
    return median([getattr(m, attribute) for m in measures])


def _ratio(numerator: list[Measure], denominator: list[Measure], attribute: str) -> tuple[float, list[float]]:
    per_run = [getattr(a, attribute) / getattr(b, attribute) for a, b in zip(numerator, denominator, strict=True)]
    return median(per_run), per_run


def _speed_table(loaded: dict[str, list[Measure]], single: dict[str, list[Measure]]) -> str:
    lines = [
        "| route | req/s | p50 ms | p90 ms | p99 ms | errors | bytes / answer | req/s per run | worker CPU split | 1 conn: req/s, p50 / p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|---|",
    ]
    for name, measures in loaded.items():
        per_run = ", ".join(f"{m.rps:.0f}" for m in measures)
        cpu = [sum(m.worker_cpu_s[i] for m in measures) for i in range(len(measures[0].worker_cpu_s))]
        split = " / ".join(f"{100 * c / sum(cpu):.0f}%" for c in cpu) if sum(cpu) else "n/a"
        one = single[name]
        lines.append(
            f"| `{name}` | **{_cell(measures, 'rps'):.0f}** | **{_cell(measures, 'p50_ms'):.2f}** "
            f"| {_cell(measures, 'p90_ms'):.2f} | {_cell(measures, 'p99_ms'):.2f} "
            f"| {sum(m.errors for m in measures)} | {_cell(measures, 'bytes_per_request'):,.0f} | {per_run} | {split} "
            f"| {_cell(one, 'rps'):.0f}, {_cell(one, 'p50_ms'):.2f} / {_cell(one, 'p99_ms'):.2f} |"
        )
    return "\n".join(lines)


def _ratio_lines(loaded: dict[str, list[Measure]], single: dict[str, list[Measure]], connections: int) -> str:
    out = []
    for name in (PAGE, PAGE_PLAIN, DETAIL):
        p50, p50_runs = _ratio(loaded[name], loaded[FLOOR], "p50_ms")
        rps, rps_runs = _ratio(loaded[name], loaded[FLOOR], "rps")
        one, one_runs = _ratio(single[name], single[FLOOR], "p50_ms")
        out.append(
            f"- `{name}` / `{FLOOR}`: p50 at {connections} connections **{p50:.2f}** "
            f"(runs {', '.join(f'{r:.2f}' for r in p50_runs)}), throughput **{rps:.2f}** "
            f"(runs {', '.join(f'{r:.2f}' for r in rps_runs)}), p50 at 1 connection **{one:.2f}** "
            f"(runs {', '.join(f'{r:.2f}' for r in one_runs)})"
        )
    gz, gz_runs = _ratio(loaded[PAGE], loaded[PAGE_PLAIN], "rps")
    out.append(
        f"- gzip's cost on the page: throughput with gzip / without **{gz:.2f}** "
        f"(runs {', '.join(f'{r:.2f}' for r in gz_runs)})"
    )
    return "\n".join(out)


def _report(args, picks, sizes, loads, loaded, single, started_at, elapsed_s) -> str:
    changed = common.changed_files(args.code_at_start, common.code_snapshot())
    warning = (
        f"\n\n**The application code changed during this run**: {', '.join(f'`{p}`' for p in changed)}."
        if changed
        else ""
    )
    worst = max(sizes, key=lambda size: size.gzip_bytes)
    size_verdict = "met" if all(s.encoding == "gzip" and s.gzip_bytes < GOAL_GZIP_BYTES for s in sizes) else "NOT met"
    if loads:
        third_party = sum(len(load.other_origin) for load in loads)
        totals = sorted({len(load.requests) for load in loads})
        browser_text = f"""### Requests the page makes (Chromium)

Debian's Chromium ({CHROMIUM}) through Playwright, a 360x640 phone context (device scale 2, touch, en-CA,
America/Toronto), each page opened in a fresh context until the network is idle, then 0.5 s more; every
request of the context recorded.

{_browser_table(loads)}

Goals: requests to any origin other than the server **{third_party}** (goal 0): {"met" if third_party == 0 else "NOT met"};
requests per page **{", ".join(map(str, totals))}** (goal 1): {"met" if totals == [1] else "NOT met"}."""
    else:
        browser_text = "### Requests the page makes (Chromium)\n\nNot run (`--no-browser`)."
    return f"""
Date: {started_at.strftime("%Y-%m-%d %H:%M %Z")} ({elapsed_s / 60:.0f} min) — code at {args.revision_at_start}, fingerprint {common.code_fingerprint(args.code_at_start)}{warning}

Command: `{args.command}`

Data set: `bench_{args.size}`, {picks.services:,} demo services ({picks.sites:,} sites, {picks.confidential_sites:,} of them
confidential).

Machine: {common.machine_summary()}; load average at start {args.load_at_start}, at end {common.load_average()}
(2 cores, noisy: other sessions' test suites share this machine; PostgreSQL, the server, wrk and
Chromium share the CPUs: read medians and same-run ratios).

Server: `fieldnav serve --workers {args.workers}` on loopback (`bench/common.py`'s settings: rate limit raised
out of the way, still counted). Shares made with `POST /v1/shares` (`delivery: link`, a field worker's
bearer token, an `Idempotency-Key` each); sites drawn with seed {SEED}.

### Size over the wire, 10 services

Each page fetched with `Accept-Encoding: gzip` (body = the answer's `Content-Length`, gzipped by the app's
GZipMiddleware) and with `Accept-Encoding: identity` (uncompressed); the two decode to the same page of 10
list items. Headers: the status line and headers of the gzipped answer. "Of which the list": the `<ol>` of
the 10 services, uncompressed (the rest: the inline style and script, the QR code's inline SVG for print, the 211 lines). "First GET": the first request for the
page (the worker that took it rendered it: a cache miss), one client.

{_size_table(sizes)}

Goal: under 30 KB gzipped for 10 services: **{size_verdict}** (largest {worst.gzip_bytes:,} B,
{worst.share.label}).

{browser_text}

### Latency and throughput, from the workers' cache

wrk on loopback, 2 threads, {args.connections} connections, {args.duration_s:g} s per route and run, {args.runs} runs (the
routes in turn, the order rotated each run), after a 3 s warm-up of each route (pages and service details in
both workers' caches). Every request sends `Accept-Encoding` (`gzip`, as phones do, but for the identity row).
Each wrk connection is closed (`Connection: close`) and opened again after about {args.requests_per_connection} requests: uvicorn's
workers share one listening socket, and without this the worker that wakes first takes all of wrk's
connections (a first try put every `/healthz` connection on one worker).
Routes: `GET /healthz` (the floor: the simplest route, no token, answer under the gzip threshold); `GET
/v1/services/{{id}}` (the 10 services of the English share in turn, a field worker's bearer token, cached
detail); `GET /s/{{token}}` (the first three shares above in turn, no token, from the page cache). Errors: any
answer but 200, socket errors. "1 conn": the same with 1 thread and 1 connection, {args.duration_s / 2:g} s
(latency without queueing). Figures are medians over runs; "worker CPU split": each worker's share of the
CPU time the two workers spent during that route's runs (/proc).

{_speed_table(loaded, single)}

Ratios (each run's ratio, then the median of the runs):

{_ratio_lines(loaded, single, args.connections)}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="100k", choices=sorted(common.SIZES))
    parser.add_argument("--runs", type=int, default=5, help="runs of the speed part; medians are reported")
    parser.add_argument("--duration-s", type=float, default=10.0, help="seconds per route and run (wrk)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--requests-per-connection",
        type=int,
        default=100,
        help="wrk's connections are closed and opened again after about this many requests (0: never)",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium part")
    parser.add_argument("--no-results-file", action="store_true", help="print only, leave RESULTS.md alone")
    args = parser.parse_args()
    if not 1 <= args.runs <= 20 or not 1 <= args.duration_s <= 120 or not 1 <= args.connections <= 256:
        parser.error("--runs must be 1..20, --duration-s 1..120, --connections 1..256")
    common.require_wrk()
    args.command = " ".join(["python bench/shares.py", *sys.argv[1:]])
    started_at, started_s = datetime.now(UTC).astimezone(), time.monotonic()
    args.load_at_start = common.load_average()
    args.revision_at_start, args.code_at_start = common.git_revision(), common.code_snapshot()
    cluster = common.start_bench_cluster()
    url = _bench_database(cluster, args.size)
    picks = _picks(url)
    shares = _shares(picks)
    (token,) = common.make_tokens(1, subject_prefix="bench-shares")
    # A few shares per run; the hourly cap (30 by default) would stop repeated runs.
    extra_env = {"FIELDNAV_SHARES_PER_HOUR": "1000"}
    with common.fieldnav_server(url, workers=args.workers, label="shares", extra_env=extra_env) as server:
        for share in shares:
            _create(server, token, share)
            log(f"share {share.label}: {share.path[:10]}… made in {share.create_ms:.1f} ms")
        sizes = [_size(server, share) for share in shares]
        for size in sizes:
            log(f"{size.share.label}: {size.gzip_bytes:,} B gzip, {size.identity_bytes:,} B plain")
        loads = [] if args.no_browser else _browser_loads(server, shares)
        for load in loads:
            log(f"Chromium {load.share.label}: {len(load.requests)} requests, {len(load.other_origin)} elsewhere")
        loaded, single = _speed(server, _targets(shares, picks, token), args)
    text_ = _report(args, picks, sizes, loads, loaded, single, started_at, time.monotonic() - started_s)
    if not args.no_results_file:
        common.replace_results_section(SECTION, text_)
        log(f"wrote the {SECTION!r} section of {common.RESULTS_FILE}")
    print(text_)


if __name__ == "__main__":
    main()
