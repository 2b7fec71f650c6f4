"""An external geocoder (Nominatim ``/search?format=jsonv2`` or Pelias ``/v1/search?text=``),
asked before the gazetteer when FIELDNAV_GEOCODER_URL is set.

It is outside our control, so it gets one deadline for the whole exchange
(FIELDNAV_GEOCODER_TIMEOUT_S, connect to last byte: a server that answers a byte at a time
cannot stretch it), a cap on the answer's size, and no trust: any failure (timeout, refused
connection, a status other than 200, JSON that is not what the API documents) is
``GeocoderFailed``, and the caller answers from the gazetteer instead."""

from __future__ import annotations

import logging
import threading
import time

import httpx
import orjson

from service.places.search import Place
from service.platform.settings import GeocoderSettings

log = logging.getLogger("fieldnav.places")

MAX_ANSWER_BYTES = 1_000_000
USER_AGENT = "fieldnav (GET /v1/places)"

_client: httpx.Client | None = None
_client_lock = threading.Lock()


class GeocoderFailed(Exception):
    """The geocoder gave no usable answer in time."""


def _shared_client() -> httpx.Client:
    """One pooled client per process (connections reused across requests)."""
    global _client
    with _client_lock:
        if _client is None:
            _client = httpx.Client(headers={"User-Agent": USER_AGENT}, follow_redirects=False)
        return _client


def _request(settings: GeocoderSettings, query: str, limit: int) -> tuple[str, dict]:
    countries = ",".join(c.strip().lower() for c in settings.countries.split(",") if c.strip())
    if settings.kind == "pelias":
        params: dict = {"text": query, "size": limit}
        if countries:
            params["boundary.country"] = countries.upper()
        return f"{settings.url}/v1/search", params
    params = {"q": query, "format": "jsonv2", "limit": limit, "addressdetails": 0}
    if countries:
        params["countrycodes"] = countries
    return f"{settings.url}/search", params


def _fetch(url: str, params: dict, timeout_s: float) -> bytes:
    deadline = time.monotonic() + timeout_s
    try:
        with _shared_client().stream("GET", url, params=params, timeout=httpx.Timeout(timeout_s)) as response:
            if response.status_code != 200:
                raise GeocoderFailed(f"status {response.status_code}")
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_ANSWER_BYTES:
                    raise GeocoderFailed("answer too large")
                if time.monotonic() > deadline:
                    raise GeocoderFailed("deadline passed")
            return bytes(body)
    except httpx.HTTPError as error:
        raise GeocoderFailed(type(error).__name__) from None


def _coordinate(value, low: float, high: float) -> float:
    number = float(value)
    if not low <= number <= high:
        raise ValueError("coordinate out of range")
    return number


def _nominatim(answer) -> list[Place]:
    if not isinstance(answer, list):
        raise GeocoderFailed("not a list")
    places = []
    for item in answer:
        label = str(item.get("display_name") or "")
        places.append(
            Place(
                kind=str(item.get("addresstype") or item.get("type") or "place"),
                name=str(item.get("name") or label.split(",")[0]),
                label=label,
                lat=_coordinate(item["lat"], -90, 90),
                lon=_coordinate(item["lon"], -180, 180),
                source="nominatim",
            )
        )
    return places


def _pelias(answer) -> list[Place]:
    features = answer.get("features") if isinstance(answer, dict) else None
    if not isinstance(features, list):
        raise GeocoderFailed("not a FeatureCollection")
    places = []
    for feature in features:
        lon, lat = feature["geometry"]["coordinates"][:2]
        properties = feature.get("properties") or {}
        label = str(properties.get("label") or properties.get("name") or "")
        places.append(
            Place(
                kind=str(properties.get("layer") or "place"),
                name=str(properties.get("name") or label.split(",")[0]),
                label=label,
                lat=_coordinate(lat, -90, 90),
                lon=_coordinate(lon, -180, 180),
                source="pelias",
            )
        )
    return places


def geocode(settings: GeocoderSettings, query: str, limit: int) -> list[Place]:
    """The geocoder's places for ``query``, best first; GeocoderFailed when there is no usable answer."""
    if not settings.url:
        raise GeocoderFailed("no geocoder configured")
    url, params = _request(settings, query, limit)
    started = time.monotonic()
    try:
        answer = orjson.loads(_fetch(url, params, settings.timeout_s))
        places = _pelias(answer) if settings.kind == "pelias" else _nominatim(answer)
    except GeocoderFailed as failure:
        log.warning("geocoder failed (%s) after %.2f s: the gazetteer answers", failure, time.monotonic() - started)
        raise
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError, ValueError, AttributeError) as error:
        log.warning("geocoder answered %s: the gazetteer answers", type(error).__name__)
        raise GeocoderFailed("unreadable answer") from None
    return [p for p in places if p.label][:limit]
