"""uvicorn's httptools protocol with a cap on the request head: what `fieldnav serve` runs.

uvicorn picks httptools (fast, and what bench/ measured) but sets no limit on the request line
or the headers: llhttp parses any length, and a header line that never ends is kept, growing,
until the connection closes. Eight connections sending an unfinished 50 MB header took a
worker from 107 MB to 547 MB, and an 8 MB header was answered 200 (issue 15). uvicorn's own
``h11_max_incomplete_event_size`` only applies to its h11 protocol.

This subclass counts the bytes of each request head as they arrive and answers
``431 Request Header Fields Too Large`` (``414 URI Too Long`` when the request line alone is
too long) as a problem document, then closes the connection, as soon as the head passes
``FIELDNAV_LIMIT_MAX_HEADER_BYTES`` or holds more than ``FIELDNAV_LIMIT_MAX_HEADERS`` fields.
What a connection holds of an unfinished head is thus at most the cap plus one read from the
socket. Everything else is uvicorn's.
"""

from __future__ import annotations

import asyncio
import http
from collections.abc import Sequence

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from service.api.errors import language_headers, negotiate_language, problem_document
from service.platform.problem_texts import fr_number
from service.platform.settings import limit_settings

# Bytes a header line takes beyond its name and value: ": " and CRLF.
_LINE_OVERHEAD = 4
# A refused connection is read, and the bytes dropped, until the client has been silent for
# LINGER_IDLE_S or for LINGER_MAX_S in all; then it is closed (nginx's lingering close).
LINGER_IDLE_S = 2.0
LINGER_MAX_S = 10.0


class HeadTooLarge(Exception):
    """Raised in a parser callback to stop parsing; answered in ``send_400_response``."""


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        limits = limit_settings()
        self.max_head_bytes, self.max_headers = limits.max_header_bytes, limits.max_headers
        self._in_head = False  # a request has begun and its headers are not complete
        self._head_bytes = 0  # bytes received while in a head (an upper bound on what it holds)
        self._head_size = 0  # exact size of the request line's target and the header lines so far
        self._header_count = 0
        self._refusal: int | None = None  # the status we are answering with (431 or 414)
        self._linger_until = 0.0
        self._linger_timer: asyncio.TimerHandle | None = None

    # --- counting -------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self._refusal is not None:
            self._linger()
            return
        in_head_before = self._in_head
        super().data_received(data)
        # Only whole reads made while a head was already under way count here: a read that
        # starts a request may also end the previous one's body. The callbacks below count
        # the finished parts exactly; this bounds the part the parser is still holding.
        if self._refusal is None and self._in_head and in_head_before:
            self._head_bytes += len(data)
            if self._head_bytes > self.max_head_bytes:
                self._refuse(431)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head, self._head_bytes, self._head_size, self._header_count = True, 0, 0, 0

    def on_url(self, url: bytes) -> None:
        self._head_size += len(url)
        if self._head_size > self.max_head_bytes:
            self._stop(414)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_size += len(name) + len(value) + _LINE_OVERHEAD
        self._header_count += 1
        if self._head_size > self.max_head_bytes or self._header_count > self.max_headers:
            self._stop(431)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    # --- refusing ---------------------------------------------------------------------------

    def _stop(self, status: int) -> None:
        self._refusal = status
        raise HeadTooLarge  # httptools stops and raises HttpParserError: send_400_response below

    def send_400_response(self, msg: str) -> None:
        if self._refusal is None:
            return super().send_400_response(msg)
        status, self._refusal = self._refusal, None
        self._refuse(status)

    def _refuse(self, status: int) -> None:
        self._refusal = status
        self._in_head = False
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            # A pipelined request under way: an answer now would cut into its response.
            self.logger.warning(
                "request head over %d bytes or %d fields: connection closed", self.max_head_bytes, self.max_headers
            )
            self.transport.close()
            return
        self.logger.warning(
            "request head over %d bytes or %d fields: %d", self.max_head_bytes, self.max_headers, status
        )
        self.transport.write(
            refusal_bytes(
                status, self.max_head_bytes, self.max_headers, self._language(), self.server_state.default_headers
            )
        )
        # A lingering close: closing with the client's bytes still unread would send a reset,
        # which can destroy the answer before the client reads it. Stop writing, throw away
        # what still comes (data_received) and close once the client is silent.
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self._linger_until = self.loop.time() + LINGER_MAX_S
            self._linger()
        else:
            self.transport.close()

    def _linger(self) -> None:
        if self._linger_timer is not None:
            self._linger_timer.cancel()
        delay = min(LINGER_IDLE_S, self._linger_until - self.loop.time())
        self._linger_timer = self.loop.call_later(max(0.0, delay), self.transport.close)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._linger_timer is not None:
            self._linger_timer.cancel()
        super().connection_lost(exc)

    def _language(self) -> str:
        for name, value in self.headers or ():
            if name == b"accept-language":
                return negotiate_language(value.decode("latin-1"))
        return negotiate_language(None)


def refusal_bytes(
    status: int,
    max_head_bytes: int,
    max_headers: int,
    language: str,
    default_headers: Sequence[tuple[bytes, bytes]] = (),
) -> bytes:
    """A whole HTTP/1.1 response: the problem document for a refused request head."""
    if status == 414:
        slug = "uri-too-long"
        detail = f"The request line is limited to {max_head_bytes} bytes."
        detail_fr = f"La ligne de requête est limitée à {fr_number(max_head_bytes)} octets."
    else:
        slug = "headers-too-large"
        detail = f"Request headers are limited to {max_head_bytes} bytes and {max_headers} fields."
        detail_fr = (
            f"Les en-têtes d’une requête sont limités à {fr_number(max_head_bytes)} octets "
            f"et {fr_number(max_headers)} champs."
        )
    document = problem_document(language, status, slug, detail, instance="", detail_fr=detail_fr)
    del document["instance"]  # the path is not read yet (or is what is too long)
    body = orjson.dumps(document)
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
        (b"cache-control", b"no-store"),
        (b"x-content-type-options", b"nosniff"),
    ]
    headers += [
        (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in language_headers(language).items()
    ]
    headers += [
        (name, value) for name, value in default_headers if name.lower() not in (b"content-length", b"connection")
    ]
    phrase = http.HTTPStatus(status).phrase.encode()
    lines = [b"HTTP/1.1 %d %s\r\n" % (status, phrase)] + [name + b": " + value + b"\r\n" for name, value in headers]
    return b"".join(lines) + b"\r\n" + body
