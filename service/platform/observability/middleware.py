"""Request ids, access log lines and request metrics, as one thin ASGI middleware."""

from __future__ import annotations

import logging
import re
import time
import uuid

from service.platform.observability.logs import request_id_var
from service.platform.observability.metrics import LATENCY, REQUESTS

log = logging.getLogger("fieldnav.access")

# A client-supplied id is kept only if it is short and plain: it ends up in our logs.
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestObservation:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        supplied = dict(scope.get("headers", [])).get(b"x-request-id", b"").decode("latin-1")
        request_id = supplied if _SAFE_REQUEST_ID.match(supplied) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started_s = time.perf_counter()
        status = 500

        async def send_with_id(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            duration_s = time.perf_counter() - started_s
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            REQUESTS.labels(route=route, method=scope["method"], status=str(status)).inc()
            LATENCY.labels(route=route).observe(duration_s)
            log.info(
                "request",
                extra={
                    "route": route,
                    "method": scope["method"],
                    "status": status,
                    "duration_ms": round(duration_s * 1000, 1),
                },
            )
            request_id_var.reset(token)
