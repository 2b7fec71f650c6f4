"""HTTP caching, in one place: the ``Cache-Control`` values of directory reads (immutable
versioned URLs, short-lived unversioned ones, ``private`` when a token is needed), and JSON
bodies with ETags: 304 when the client already holds the same bytes."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from functools import lru_cache

import orjson
from fastapi import Request, Response

from service.api.responses import RawJSONResponse
from service.platform.settings import auth_settings, tile_settings

# A URL whose bytes never change: a versioned tile or basemap URL (v = the current version), a
# pack file (a rebuild gets a new id), a content-hashed asset of the field client.
IMMUTABLE = "public, max-age=31536000, immutable"
STALE_WHILE_REVALIDATE_S = 300
STALE_IF_ERROR_S = 86_400


def _default(value):
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def directory_cache(cache_control: str) -> str:
    """``Cache-Control`` of a directory read (services, categories, tiles, packs, basemap),
    written ``public, ...``: as is when anyone may read the directory
    (FIELDNAV_AUTH_PUBLIC_READS=true), so a CDN may keep it; else ``private, ...`` with the
    same max-age and immutability, for the caller's own cache only. A shared cache never
    stores a response to a request with ``Authorization`` unless the response says
    ``public`` (RFC 9111 section 3.5)."""
    if auth_settings().public_reads:
        return cache_control
    return _private(cache_control)


def immutable_cache_control() -> str:
    """A directory URL whose bytes never change: kept for good (by the caller only, when a
    token is needed)."""
    return directory_cache(IMMUTABLE)


def short_cache_control() -> str:
    """Unversioned or stale-version map URLs (tiles, TileJSON, basemap): a short max-age
    (FIELDNAV_TILES_MAX_AGE_S), then revalidate with the ETag; meanwhile (and while we are
    down) a cache may serve the old copy."""
    return directory_cache(
        f"public, max-age={tile_settings().max_age_s}, stale-while-revalidate={STALE_WHILE_REVALIDATE_S}, "
        f"stale-if-error={STALE_IF_ERROR_S}"
    )


@lru_cache(maxsize=32)
def _private(cache_control: str) -> str:
    directives = [d.strip() for d in cache_control.split(",")]
    return ", ".join(["private"] + [d for d in directives if d not in ("public", "private")])


def etag_for(body: bytes) -> str:
    # Weak: the GZip middleware may re-encode the bytes; the content is what we vouch for.
    return 'W/"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def if_none_match(request: Request, etag: str) -> bool:
    header = request.headers.get("if-none-match")
    if not header:
        return False
    if header.strip() == "*":
        return True
    wanted = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return etag.removeprefix("W/") in wanted


def json_body(content) -> bytes:
    return orjson.dumps(content, default=_default, option=orjson.OPT_NON_STR_KEYS)


def cached_json(request: Request, content, *, cache_control: str, media_type: str = "application/json") -> Response:
    return cached_body(request, json_body(content), cache_control=cache_control, media_type=media_type)


def cached_body(request: Request, body: bytes, *, cache_control: str, media_type: str = "application/json") -> Response:
    etag = etag_for(body)
    headers = {"ETag": etag, "Cache-Control": cache_control, "Vary": "Accept, Accept-Encoding"}
    if if_none_match(request, etag):
        return Response(status_code=304, headers=headers)
    return RawJSONResponse(body, media_type=media_type, headers=headers)
