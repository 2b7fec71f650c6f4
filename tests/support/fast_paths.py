"""What the fast paths' tests share (service/api/fast_path.py): the app without a fast path,
a record of the requests a fast path hands on to the router, and responses made comparable
between two servers."""

from __future__ import annotations

from datetime import timedelta

import httpx

from service.auth.principal import Role
from service.auth.tokens import create_token

# What differs between any two responses, whoever answers.
PER_RESPONSE_HEADERS = {"date", "server", "x-request-id"}


def without_fast_path(app, layer_class):
    app.user_middleware = [m for m in app.user_middleware if m.cls is not layer_class]
    return app


def record_routed(app, layer_class, path_prefix: str) -> list[str]:
    """Builds the app's middleware now, and returns the list of the requests under
    ``path_prefix`` that its ``layer_class`` fast path hands on to what lies inside it
    (path?query), filled as they come."""
    app.middleware_stack = layer = app.build_middleware_stack()
    while not isinstance(layer, layer_class):
        layer = layer.app
    routed, downstream = [], layer.app

    async def recording(scope, receive, send):
        if scope["path"].startswith(path_prefix):
            routed.append(scope["path"] + ("?" + scope["query_string"].decode() if scope.get("query_string") else ""))
        await downstream(scope, receive, send)

    layer.app = recording
    return routed


def bearer(subject: str) -> dict:
    token = create_token(agency="agency-a", role=Role.FIELD_WORKER, subject=subject, ttl=timedelta(hours=1))[0]
    return {"Authorization": f"Bearer {token}"}


def comparable(response: httpx.Response, *, ignored_headers: frozenset[str] = frozenset()) -> tuple:
    origin = str(response.request.url.copy_with(path="/", query=None)).rstrip("/")  # the servers' ports differ
    headers = sorted(
        (name, value.replace(origin, ""))
        for name, value in response.headers.multi_items()
        if name not in PER_RESPONSE_HEADERS | ignored_headers
    )
    return response.status_code, headers, response.content
