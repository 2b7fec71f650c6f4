"""Plain requests of a hot operation answered ahead of FastAPI's router, with the operation's own code.

Routing, parameter validation and dependency solving around a fast operation cost several
times the operation's own Python time (py-spy, bench/README.md: 28% of a worker's time for
nearest, more for a cached tile). A fast path is a thin ASGI layer just inside the app's
middleware (request ids, metrics, security headers, query check, gzip and CORS all still
apply) that answers one operation's plain requests itself: the same steps as the FastAPI
operation, in the same order (``authorize``: token, role, rate limit, from the policy
table; then the operation's shared code), and errors turned into the same problem documents
by the app's own handlers. One difference, on purpose: an unexpected error's 500 (logged by
the app's handler) is answered here, inside the middleware, so it carries the request id and
the security headers; the router's comes from Starlette's outermost error middleware, without them.

Everything else goes on to the FastAPI operation, which stays the documented one and the
reference behaviour: other methods, parameters FastAPI would have to parse or refuse, a path
under an ASGI ``root_path``, and apps with dependency overrides (tests replace ``authorize``
there). Each fast path's tests check it answers byte for byte as the operation does.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from service.api.errors import problem_for
from service.api.security import authorize


class FastPath:
    """``route``: the FastAPI operation (service/api/app.py hands it over). Requests answered
    here carry it in ``scope["route"]``, as routed ones do: its path names the access policy and
    the metrics series. Subclasses say which requests they take (``read``) and answer them."""

    def __init__(self, app, *, route):
        self.app, self.route = app, route

    def read(self, path: str, query_string: bytes) -> tuple[dict[str, str], Any] | None:
        """(path parameters as text, what ``answer`` needs) for a request this path takes, else None."""
        raise NotImplementedError

    async def answer(self, request: Request, parameters: Any) -> Response:
        raise NotImplementedError

    async def problem(self, request: Request, error: Exception) -> Response:
        """The operation's answer for an error: the app's problem document."""
        return await problem_for(request, error)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "GET":
            return await self.app(scope, receive, send)
        app = scope.get("app")
        taken = self.read(scope["path"], scope["query_string"]) if app is not None else None
        if taken is None or app.dependency_overrides:
            return await self.app(scope, receive, send)
        scope["path_params"], parameters = taken  # text, as the router leaves them
        scope["route"] = self.route
        request = Request(scope, receive)
        try:
            await authorize(request)
            response = await self.answer(request, parameters)
        except Exception as error:  # noqa: BLE001 - as the route's handler: every error becomes a problem answer
            response = await self.problem(request, error)
        await response(scope, receive, send)
