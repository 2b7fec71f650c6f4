"""Read another directory's HSDS 3 API into a spool file: `/organizations` and
`/services?full=true`, page by page (HSDS ``Page`` objects) or as ndjson.

Nothing is imported here. Each page is checked and written to an ndjson file as it
arrives, so a catalogue of 100k services is never held in memory at once; the caller feeds
the file to the usual reader, validator and writer in one transaction. Any failure (an
error after the retries, a timeout, invalid JSON, a page loop, a cap) raises RemoteFailed
naming the page and the cause, before anything is written to the database.
"""

from __future__ import annotations

import bisect
import hashlib
import random
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import IO, Any

import httpx
import orjson

from service.importer.records import ImportRefused
from service.platform.settings import PullSettings

# Answers worth trying again: the remote is busy or briefly broken.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class RemoteFailed(ImportRefused):
    """The remote could not be read in full; nothing was imported."""


@dataclass
class SpoolStats:
    services: int = 0
    organizations: int = 0
    pages: int = 0
    bytes_read: int = 0
    # (first spool line, page): where each page's records start, so a bad row is reported
    # as "/services page 3 row 2" rather than as a line of a temporary file.
    page_starts: list[tuple[int, str]] = field(default_factory=list)

    def place(self, line: int) -> tuple[str, int]:
        """(page, record on that page) of a spool line (1-based)."""
        index = bisect.bisect_right(self.page_starts, (line, "\uffff")) - 1
        if index < 0:
            return "spool", line
        first, where = self.page_starts[index]
        return where, line - first + 1


def parse_header(line: str) -> tuple[str, str]:
    """ "Name: value" -> (name, value)."""
    name, sep, value = line.partition(":")
    if not sep or not name.strip():
        raise ValueError(f"{line.split(':')[0]!r}... is not a header ('Name: value')")
    return name.strip(), value.strip()


def retry_after_s(response: httpx.Response) -> float | None:
    """Seconds a 429/503 asks us to wait (delta-seconds or an HTTP date), if it says."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (moment - datetime.now(moment.tzinfo)).total_seconds())


class RemoteReader:
    """One pull's HTTP side: retries, timeouts and the byte and page caps."""

    def __init__(
        self,
        base_url: str,
        settings: PullSettings,
        headers: dict[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.settings = settings
        self.stats = SpoolStats()
        self.client = httpx.Client(
            timeout=httpx.Timeout(settings.timeout_s),
            headers={"Accept": "application/json", **(headers or {})},
            follow_redirects=False,  # a redirect could carry the auth header elsewhere
            transport=transport,
        )

    def close(self) -> None:
        self.client.close()

    def _wait_s(self, attempt: int, response: httpx.Response | None) -> float:
        asked = retry_after_s(response) if response is not None else None
        if asked is not None:
            return min(asked, self.settings.backoff_max_s)
        delay_s = min(self.settings.backoff_base_s * 2 ** (attempt - 1), self.settings.backoff_max_s)
        return delay_s * random.uniform(0.5, 1.0)  # jitter: several workers do not retry in step

    def _body(self, response: httpx.Response, where: str) -> bytes:
        """The answer's bytes, refused as soon as the pull's byte cap is passed."""
        chunks: list[bytes] = []
        for chunk in response.iter_bytes():
            self._count_bytes(len(chunk), where)
            chunks.append(chunk)
        return b"".join(chunks)

    def _count_bytes(self, size: int, where: str) -> None:
        self.stats.bytes_read += size
        if self.stats.bytes_read > self.settings.max_bytes:
            raise RemoteFailed(
                f"{where}: the remote sent more than FIELDNAV_PULL_MAX_BYTES "
                f"({self.settings.max_bytes} bytes); nothing was imported"
            )

    def get(self, path: str, params: dict[str, Any], where: str, consume) -> Any:
        """GET with retries; ``consume(response)`` reads a 2xx answer (streamed)."""
        url = f"{self.base_url}{path}"
        attempts = self.settings.max_attempts
        for attempt in range(1, attempts + 1):
            cause: str
            response: httpx.Response | None = None
            try:
                with self.client.stream("GET", url, params=params) as response:
                    if response.status_code < 300:
                        return consume(response)
                    if response.status_code not in RETRY_STATUSES:
                        raise RemoteFailed(
                            f"{where}: HTTP {response.status_code} from {url} (not retried); nothing was imported"
                        )
                    cause = f"HTTP {response.status_code}"
            except httpx.TimeoutException:
                cause = f"timed out (FIELDNAV_PULL_TIMEOUT_S={self.settings.timeout_s:g} s)"
                response = None
            except httpx.TransportError as error:
                cause = f"connection failed ({type(error).__name__}: {error})"
                response = None
            if attempt == attempts:
                raise RemoteFailed(f"{where}: {cause} after {attempts} attempts; nothing was imported")
            time.sleep(self._wait_s(attempt, response))
        raise AssertionError("unreachable")

    def _page(self, path: str, params: dict[str, Any], where: str) -> dict:
        def consume(response: httpx.Response) -> dict:
            body = self._body(response, where)
            try:
                page = orjson.loads(body)
            except orjson.JSONDecodeError as error:
                raise RemoteFailed(f"{where}: not valid JSON ({error}); nothing was imported") from None
            if not isinstance(page, dict) or not isinstance(page.get("contents"), list):
                raise RemoteFailed(f"{where}: not an HSDS Page (no 'contents' list); nothing was imported")
            return page

        return self.get(path, params, where, consume)

    def pages(self, path: str, params: dict[str, Any]) -> Iterator[list]:
        """The ``contents`` of each page, in order, refusing loops and runaway paging."""
        total_pages: int | None = None
        previous_digest = None
        number = 1
        while True:
            where = f"{path} page {number}"
            if number > self.settings.max_pages:
                raise RemoteFailed(
                    f"{where}: more than FIELDNAV_PULL_MAX_PAGES ({self.settings.max_pages}) pages "
                    f"(a next page that never ends?); nothing was imported"
                )
            page = self._page(path, {**params, "page": number, "per_page": self.settings.page_size}, where)
            self.stats.pages += 1
            answered = page.get("page_number")
            if answered is not None and answered != number:
                raise RemoteFailed(f"{where}: the remote answered page {answered} (a page loop); nothing was imported")
            if total_pages is None and isinstance(page.get("total_pages"), int):
                total_pages = page["total_pages"]
            if total_pages is not None and number > max(total_pages, 1):
                raise RemoteFailed(
                    f"{where}: more pages than total_pages ({total_pages}) said (a page loop); nothing was imported"
                )
            contents = page["contents"]
            digest = hashlib.sha256(orjson.dumps(contents)).digest()
            if contents and digest == previous_digest:
                raise RemoteFailed(
                    f"{where}: the same contents as page {number - 1} (a page loop); nothing was imported"
                )
            previous_digest = digest
            yield contents
            if not contents or page.get("last_page") is True or page.get("empty") is True:
                return
            if total_pages is not None and number >= total_pages:
                if page.get("last_page") is False:
                    raise RemoteFailed(
                        f"{where}: says another page follows, but total_pages ({total_pages}) said this is "
                        f"the last (a page loop); nothing was imported"
                    )
                return
            number += 1

    def ndjson_to(self, out: IO[bytes], path: str, params: dict[str, Any]) -> int:
        """Copy a ``format=ndjson`` answer (one service a line) to ``out`` as it streams in,
        checking each line; returns how many records. A retried request starts over."""
        where = f"{path} (ndjson)"
        start = out.tell()

        def consume(response: httpx.Response) -> int:
            out.seek(start)
            out.truncate()
            buffer, number, count = b"", 0, 0
            for chunk in response.iter_bytes():
                self._count_bytes(len(chunk), where)
                *complete, buffer = (buffer + chunk).split(b"\n")
                for line in complete:
                    number += 1
                    if line.strip():
                        out.write(_checked_line(line, f"{where} line {number}") + b"\n")
                        count += 1
            if buffer.strip():
                out.write(_checked_line(buffer, f"{where} line {number + 1}") + b"\n")
                count += 1
            return count

        count = self.get(path, {**params, "format": "ndjson"}, where, consume)
        self.stats.pages += 1
        return count


def _checked_line(line: bytes, where: str) -> bytes:
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError as error:
        raise RemoteFailed(f"{where}: not valid JSON ({error}); nothing was imported") from None
    if not isinstance(record, dict):
        raise RemoteFailed(f"{where}: not a JSON object; nothing was imported")
    return orjson.dumps(record)


def _next_line(stats: SpoolStats) -> int:
    return stats.organizations + stats.services + 1


def spool(
    reader: RemoteReader, out: IO[bytes], *, modified_after: datetime | None = None, ndjson: bool = False
) -> SpoolStats:
    """Write the remote's organizations, then its full services, to ``out`` as ndjson
    (one record a line, as service/importer/readers/hsds_json.py reads it)."""
    changed = {"modified_after": modified_after.isoformat()} if modified_after else {}
    if modified_after is None:
        # Organizations as their own records (even those without services): compiled
        # organizations with no services, so the reader stores them as organizations.
        # full=true: with their phones (a summary may leave them out).
        for number, contents in enumerate(reader.pages("/organizations", {"full": "true"}), start=1):
            reader.stats.page_starts.append((_next_line(reader.stats), f"/organizations page {number}"))
            for organization in contents:
                if not isinstance(organization, dict):
                    raise RemoteFailed("/organizations: a record is not a JSON object; nothing was imported")
                out.write(orjson.dumps({**organization, "services": []}) + b"\n")
                reader.stats.organizations += 1
    if ndjson:
        reader.stats.page_starts.append((_next_line(reader.stats), "/services (ndjson)"))
        reader.stats.services += reader.ndjson_to(out, "/services", {"full": "true", **changed})
        return reader.stats
    for number, contents in enumerate(reader.pages("/services", {"full": "true", **changed}), start=1):
        reader.stats.page_starts.append((_next_line(reader.stats), f"/services page {number}"))
        for service in contents:
            if not isinstance(service, dict):
                raise RemoteFailed("/services: a record is not a JSON object; nothing was imported")
            out.write(orjson.dumps(service) + b"\n")
            reader.stats.services += 1
    return reader.stats


def default_source_name(url: str) -> str:
    """A source name from the API's host and path: https://hsds.example.org/api -> hsds-example-org-api."""
    host_and_path = httpx.URL(url).host + httpx.URL(url).path
    return re.sub(r"[^a-z0-9_-]+", "-", host_and_path.lower()).strip("-")[:63] or "hsds-api"
