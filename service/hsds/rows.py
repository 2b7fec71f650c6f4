"""Rows of the HSDS tables as plain dicts: fieldnav's own columns (provenance, geometry, H3
cells, search vectors) never leave the server."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, text

HIDDEN_COLUMNS = frozenset(
    {"source", "source_id", "content_hash", "search_vector", "geom", "category_groups"}
    | {f"h3_r{r}" for r in range(4, 10)}
)


def clean(row) -> dict:
    return {key: value for key, value in dict(row._mapping).items() if key not in HIDDEN_COLUMNS}


def fetch(connection: Connection, table: str, column: str, ids: Iterable) -> list[dict]:
    """Rows of ``table`` whose ``column`` is one of ``ids`` (table and column are ours, never
    the request's)."""
    wanted = [i for i in dict.fromkeys(ids) if i is not None]
    if not wanted:
        return []
    rows = connection.execute(text(f'SELECT * FROM "{table}" WHERE {column} = ANY(:ids) ORDER BY id'), {"ids": wanted})
    return [clean(row) for row in rows]


def grouped(rows: list[dict], key: str) -> dict:
    by_key: dict = {}
    for row in rows:
        by_key.setdefault(row.get(key), []).append(row)
    return by_key
