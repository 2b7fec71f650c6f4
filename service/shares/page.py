"""Open a share: its row by the link's token, and the current cards of its sites.

The page shows what the directory says now (a phone changed since is the new one); a site
gone from the directory is listed as such. Cards come from ``service_site``, already cut to
the allow-list for confidential sites (service/directory/confidential.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import orjson
from sqlalchemy import Connection, text

from service.shares import tokens

_SHARE = text("SELECT id, language, sites, created_at, expires_at FROM share WHERE token_sha256 = :token_sha256")
_CARDS = text("""
    SELECT service_id::text AS service_id, location_id::text AS location_id, card_json::text AS card
    FROM service_site
    WHERE (service_id, location_id) IN (
        SELECT * FROM unnest(CAST(:service_ids AS uuid[]), CAST(:location_ids AS uuid[]))
    )
""")


@dataclass(frozen=True)
class SharedList:
    language: str
    created_at: datetime
    expires_at: datetime
    # In the worker's order; None where the site has left the directory.
    cards: list[dict | None]


def load(connection: Connection, token: str) -> SharedList | None:
    """The share the token opens, or None (no such share: never made, or deleted)."""
    if not tokens.looks_like_token(token):
        return None
    share = connection.execute(_SHARE, {"token_sha256": tokens.token_hash(token)}).first()
    if share is None:
        return None
    sites = share.sites
    rows = connection.execute(
        _CARDS,
        {
            "service_ids": [site["service_id"] for site in sites],
            "location_ids": [site["location_id"] for site in sites],
        },
    )
    cards = {(row.service_id, row.location_id): orjson.loads(row.card) for row in rows}
    return SharedList(
        language=share.language,
        created_at=share.created_at,
        expires_at=share.expires_at,
        cards=[cards.get((site["service_id"], site["location_id"])) for site in sites],
    )
