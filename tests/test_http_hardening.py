"""HTTP hardening from the security probe (issue 15), on a real `fieldnav serve` over HTTP.

- request heads are capped: a 64 KB header is refused (431), and connections sending huge
  unfinished headers leave the worker's memory flat;
- X-Forwarded-For / -Proto are believed only from FIELDNAV_TRUSTED_PROXIES (default: none);
- directory reads are `private` unless FIELDNAV_AUTH_PUBLIC_READS=true, /v1/me is `no-store`;
- a chunked body over FIELDNAV_LIMIT_MAX_BODY_BYTES gets 413, as a declared one does;
- HEAD follows GET on every GET route.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
import pytest
from pydantic import ValidationError

from service.auth.principal import Role
from service.auth.tokens import create_token
from service.platform.settings import ApiSettings
from spatial.tiles import tile_for_lonlat
from tests.support.servers import start_server, stop_server

TORONTO = (-79.3832, 43.6532)
PROBLEM = "tag:fieldnav.org,2026:problem/"
# What differs between any two responses to the same request.
PER_RESPONSE_HEADERS = {"date", "server", "x-request-id"}


def _bearer(subject: str = "hardening") -> dict:
    token = create_token(agency="agency-a", role=Role.FIELD_WORKER, subject=subject, ttl=timedelta(hours=1))[0]
    return {"Authorization": f"Bearer {token}"}


def _address(server) -> tuple[str, int]:
    parts = urlsplit(server.base_url)
    return parts.hostname, parts.port


def _rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.fixture(scope="module")
def pack_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("packs"))  # both servers: they share the database's pack rows


@pytest.fixture(scope="module")
def server(demo_database_url, pack_dir):
    """Public reads (TEST_SERVER_ENV), one worker: the process started is the one serving."""
    live = start_server(demo_database_url, env={"FIELDNAV_PACKS_DIR": pack_dir})
    yield live
    stop_server(live)


@pytest.fixture(scope="module")
def strict_server(demo_database_url, pack_dir):
    """A token needed for every read (FIELDNAV_AUTH_PUBLIC_READS=false, the default)."""
    live = start_server(demo_database_url, env={"FIELDNAV_AUTH_PUBLIC_READS": "false", "FIELDNAV_PACKS_DIR": pack_dir})
    yield live
    stop_server(live)


# --- 3. request head limits ------------------------------------------------------------------


def test_a_64_kb_header_is_refused_with_431(server):
    with server.client() as client:
        # (In French: Accept-Language comes before the header that is too large.)
        refused = client.get("/healthz", headers={"Accept-Language": "fr", "X-Big": "a" * 65536})
        assert refused.status_code == 431
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.headers["connection"] == "close" and refused.headers["cache-control"] == "no-store"
        assert refused.json()["type"] == PROBLEM + "headers-too-large"
        assert refused.json()["title"] == "En-têtes trop volumineux" and refused.headers["content-language"] == "fr"
        # An 8 MB one too (the probe had it answered 200), and many small headers.
        assert client.get("/healthz", headers={"X-Big": "a" * (8 << 20)}).status_code == 431
        many = client.get("/healthz", headers={f"X-Field-{n}": "1" for n in range(150)})
        assert many.status_code == 431 and "100 fields" in many.json()["detail"]
        # A request line longer than the cap is 414.
        long_url = client.get("/healthz?q=" + "a" * 40_000)
        assert long_url.status_code == 414 and long_url.json()["type"] == PROBLEM + "uri-too-long"
        # What a real client sends passes: a long token, a few dozen headers, a long query.
        fine = client.get(
            "/healthz?q=" + "a" * 4000,
            headers={"Authorization": "Bearer " + "x" * 8000, **{f"X-Field-{n}": "1" * 100 for n in range(60)}},
        )
        assert fine.status_code == 200
    # Split across many small writes (a slow client): refused all the same.
    head = b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 65536 + b"\r\n\r\n"
    with socket.create_connection(_address(server), timeout=10) as connection:
        try:
            for start in range(0, len(head), 1000):
                connection.sendall(head[start : start + 1000])
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert connection.recv(64).startswith(b"HTTP/1.1 431 ")


def test_unfinished_huge_headers_leave_the_workers_memory_flat(server):
    pid = server.process.pid  # --workers 1: uvicorn serves in this process
    address = _address(server)
    connections, per_connection, piece = 8, 16 << 20, b"a" * (1 << 20)
    with server.client() as client:
        for _ in range(20):
            assert client.get("/healthz").status_code == 200
    before = _rss_bytes(pid)
    peak = [before]
    sending = threading.Event()
    sending.set()

    def sample():
        while sending.is_set():
            peak[0] = max(peak[0], _rss_bytes(pid))
            time.sleep(0.02)

    opened: list[socket.socket] = []
    answers: list[bytes] = []

    def attack():
        connection = socket.create_connection(address, timeout=30)
        opened.append(connection)
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: ")
        try:
            for _ in range(per_connection // len(piece)):  # and never the end of the line
                connection.sendall(piece)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass
        try:
            answers.append(connection.recv(64))
        except (ConnectionResetError, TimeoutError):
            answers.append(b"")

    sampler = threading.Thread(target=sample)
    sampler.start()
    attackers = [threading.Thread(target=attack) for _ in range(connections)]
    for thread in attackers:
        thread.start()
    for thread in attackers:
        thread.join(120)
    time.sleep(0.3)
    peak[0] = max(peak[0], _rss_bytes(pid))
    held = _rss_bytes(pid)
    sending.clear()
    sampler.join()
    for connection in opened:
        connection.close()
    growth_mb, held_mb = (peak[0] - before) / 2**20, (held - before) / 2**20
    print(
        f"worker RSS before {before / 2**20:.1f} MB, peak +{growth_mb:.1f} MB, while connections open +{held_mb:.1f} MB "
        f"({connections} connections x {per_connection >> 20} MB unfinished header)"
    )
    assert growth_mb < 24, f"the worker grew by {growth_mb:.0f} MB"
    assert all(answer.startswith(b"HTTP/1.1 431 ") for answer in answers), answers
    with server.client() as client:
        assert client.get("/healthz").status_code == 200


# --- 9. trusted proxies ----------------------------------------------------------------------


def _anonymous_statuses(client: httpx.Client, forwarded_for: list[str], extra: dict | None = None) -> list[int]:
    return [
        client.get("/v1/categories", headers={"X-Forwarded-For": address, **(extra or {})}).status_code
        for address in forwarded_for
    ]


def _at_window_start(window_s: int) -> None:
    time.sleep(window_s - time.time() % window_s + 0.05)


LIMITED = {"FIELDNAV_LIMIT_REQUESTS_PER_MIN": "5", "FIELDNAV_LIMIT_WINDOW_S": "4"}


def test_a_rotating_x_forwarded_for_does_not_escape_the_anonymous_limit(database_url):
    live = start_server(database_url, env=LIMITED)
    try:
        with live.client() as client:
            _at_window_start(4)
            rotating = [f"198.51.100.{n}" for n in range(1, 9)]
            assert _anonymous_statuses(client, rotating) == [200] * 5 + [429] * 3
            # Nor is X-Forwarded-Proto believed: the TileJSON's URLs keep the scheme of the connection.
            time.sleep(4.1)
            template = client.get("/v1/tiles.json", headers={"X-Forwarded-Proto": "https"}).json()["tiles"][0]
            assert template.startswith("http://127.0.0.1:")
    finally:
        stop_server(live)


def test_forwarded_headers_are_honoured_from_a_trusted_proxy(database_url):
    live = start_server(database_url, env={**LIMITED, "FIELDNAV_TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1"})
    try:
        with live.client() as client:
            _at_window_start(4)
            # Each address is a client of its own, with a limit of its own.
            assert _anonymous_statuses(client, [f"203.0.113.{n}" for n in range(1, 9)]) == [200] * 8
            assert _anonymous_statuses(client, ["192.0.2.7"] * 7) == [200] * 5 + [429] * 2
            # The proxy's own entry is the client (nginx: $proxy_add_x_forwarded_for appends the peer).
            assert _anonymous_statuses(client, ["1.2.3.4, 192.0.2.7"]) == [429]
            time.sleep(4.1)
            template = client.get(
                "/v1/tiles.json", headers={"X-Forwarded-For": "192.0.2.8", "X-Forwarded-Proto": "https"}
            ).json()["tiles"][0]
            assert template.startswith("https://127.0.0.1:")
    finally:
        stop_server(live)


def test_trusted_proxies_must_be_addresses():
    assert ApiSettings(trusted_proxies="10.0.0.0/8, 127.0.0.1, ::1").trusted_proxy_list() == [
        "10.0.0.0/8",
        "127.0.0.1",
        "::1",
    ]
    assert ApiSettings().trusted_proxy_list() == []
    for bad in ("*", "proxy.internal", "10.0.0.1/8"):
        with pytest.raises(ValidationError, match="FIELDNAV_TRUSTED_PROXIES"):
            ApiSettings(trusted_proxies=bad)


# --- 5. cache headers --------------------------------------------------------------------------


def _directory_responses(client: httpx.Client, headers: dict) -> dict[str, httpx.Response]:
    page = client.get("/v1/services", params={"per_page": 2}, headers=headers)
    assert page.status_code == 200, page.text
    service_id = page.json()["contents"][0]["service_id"]
    version = client.get("/").json()["data_version"]
    x, y = tile_for_lonlat(*TORONTO, 14)
    responses = {
        "services": page,
        "service": client.get(f"/v1/services/{service_id}", headers=headers),
        "categories": client.get("/v1/categories", headers=headers),
        "tile": client.get(f"/v1/tiles/14/{x}/{y}.mvt", headers=headers),
        "versioned tile": client.get(f"/v1/tiles/14/{x}/{y}.mvt?v={version}", headers=headers),
        # The router, not the fast path, answers "014".
        "routed versioned tile": client.get(f"/v1/tiles/014/{x}/{y}.mvt?v={version}", headers=headers),
        "routed tile": client.get(f"/v1/tiles/014/{x}/{y}.mvt", headers=headers),
        "tilejson": client.get("/v1/tiles.json", headers=headers),
    }
    pack = client.post(
        "/v1/offline/packs",
        json={"bbox": [-79.39, 43.65, -79.38, 43.66], "min_zoom": 14, "max_zoom": 14},
        headers=headers,
    )
    assert pack.status_code in (200, 201), pack.text
    responses["pack archive"] = client.get(pack.json()["urls"]["archive"], headers=headers)
    responses["pack services"] = client.get(pack.json()["urls"]["services"], headers=headers)
    for name, response in responses.items():
        assert response.status_code == 200, (name, response.status_code, response.text)
    return responses


IMMUTABLE = ("versioned tile", "routed versioned tile", "pack archive", "pack services")


def test_directory_reads_are_private_when_a_token_is_needed(strict_server):
    with strict_server.client() as client:
        responses = _directory_responses(client, _bearer())
        for name, response in responses.items():
            cache_control = response.headers["cache-control"]
            assert cache_control.startswith("private, ") and "public" not in cache_control, (name, cache_control)
            if name in IMMUTABLE:
                assert cache_control == "private, max-age=31536000, immutable", name
            else:
                assert "max-age=60" in cache_control and "immutable" not in cache_control, (name, cache_control)
        assert responses["routed tile"].headers["cache-control"] == responses["tile"].headers["cache-control"]
        me = client.get("/v1/me", headers=_bearer())
        assert me.status_code == 200 and me.headers["cache-control"] == "no-store"


def test_directory_reads_are_public_when_anyone_may_read(server):
    with server.client() as client:
        responses = _directory_responses(client, {})
        for name, response in responses.items():
            cache_control = response.headers["cache-control"]
            assert cache_control.startswith("public, ") and "private" not in cache_control, (name, cache_control)
            if name in IMMUTABLE:
                assert cache_control == "public, max-age=31536000, immutable", name
        # Who the caller is never sits in any cache, whatever the setting.
        me = client.get("/v1/me", headers=_bearer())
        assert me.status_code == 200 and me.headers["cache-control"] == "no-store"


# --- 10. chunked bodies ------------------------------------------------------------------------


def _chunks(total: int, size: int = 7000):
    yield b"{"
    sent = 1
    while sent < total - 1:
        part = min(size, total - 1 - sent)
        yield b" " * part
        sent += part
    yield b"}"


def test_a_chunked_body_over_the_cap_gets_413(server):
    with server.client() as client:
        too_big = client.post(
            "/v1/offline/packs", content=_chunks(70_000), headers={"Content-Type": "application/json"}
        )
        assert (
            "content-length" not in too_big.request.headers
            and too_big.request.headers["transfer-encoding"] == "chunked"
        )
        assert too_big.status_code == 413, too_big.text
        assert too_big.headers["content-type"] == "application/problem+json"
        assert too_big.json()["type"] == PROBLEM + "payload-too-large"
        assert too_big.json()["detail"] == "Request bodies are limited to 65536 bytes."
        french = client.post(
            "/v1/offline/packs",
            content=_chunks(70_000),
            headers={"Content-Type": "application/json", "Accept-Language": "fr"},
        )
        assert french.status_code == 413 and french.json()["detail"].startswith("Le corps d’une requête est limité à")
        # A chunked body within the cap reaches the route whole: {} is read, and lacks the zooms.
        small = client.post("/v1/offline/packs", content=_chunks(30_000), headers={"Content-Type": "application/json"})
        assert small.status_code == 422 and "body.min_zoom" in {e["field"] for e in small.json()["errors"]}
        # The server goes on (the refused connection was closed, a new one is opened).
        assert client.get("/healthz").status_code == 200


# --- HEAD ----------------------------------------------------------------------------------------


def _same_but_body(get: httpx.Response, head: httpx.Response) -> None:
    def headers(response):
        return sorted((k, v) for k, v in response.headers.multi_items() if k not in PER_RESPONSE_HEADERS)

    assert head.status_code == get.status_code, (head.request.url, head.status_code, head.text)
    assert headers(head) == headers(get), head.request.url
    assert head.content == b""


def test_head_follows_get_on_every_get_route(strict_server):
    auth = _bearer("head")
    x, y = tile_for_lonlat(*TORONTO, 14)
    with strict_server.client() as client:
        version = client.get("/").json()["data_version"]
        service_id = client.get("/v1/services", params={"per_page": 1}, headers=auth).json()["contents"][0][
            "service_id"
        ]
        paths = [
            f"/v1/tiles/14/{x}/{y}.mvt",
            f"/v1/tiles/14/{x}/{y}.mvt?v={version}",
            f"/v1/tiles/014/{x}/{y}.mvt",
            "/v1/tiles.json",
            "/v1/services?per_page=3",
            f"/v1/services/{service_id}",
            f"/v1/services/{uuid.uuid4()}",
            "/v1/categories",
            "/v1/me",
            "/",
            "/healthz",
            "/app/",
            "/app",
        ]
        for path in paths:
            get = client.get(path, headers=auth)
            assert get.status_code in (200, 308, 404, 503), (path, get.status_code)
            _same_but_body(get, client.head(path, headers=auth))
        assert client.get(f"/v1/tiles/14/{x}/{y}.mvt", headers=auth).content, "a tile with a body"
        # And HEAD checks what GET checks: the token.
        _same_but_body(client.get("/v1/categories"), client.head("/v1/categories"))
        assert client.head("/v1/categories").status_code == 401
        # A path without GET keeps its 405.
        refused = client.head("/v1/auth/refresh")
        assert refused.status_code == 405 and refused.headers["content-type"] == "application/problem+json"
