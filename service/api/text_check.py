"""Text PostgreSQL cannot store is refused at the door, for every route at once.

PostgreSQL's ``text`` holds no NUL character, and UTF-8 holds no lone UTF-16 surrogate: a
string with either, written to the database, was a 500 (and, in a handoff, half a request
done). JSON can carry both as escapes (``\\u0000``, ``\\ud800``). This pure ASGI layer refuses:

- a path holding NUL (``/app/%00``): 400 ``bad-request``;
- a request body holding such an escape in any string or key: 422 ``validation-error`` with
  ``errors[]`` naming each field as FastAPI would (``body.needs.note``, ``body.needs.groups.0``;
  a key is named by its object), codes ``nul_character`` and ``unpaired_surrogate``.

Query strings are checked by service/api/middleware.py's QueryStringCheck (NUL and UTF-8).

The body is read here (BodySizeLimit, outside, caps it) and scanned as bytes for the escapes;
only when one is there is it parsed (as FastAPI parses it) to find the fields. An escaped
backslash followed by ``u0000`` is six ordinary characters and passes.
"""

from __future__ import annotations

import json
import re

from service.api.errors import send_problem, send_validation_problem
from service.platform.problem_texts import field_problem

# An escape \u0000 or \uD800-\uDFFF whose backslash is not itself escaped (an even run before it).
_SUSPECT_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u(?:0000|[dD][89abcdefABCDEF][0-9a-fA-F]{2})")
MAX_REPORTED = 20


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "nul_character"
    if any("\ud800" <= c <= "\udfff" for c in text):
        return "unpaired_surrogate"
    return None


def bad_strings(value, path: tuple = ("body",)) -> list[tuple[str, str]]:
    """(field, code) of every string or key in a parsed JSON value that PostgreSQL cannot store."""
    found: list[tuple[str, str]] = []
    stack = [(value, path)]
    while stack and len(found) < MAX_REPORTED:
        item, where = stack.pop()
        if isinstance(item, str):
            code = _text_problem(item)
            if code:
                found.append((".".join(str(p) for p in where), code))
        elif isinstance(item, dict):
            for key, child in reversed(list(item.items())):
                code = _text_problem(key)
                if code:  # the key itself cannot be echoed: name its object
                    found.append((".".join(str(p) for p in where), code))
                else:
                    stack.append((child, (*where, key)))
        elif isinstance(item, list):
            stack.extend((child, (*where, index)) for index, child in reversed(list(enumerate(item))))
    return list(dict.fromkeys(found))


def _suspect(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return True  # UTF-16 or UTF-32 JSON (json.loads reads them): the byte scan cannot see its escapes
    return bool(_SUSPECT_ESCAPE.search(body))


def _has_body(scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() not in (b"", b"0")):
            return True
    return False


class RequestTextCheck:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if "\x00" in scope["path"]:
            return await send_problem(
                send,
                scope,
                400,
                "bad-request",
                "The path holds a NUL character.",
                title="Bad Request",
                detail_fr="Le chemin de la requête contient un caractère NUL.",
            )
        if not _has_body(scope):
            return await self.app(scope, receive, send)
        parts, more = [], True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return None  # the client left: nobody to answer
            parts.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(parts)
        if _suspect(body):
            try:
                found = bad_strings(json.loads(body))
            except (ValueError, RecursionError):
                found = []  # not JSON: the route refuses it as it would have
            if found:
                return await send_validation_problem(send, scope, [field_problem(field, code) for field, code in found])
        pending = [{"type": "http.request", "body": body, "more_body": False}]

        async def replay():
            return pending.pop() if pending else await receive()

        await self.app(scope, replay, send)
