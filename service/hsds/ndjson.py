"""``format=ndjson``: every item of a list, one JSON object a line, streamed.

The ids come from a server-side cursor (``yield_per``) and are rendered a batch at a time,
so neither the ids nor the objects are ever all in memory; one REPEATABLE READ snapshot
keeps the stream consistent while imports and live changes go on."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import orjson
from sqlalchemy import Connection, text

from service.hsds.queries import Listing

MEDIA_TYPE = "application/x-ndjson"
# Ids per batch: one query per HSDS table for each batch (service/hsds/compiled.py).
BATCH_SIZE = 200

Render = Callable[[Connection, list], list[dict]]


def ndjson_lines(
    connection: Connection, listing: Listing, render: Render, *, batch_size: int = BATCH_SIZE
) -> Iterator[bytes]:
    if connection.in_transaction():  # a read made before (the replica's version check)
        connection.commit()
    # A server-side cursor lives in a transaction; the snapshot makes every batch agree.
    snapshot = connection.execution_options(isolation_level="REPEATABLE READ")
    with snapshot.begin():
        result = snapshot.execution_options(yield_per=batch_size).execute(text(listing.sql()), listing.params)
        for partition in result.partitions():
            for item in render(snapshot, [row[0] for row in partition]):
                yield orjson.dumps(item, option=orjson.OPT_NON_STR_KEYS) + b"\n"
