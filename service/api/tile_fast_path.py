"""Plain tile requests answered ahead of FastAPI's router, with the route's own code.

A map asks for dozens of tiles at once, and most are in this worker's cache. Finding one
takes microseconds; FastAPI's routing, parameter validation and dependency solving around it
took several times the endpoint's own time (py-spy, bench/README.md). This thin ASGI layer
sits just inside the app's middleware (request ids, metrics, security headers, query check,
gzip and CORS all still apply) and answers ``GET /v1/tiles/{z}/{x}/{y}.mvt`` itself when the
request is plain: decimal z/x/y, at most one decimal ``v``, any ``category`` values. It runs
the same steps as the FastAPI operation, in the same order: ``authorize`` (token, role, rate
limit, from the policy table), the tile context, then ``answer_tile`` (service/api/tile_endpoint.py),
and turns errors into the same no-store problem documents.

Everything else goes on to the FastAPI operation, which stays the documented one and the
reference behaviour: other methods, a z/x/y or ``v`` that FastAPI would have to parse or
refuse, a path under an ASGI ``root_path``, and apps with dependency overrides (tests
replace ``authorize`` there).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

from starlette.requests import Request

from service.api.dependencies import get_tile_context
from service.api.errors import no_store_problem
from service.api.security import authorize
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


class TileFastPath:
    """``route``: the FastAPI tile operation (service/api/app.py hands it over). Requests answered
    here carry it in ``scope["route"]``, as routed ones do: its path names the access policy and
    the metrics series."""

    def __init__(self, app, *, route):
        self.app, self.route = app, route

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "GET":
            return await self.app(scope, receive, send)
        match = _TILE_PATH.fullmatch(scope["path"])
        query = plain_query(scope["query_string"]) if match else None
        app = scope.get("app")
        if match is None or query is None or app is None or app.dependency_overrides:
            return await self.app(scope, receive, send)
        z, x, y = (int(part) for part in match.groups())
        category_values, version = query
        scope["route"] = self.route
        scope["path_params"] = dict(
            zip(("z", "x", "y"), match.groups(), strict=True)
        )  # text, as the router leaves them
        request = Request(scope, receive)
        try:
            await authorize(request)
            context = await get_tile_context(request)
            response = await answer_tile(request, context, z, x, y, category_values, version)
        except Exception as error:  # noqa: BLE001 - as the route's handler: every error becomes a problem answer
            response = await no_store_problem(request, error)
        await response(scope, receive, send)
