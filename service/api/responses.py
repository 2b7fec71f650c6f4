"""Response classes: compact JSON (orjson) and RFC 9457 problem details; JSON answers that no
cache may keep (personal data, writes, admin views)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse


class CompactJSONResponse(JSONResponse):
    """JSON without spaces, serialised by orjson (several times faster than json)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


class ProblemResponse(CompactJSONResponse):
    media_type = "application/problem+json"


class RawJSONResponse(JSONResponse):
    """A response around bytes already serialised (so they are hashed and sent once)."""

    def __init__(
        self, body: bytes, *, media_type: str = "application/json", headers: dict | None = None, status_code: int = 200
    ):
        self.media_type = media_type
        super().__init__(content=None, status_code=status_code, headers=headers)
        self.body = body
        self.headers["content-length"] = str(len(body))

    def render(self, content: Any) -> bytes:
        return b""


NO_STORE = "no-store"


def json_response(
    content: Any, status_code: int = 200, headers: dict | None = None, *, cache_control: str = NO_STORE
) -> RawJSONResponse:
    """``content`` as compact JSON, ``Cache-Control: no-store`` unless told otherwise."""
    return RawJSONResponse(
        orjson.dumps(content), status_code=status_code, headers={"Cache-Control": cache_control, **(headers or {})}
    )
