"""Key rotation: re-encrypt every stored personal value with the active key.

``fieldnav handoffs rotate-keys`` walks each encrypted column in batches (one transaction
per batch, rows locked while they are rewritten), leaves values the active key already
decrypts alone, and re-encrypts the others with ``MultiFernet.rotate``. When it reports
nothing left on old keys, the old keys can be removed from the configuration. It can be
interrupted and run again.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, text

from service.handoffs import audit
from service.handoffs.crypto import KeyRing

# table -> (key column, key type for the cursor, encrypted columns)
ENCRYPTED = {
    "handoff": ("id", "uuid", ("phone_enc", "name_enc", "note_enc", "contact_enc", "location_enc")),
    "handoff_event": ("id", "bigint", ("reason_enc",)),
    "handoff_note": ("id", "uuid", ("text_enc",)),
    # A share's SMS or email recipient (service/shares/outbox.py), until it is delivered.
    "share_outbox": ("id", "bigint", ("recipient_enc",)),
}


@dataclass
class RotationReport:
    rotated: int = 0
    current: int = 0

    def summary_line(self) -> str:
        return f"re-encrypted {self.rotated} values with the active key; {self.current} were already on it"


def rotate(engine: Engine, ring: KeyRing, *, batch_size: int = 500) -> RotationReport:
    report = RotationReport()
    for table, (key, key_type, columns) in ENCRYPTED.items():
        any_set = " OR ".join(f"{c} IS NOT NULL" for c in columns)
        last = None
        while True:
            with engine.begin() as connection:
                after = f"AND {key} > CAST(:last AS {key_type})" if last is not None else ""
                rows = (
                    connection.execute(
                        text(f"""
                    SELECT {key}, {", ".join(columns)} FROM {table} WHERE ({any_set}) {after}
                    ORDER BY {key} LIMIT :batch FOR UPDATE
                """),
                        {"last": last, "batch": batch_size},
                    )
                    .mappings()
                    .all()
                )
                for row in rows:
                    changes = {}
                    for column in columns:
                        token = row[column]
                        if token is None:
                            continue
                        if ring.is_current(token):
                            report.current += 1
                        else:
                            changes[column] = ring.rotate(token)
                    if changes:
                        assignments = ", ".join(f"{c} = :{c}" for c in changes)
                        connection.execute(
                            text(f"UPDATE {table} SET {assignments} WHERE {key} = :key"), {**changes, "key": row[key]}
                        )
                        report.rotated += len(changes)
            if len(rows) < batch_size:
                break
            last = str(rows[-1][key])
    with engine.begin() as connection:
        audit.record(
            connection,
            audit.Actor.system("rotate-keys"),
            [
                audit.Entry(
                    "rotate-keys",
                    "security: re-encryption with the active key",
                    detail={
                        "rotated": report.rotated,
                        "already_current": report.current,
                        "keys_configured": len(ring.keys),
                    },
                )
            ],
        )
    return report
