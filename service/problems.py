"""The one exception that becomes an RFC 9457 problem response (see service/api/errors.py).

It lives outside the API package so domain modules can refuse bad input without importing
FastAPI.
"""

from __future__ import annotations

from http import HTTPStatus


class Problem(Exception):
    """Raise from anywhere below a route to answer with a problem document."""

    def __init__(self, status: int, slug: str, detail: str, *, title: str | None = None, headers: dict | None = None, **extra):
        super().__init__(detail)
        self.status, self.slug, self.detail = status, slug, detail
        self.title = title or HTTPStatus(status).phrase
        self.headers, self.extra = headers or {}, extra
