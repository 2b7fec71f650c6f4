"""``find_places``: what GET /v1/places answers. The external geocoder first when one is set
(service/places/geocoder.py); else, or when it fails or finds nothing, the gazetteer."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

from sqlalchemy import Connection

from service.places import geocoder
from service.places.normal import normal
from service.places.search import Place, search
from service.platform.settings import GeocoderSettings

MAX_QUERY_CHARS = 200
MAX_LIMIT = 50


def find_places(
    connect: Callable[[], AbstractContextManager[Connection]], query: str, limit: int, settings: GeocoderSettings
) -> list[Place]:
    """Up to ``limit`` places for ``query``, best first. ``connect`` opens a database connection
    only when the gazetteer answers: none is held while the geocoder is waited for."""
    if settings.url:
        try:
            found = geocoder.geocode(settings, query.strip(), limit)
        except geocoder.GeocoderFailed:
            found = []
        if found:
            return found
    with connect() as connection:
        return search(connection, normal(query), limit)
