"""Another directory's HSDS 3 API, for pull tests: a threaded http.server on a free port
serving compiled services and organizations as HSDS Page objects (or ndjson), and able to
misbehave on purpose: answer 500 or 429 on a page, stall past the client's timeout, send
invalid JSON, answer the same page whatever is asked, or never reach a last page."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from tests.support.servers import free_port


@dataclass
class Misbehaviour:
    # page number -> what to do there: "500", "429" (once, with Retry-After), "stall",
    # "invalid-json"
    pages: dict[int, str] = field(default_factory=dict)
    # "same-page": page 1's contents whatever is asked; "page-one": page 1 (numbered 1)
    # whatever is asked; "growing": total_pages is always one more; "endless": no
    # total_pages, and every page says another follows
    paging: str | None = None
    stall_s: float = 3.0


@dataclass
class RemoteDirectory:
    services: list[dict]
    organizations: list[dict] = field(default_factory=list)
    misbehaviour: Misbehaviour = field(default_factory=Misbehaviour)
    required_headers: dict[str, str] = field(default_factory=dict)
    # Every request: (path, {name: value}), for tests to check what was asked.
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    base_url: str = ""
    _answered_429: set[int] = field(default_factory=set)

    def asked(self, path: str) -> list[dict[str, str]]:
        return [query for p, query in self.requests if p == path]


def _page(items: list, number: int, size: int) -> dict:
    total_pages = max(1, -(-len(items) // size))
    contents = items[(number - 1) * size : number * size]
    return {
        "total_items": len(items),
        "total_pages": total_pages,
        "page_number": number,
        "size": len(contents),
        "first_page": number == 1,
        "last_page": number >= total_pages,
        "empty": not contents,
        "contents": contents,
    }


def _modified_after(services: list[dict], since: str | None) -> list[dict]:
    if not since:
        return services
    # ISO 8601 with the same offset compares as text only in UTC; the tests write UTC.
    from datetime import datetime

    moment = datetime.fromisoformat(since)
    return [s for s in services if s.get("last_modified") and datetime.fromisoformat(s["last_modified"]) > moment]


def _handler(remote: RemoteDirectory) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # quiet test output
            pass

        def _send(self, status: int, body: bytes, content_type: str = "application/json", **headers) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name.replace("_", "-"), value)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            remote.requests.append((parts.path, query))
            for name, value in remote.required_headers.items():
                if self.headers.get(name) != value:
                    self._send(401, b'{"detail": "no or wrong credentials"}')
                    return
            if parts.path == "/organizations":
                items = remote.organizations
            elif parts.path == "/services":
                items = _modified_after(remote.services, query.get("modified_after"))
            else:
                self._send(404, b"{}")
                return
            if query.get("format") == "ndjson":
                body = b"".join(json.dumps(item).encode() + b"\n" for item in items)
                self._send(200, body, "application/x-ndjson")
                return
            number, size = int(query.get("page", "1")), int(query.get("per_page", "50"))
            misbehaviour = remote.misbehaviour
            what = misbehaviour.pages.get(number) if parts.path == "/services" else None
            if what == "500":
                self._send(500, b'{"detail": "upstream broke"}')
                return
            if what == "429" and number not in remote._answered_429:
                remote._answered_429.add(number)
                self._send(429, b'{"detail": "slow down"}', Retry_After="1")
                return
            if what == "stall":
                time.sleep(misbehaviour.stall_s)
            if what == "invalid-json":
                self._send(200, b'{"total_items": 3, "contents": [{"id": ')
                return
            if misbehaviour.paging == "same-page" and parts.path == "/services":
                page = _page(items, 1, size)
                page["page_number"] = number  # claims to be the page asked for
                page["last_page"] = False
                page["total_pages"] = number + 1
            elif misbehaviour.paging == "page-one" and parts.path == "/services":
                page = _page(items, 1, size)
                page["last_page"] = False
            elif misbehaviour.paging in ("growing", "endless") and parts.path == "/services":
                page = _page(items, 1, size)
                page.update(page_number=number, total_pages=number + 1, last_page=False)
                if misbehaviour.paging == "endless":
                    del page["total_pages"]
                page["contents"] = [dict(item, name=f"{item['name']} {number}") for item in page["contents"]]
            else:
                page = _page(items, number, size)
            self._send(200, json.dumps(page).encode())

    return Handler


@contextmanager
def serve_remote(remote: RemoteDirectory) -> Iterator[RemoteDirectory]:
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _handler(remote))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    remote.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield remote
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
