"""Garbage collection of packs (``collect_garbage``; after each build, and ``fieldnav packs gc``).

- any pack not requested or downloaded for ``keep_days`` (``last_used_at``);
- packs of an older data version not used for ``SUPERSEDED_GRACE`` (a day): they can no
  longer be handed out (reuse needs the current version), but a phone may still be
  resuming a download it started before the import;
- files in the pack folder with no row (and temporary files), once older than
  ``ORPHAN_GRACE``, so a build in progress in another process is never touched.

``last_used_at`` moves at most every ``serve.TOUCH_INTERVAL`` so byte-range reads stay cheap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, text

from service.maps.packs.files import TEMP_MARK, is_pack_file, remove_files, unlink
from service.maps.packs.storage import PackStores

SUPERSEDED_GRACE = timedelta(days=1)
ORPHAN_GRACE = timedelta(hours=1)


@dataclass(frozen=True)
class Collected:
    packs: int
    files: int


def _remove_unused_packs(
    connection: Connection, stores: PackStores, now: datetime, keep_days: float
) -> tuple[int, int]:
    """Delete the rows of unused and superseded packs and their files; (packs, files)."""
    removed = connection.execute(
        text("""WITH gone AS (
                    DELETE FROM offline_pack
                    WHERE last_used_at < :unused
                       OR (data_version < (SELECT version FROM data_version WHERE id = 1) AND last_used_at < :superseded)
                    RETURNING id, storage)
                SELECT id, storage, (SELECT count(*) FROM offline_pack_file f WHERE f.pack_id = gone.id) AS stored
                FROM gone"""),
        {"unused": now - timedelta(days=keep_days), "superseded": now - SUPERSEDED_GRACE},
    ).all()
    files = 0
    for pack_id, location, stored in removed:
        store = stores.for_location(location)
        if store is stores.database:
            files += stored  # deleted with the row
        elif store is not None:  # (in another host's folder: that host's orphans to remove)
            files += remove_files(store, connection, pack_id)
    return len(removed), files


def _remove_orphans(connection: Connection, pack_dir: Path, now: datetime) -> int:
    """Remove the folder's pack files with no row, and temporary files, once ORPHAN_GRACE old."""
    if not pack_dir.is_dir():
        return 0
    known = {str(i) for i in connection.execute(text("SELECT id FROM offline_pack")).scalars()}
    old = (now - ORPHAN_GRACE).timestamp()
    files = 0
    for path in pack_dir.iterdir():
        name = path.name
        if not path.is_file() or not is_pack_file(name):
            continue
        if TEMP_MARK not in name and name.split(".", 1)[0] in known:
            continue
        try:
            if path.stat().st_mtime < old:
                unlink(path)
                files += 1
        except FileNotFoundError:
            continue
    return files


def collect_garbage(connection: Connection, pack_dir: Path | PackStores, now: datetime, keep_days: float) -> Collected:
    """Remove unused and superseded packs (rows and files) and orphan files; see the module
    docstring for the rules. Runs in the caller's transaction. ``pack_dir``: this host's
    stores, or its pack folder. Files in the database go with their rows (in this
    transaction); those in another host's folder are that host's orphans to remove."""
    stores = pack_dir if isinstance(pack_dir, PackStores) else PackStores("local", pack_dir, connection.engine)
    packs, files = _remove_unused_packs(connection, stores, now, keep_days)
    files += _remove_orphans(connection, stores.directory, now)
    return Collected(packs=packs, files=int(files))
