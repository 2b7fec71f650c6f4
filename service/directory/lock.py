"""The directory lock: one transaction at a time rewrites the directory's derived rows.

Imports, ``fieldnav db migrate``'s rebuild, change log pruning and live changes (a
provider's count, a field report) all take it, for two reasons: the change log's ``seq``
order must be commit order (sync clients never skip a change), and an import that rebuilds
a source's sites must not overwrite a live change committed while it ran. It is a
transaction-level advisory lock: released at commit or rollback, whatever happens.
"""

from __future__ import annotations

from sqlalchemy import Connection, text
from sqlalchemy.exc import OperationalError

from service.platform.problems import Problem

# Any constant works; it only has to be the same in every fieldnav process.
IMPORT_LOCK_KEY = 0x66_69_65_6C_64  # "field"

_LOCK_NOT_AVAILABLE = "55P03"


def hold(connection: Connection) -> None:
    """Wait for the lock as long as it takes (imports, migrations: batch work)."""
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": IMPORT_LOCK_KEY})


def hold_within(connection: Connection, timeout_s: float) -> None:
    """Wait at most ``timeout_s`` (a request: an import may hold the lock for minutes), then
    a 503 the client retries. The timeout applies to the rest of the transaction's lock waits
    too, which are row locks of a few milliseconds."""
    connection.execute(text("SELECT set_config('lock_timeout', :ms, true)"), {"ms": f"{int(timeout_s * 1000)}ms"})
    try:
        with connection.begin_nested():
            hold(connection)
    except OperationalError as error:
        if getattr(error.orig, "sqlstate", None) != _LOCK_NOT_AVAILABLE:
            raise
        raise Problem(
            503,
            "directory-busy",
            "The directory is being updated by an import; send the same request "
            "again (with the same Idempotency-Key) in a few seconds.",
            detail_fr="Le répertoire est en cours de mise à jour par une importation ; renvoyez la même "
            "requête (avec la même Idempotency-Key) dans quelques secondes.",
            title="Directory busy",
            title_fr="Répertoire occupé",
            headers={"Retry-After": "5"},
        ) from None
