"""Plain tile requests answered ahead of FastAPI's router (service/api/fast_path.py).

A map asks for dozens of tiles at once, and most are in this worker's cache: finding one
takes microseconds, FastAPI's routing around it several times that. ``GET
/v1/tiles/{z}/{x}/{y}.mvt`` is answered here when the request is plain: decimal z/x/y, at
most one decimal ``v``, any ``category`` values; the steps are the operation's (the tile
context, then ``answer_tile``, service/api/tile_endpoint.py), and errors are no-store problem
documents as the map routes' are.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from service.api.dependencies import get_tile_context
from service.api.errors import no_store_problem
from service.api.fast_path import FastPath
from service.api.tile_endpoint import answer_tile

# Digits only, bounded: anything else (signs, spaces, huge numbers) is FastAPI's to parse.
_TILE_PATH = re.compile(r"/v1/tiles/([0-9]{1,2})/([0-9]{1,10})/([0-9]{1,10})\.mvt")
_VERSION = re.compile(r"[0-9]{1,18}")


def plain_query(query_string: bytes) -> tuple[list[str], int | None] | None:
    """(category values, v) when the query is one the fast path may answer, else None.

    Parsed as Starlette parses it (latin-1, then percent-decoding as UTF-8, blanks kept);
    parameters the operation does not have are ignored, as FastAPI ignores them."""
    categories: list[str] = []
    version: int | None = None
    for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if name == "category":
            categories.append(value)
        elif name == "v":
            if version is not None or not _VERSION.fullmatch(value):
                return None
            version = int(value)
    return categories, version


class TileFastPath(FastPath):
    def read(self, path: str, query_string: bytes) -> tuple[dict[str, str], tuple] | None:
        match = _TILE_PATH.fullmatch(path)
        query = plain_query(query_string) if match else None
        if match is None or query is None:
            return None
        return dict(zip(("z", "x", "y"), match.groups(), strict=True)), (
            *(int(part) for part in match.groups()),
            *query,
        )

    async def answer(self, request: Request, parameters: tuple) -> Response:
        z, x, y, category_values, version = parameters
        context = await get_tile_context(request)
        return await answer_tile(request, context, z, x, y, category_values, version)

    async def problem(self, request: Request, error: Exception) -> Response:
        return await no_store_problem(request, error)
