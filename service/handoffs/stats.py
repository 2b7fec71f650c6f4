"""Anonymous handoff counts for planners, with k-anonymity suppression.

Counts are grouped by need (a handoff with two needs counts once in each), week (Monday,
local time) and H3 cell (resolution 4..7, rolled up from the stored r7 cell; handoffs
without a location form their own ``cell: null`` group). Any group counting fewer than
``k`` handoffs (``FIELDNAV_HANDOFF_STATS_MIN_COUNT``, default 10) is left out, and no total
that would let a suppressed count be recovered by subtraction is given: only how many
groups were suppressed. Handoffs ``entered-in-error`` are not counted.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, text

from service.handoffs.location import CELL_RESOLUTION, cell_text, parent_cell


@dataclass(frozen=True)
class StatsQuery:
    since: date  # first week (inclusive; any day of it)
    until: date  # last day (inclusive)
    resolution: int = CELL_RESOLUTION
    agency: str | None = None  # only handoffs requested by this agency
    needs: tuple[str, ...] = ()


def handoff_counts(connection: Connection, query: StatsQuery, k: int) -> dict:
    clauses = ["status <> 'entered-in-error'", "created_week >= date_trunc('week', CAST(:since AS date))::date",
               "created_week <= :until"]
    params: dict = {"since": query.since, "until": query.until}
    if query.agency is not None:
        clauses.append("requesting_agency = :agency")
        params["agency"] = query.agency
    need_filter = ""
    if query.needs:
        need_filter = "WHERE need = ANY(:needs)"
        params["needs"] = list(query.needs)
    rows = connection.execute(text(f"""
        SELECT need, created_week, h3_r7, count(*) AS n
        FROM (SELECT unnest(needs) AS need, created_week, h3_r7 FROM handoff WHERE {' AND '.join(clauses)}) h
        {need_filter}
        GROUP BY 1, 2, 3
    """), params).all()
    counts: Counter = Counter()
    for need, week, cell, n in rows:
        counts[(need, week, parent_cell(cell, query.resolution) if cell is not None else None)] += n
    shown = sorted(((key, n) for key, n in counts.items() if n >= k),
                   key=lambda item: (item[0][1], item[0][0], item[0][2] if item[0][2] is not None else -1))
    return {
        "k": k,
        "resolution": query.resolution,
        "since": query.since.isoformat(),
        "until": query.until.isoformat(),
        "groups": [{"need": need, "week": week.isoformat(), "cell": cell_text(cell), "count": n}
                   for (need, week, cell), n in shown],
        "suppressed_groups": sum(1 for n in counts.values() if n < k),
    }
