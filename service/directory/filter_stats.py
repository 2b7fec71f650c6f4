"""How many sites a category or language test matches, from PostgreSQL's own statistics.

The nearest statement (service/directory/nearest.py) stays prepared for every filter, so
PostgreSQL cannot weigh the values of a test between a KNN walk and the GIN posting lists;
nearest weighs them itself, with what the planner would have used: ``pg_stats``' element
frequencies of ``service_site.category_groups`` and ``language_codes`` (ANALYZE, which
imports run) and the table's row count. Read at most every STATS_TTL_S per process: the
numbers only steer the choice of plan, never the answer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, text

STATS_TTL_S = 600.0
COLUMNS = ("category_groups", "language_codes")

_READ = text("""
    SELECT st.attname, CAST(CAST(st.most_common_elems AS text) AS text[]) AS elements,
           st.most_common_elem_freqs AS freqs, c.reltuples AS rows
    FROM pg_stats st JOIN pg_class c ON c.oid = CAST('service_site' AS regclass)
    WHERE st.schemaname = current_schema() AND st.tablename = 'service_site'
      AND st.attname IN ('category_groups', 'language_codes') AND st.most_common_elems IS NOT NULL
""")


@dataclass(frozen=True)
class ElementStats:
    rows: float
    # column -> element -> the fraction of rows holding it
    fractions: dict[str, dict[str, float]]
    # column -> the least fraction listed: an element not listed is rarer than that
    floors: dict[str, float]

    def fraction(self, column: str, elements: Iterable[str]) -> float | None:
        """The fraction of rows holding any of ``elements`` (None: no statistics)."""
        if column not in self.fractions:
            return None
        listed, floor = self.fractions[column], self.floors[column]
        return min(1.0, sum(listed.get(element, floor) for element in elements))


def read(connection: Connection) -> ElementStats | None:
    rows = connection.execute(_READ).all()
    if not rows:
        return None
    fractions, floors = {}, {}
    for row in rows:
        # most_common_elem_freqs: one frequency per element, then the least, the most and
        # the frequency of nulls (PostgreSQL's pg_stats documentation).
        frequencies = list(row.freqs[: len(row.elements)])
        fractions[row.attname] = dict(zip(row.elements, frequencies, strict=True))
        floors[row.attname] = float(row.freqs[len(row.elements)]) if len(row.freqs) > len(row.elements) else 0.0
    return ElementStats(rows=max(float(rows[0].rows), 0.0), fractions=fractions, floors=floors)


class _Memo:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stats: ElementStats | None = None
        self._read_at_s = float("-inf")

    def get(self, connection: Connection) -> ElementStats | None:
        with self._lock:
            if time.monotonic() - self._read_at_s < STATS_TTL_S:
                return self._stats
        stats = read(connection)
        with self._lock:
            self._stats, self._read_at_s = stats, time.monotonic()
        return stats


_MEMO = _Memo()


def element_stats(connection: Connection) -> ElementStats | None:
    """This process's copy of the statistics (None when the table was never analysed)."""
    return _MEMO.get(connection)
