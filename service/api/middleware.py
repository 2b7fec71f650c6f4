"""Thin pure-ASGI middleware: request body cap, security headers, query check, HEAD as GET."""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from service.api.errors import send_problem
from service.platform.problem_texts import fr_number

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-resource-policy", b"same-site"),
    (b"strict-transport-security", b"max-age=31536000; includeSubDomains"),
    (b"permissions-policy", b"geolocation=(self), camera=(), microphone=()"),
]
# The API serves data, never pages: nothing in a response may run or load anything.
API_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")


class SecurityHeaders:
    def __init__(self, app, *, csp_exempt_prefixes: tuple[str, ...] = ("/docs", "/redoc", "/app")):
        self.app, self.csp_exempt_prefixes = app, csp_exempt_prefixes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        with_csp = not scope["path"].startswith(self.csp_exempt_prefixes)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                present = {name for name, _ in message.get("headers", [])}
                extra = [h for h in SECURITY_HEADERS if h[0] not in present]
                if with_csp and API_CSP[0] not in present:
                    extra.append(API_CSP)
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyTooLarge(Exception):
    pass


# Bytes of a chunked body over the cap read and dropped before the 413 (then the connection closes).
DRAIN_BYTES = 1024 * 1024
_CLIENT_GONE = object()


def _replay(body: bytes, receive):
    """A receive that hands out ``body`` (read already) once, then defers to ``receive``."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replay():
        return pending.pop() if pending else await receive()

    return replay


class BodySizeLimit:
    """Refuses bodies over ``max_body_bytes`` with 413, whether Content-Length says so or
    a chunked body grows past it, before any route reads it all into memory. A chunked body
    (no Content-Length) is read here first, up to the cap: FastAPI turns any error raised
    while a route reads its body into a 400."""

    def __init__(self, app, *, max_body_bytes: int):
        self.app, self.max_body_bytes = app, max_body_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers", []))
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            return await self._refuse(scope, send)
        if declared is None and b"transfer-encoding" in headers:
            # A chunked body says its size only at the end. Read it here, up to the cap: past
            # it, a route reading the body would turn our error into its own 400.
            body = await self._read_streamed(receive)
            if body is _CLIENT_GONE:
                return None
            if body is None:
                return await self._refuse(scope, send)
            receive = _replay(body, receive)
        received_bytes = 0
        response_started = False

        async def counting_receive():
            nonlocal received_bytes
            message = await receive()
            if message["type"] == "http.request":
                received_bytes += len(message.get("body", b""))
                if received_bytes > self.max_body_bytes:
                    raise BodyTooLarge
            return message

        async def tracking_send(message):
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not response_started:
                await self._refuse(scope, send)

    async def _read_streamed(self, receive):
        """The whole body; None when it is over the cap; _CLIENT_GONE on a disconnect. The
        rest of a body over the cap is read and dropped, up to DRAIN_BYTES: closing on unread
        bytes resets the connection, and the client might never see the 413."""
        parts, size, more = [], 0, True
        while more and size <= self.max_body_bytes:
            message = await receive()
            if message["type"] != "http.request":
                return _CLIENT_GONE  # nobody to answer
            parts.append(message.get("body", b""))
            size += len(parts[-1])
            more = message.get("more_body", False)
        if size <= self.max_body_bytes:
            return b"".join(parts)
        drained = 0
        while more and drained < DRAIN_BYTES:
            message = await receive()
            if message["type"] != "http.request":
                break
            drained += len(message.get("body", b""))
            more = message.get("more_body", False)
        return None

    async def _refuse(self, scope, send):
        await _problem(
            send,
            scope,
            413,
            "payload-too-large",
            f"Request bodies are limited to {self.max_body_bytes} bytes.",
            detail_fr=f"Le corps d’une requête est limité à {fr_number(self.max_body_bytes)} octets.",
            title="Content Too Large",
            headers={"Connection": "close"},
        )


class QueryStringCheck:
    """Refuses query strings that are not UTF-8 text or hold NUL characters with a 400,
    instead of letting them turn into replacement characters or database errors."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope.get("query_string"):
            raw = unquote_to_bytes(scope["query_string"].replace(b"+", b" "))
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                return await _problem(
                    send,
                    scope,
                    400,
                    "bad-request",
                    "The query string is not valid UTF-8.",
                    detail_fr="La chaîne de requête n’est pas en UTF-8 valide.",
                )
            if "\x00" in text:
                return await _problem(
                    send,
                    scope,
                    400,
                    "bad-request",
                    "The query string holds a NUL character.",
                    detail_fr="La chaîne de requête contient un caractère NUL.",
                )
        await self.app(scope, receive, send)


class HeadAsGet:
    """HEAD follows GET on every route (RFC 9110 section 9.3.2): the app below answers it as
    the GET, the body is dropped here and the headers (Content-Length, ETag, Cache-Control,
    Content-Encoding) stay those of the GET. FastAPI's routes answer only the methods they
    name, so HEAD was 405 almost everywhere. The access policy of a HEAD is its GET's."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "HEAD":
            return await self.app(scope, receive, send)
        as_get = {**scope, "method": "GET"}

        async def without_body(message):
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        try:
            await self.app(as_get, receive, without_body)
        finally:
            if "route" in as_get:  # for the metrics and logs outside, which still say HEAD
                scope["route"] = as_get["route"]


async def _problem(
    send,
    scope,
    status: int,
    slug: str,
    detail: str,
    *,
    detail_fr: str,
    title: str = "Bad Request",
    headers: dict | None = None,
) -> None:
    await send_problem(send, scope, status, slug, detail, title=title, detail_fr=detail_fr, headers=headers)
