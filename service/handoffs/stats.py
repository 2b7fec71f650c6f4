"""Anonymous handoff counts for planners, that no subtraction can open up.

A count is published for a *group*: a need group, a week (Monday, local time) and an H3 cell
of resolution 7 (handoffs without a location form their own ``cell: null`` group), for one
agency's referrals or for all agencies. A handoff with two needs counts once in each of its
need groups. A group counting fewer than ``k`` handoffs (``FIELDNAV_HANDOFF_STATS_MIN_COUNT``,
default 10) is suppressed. On its own that is not enough: whenever one published count is the
sum of others, a suppressed count is a difference of published ones (12 in one r7 cell shown,
13 in its r5 parent: the hidden sibling holds 1). So every answer is built so that no published
count contains a suppressed one, whatever the parameters and whenever it is asked:

1. **One resolution.** Cells are always r7, the resolution handoffs are stored at: no cell is
   the union of other cells shown.
2. **No totals.** Only groups are published, never a sum over cells, weeks, needs or agencies.
   Need groups overlap (a handoff with two needs is in both), so neither is the other's margin.
   The filters (``need``, ``since``/``until``, which select whole weeks) choose which groups
   are shown, never what a group counts.
3. **Finished weeks only, as they were when they ended.** The week in progress is not
   counted (a count that grows from one day to the next is a difference over time); a week is
   counted from an hour after it ends (``SETTLE``: a handoff written in its last second has
   committed by then). A handoff marked ``entered-in-error`` before its week ended is not
   counted; one marked later still is, so a published count never changes.
4. **Agencies: complementary suppression.** The count over all agencies is the sum of the
   agencies' counts, each published (to its supervisors, or to an admin asking for one agency)
   when it reaches k. The total is published only when the agency counts it adds to those
   published sum to 0 or to k or more: "all agencies" minus every agency's published count is
   then never between 1 and k - 1.

What this does not defend against: someone who knows from elsewhere all but a few of the
handoffs in a published group (their own agency's, say) learns that the rest exist. Counts
say nothing of who; the k threshold keeps them from being small.

Handoffs ``entered-in-error`` (in time, as above) are not counted.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, text

from service.handoffs.location import CELL_RESOLUTION, cell_text
from service.platform.settings import handoff_settings

STATS_RESOLUTION = CELL_RESOLUTION
# A week is counted from this long after it ends (local time): every handoff and status change
# made in it has committed by then (statements stop after FIELDNAV_STATEMENT_TIMEOUT_MS).
SETTLE = timedelta(hours=1)


@dataclass(frozen=True)
class StatsQuery:
    since: date  # first week (inclusive; any day of it)
    until: date  # last day (inclusive; its week is counted whole if it has ended)
    agency: str | None = None  # only handoffs requested by this agency
    needs: tuple[str, ...] = ()


Group = tuple[str, date, int | None]  # need, week, r7 cell


def _counts_by_agency(
    connection: Connection, query: StatsQuery, timezone: str, as_of: datetime | None
) -> dict[Group, dict[str, int]]:
    """{group: {agency: count}} over every agency, for the weeks of the range finished at ``as_of``."""
    params: dict = {
        "since": query.since,
        "until": query.until,
        "tz": timezone,
        "settle_s": SETTLE.total_seconds(),
        "as_of": as_of,
    }
    need_filter = ""
    if query.needs:
        need_filter = "AND need = ANY(:needs)"
        params["needs"] = list(query.needs)
    rows = connection.execute(
        text(f"""
        WITH counted AS (
            SELECT h.needs, h.created_week, h.h3_r7, h.requesting_agency
            FROM handoff h
            WHERE h.created_week >= date_trunc('week', CAST(:since AS date))::date
              AND h.created_week <= CAST(:until AS date)
              -- finished weeks only: the week's end (local) plus SETTLE is past
              AND ((h.created_week + 7)::timestamp AT TIME ZONE :tz) + make_interval(secs => :settle_s)
                  <= coalesce(CAST(:as_of AS timestamptz), now())
              -- entered-in-error counts as such only if marked before its week ended
              AND NOT EXISTS (
                  SELECT 1 FROM handoff_event e
                  WHERE e.handoff_id = h.id AND e.to_status = 'entered-in-error'
                    AND e.at < ((h.created_week + 7)::timestamp AT TIME ZONE :tz))
        )
        SELECT need, created_week, h3_r7, requesting_agency, count(*) AS n
        FROM counted, unnest(counted.needs) AS need
        WHERE true {need_filter}
        GROUP BY 1, 2, 3, 4
    """),
        params,
    ).all()
    by_agency: dict[Group, dict[str, int]] = defaultdict(dict)
    for need, week, cell, agency, n in rows:
        by_agency[(need, week, cell)][agency] = n
    return by_agency


def _published(parts: dict[str, int], agency: str | None, k: int) -> int | None:
    """The count of a group shown to this view, or None when it is suppressed (or empty)."""
    if agency is not None:
        n = parts.get(agency, 0)
        return n if n >= k else None
    total = sum(parts.values())
    hidden = sum(n for n in parts.values() if n < k)  # what "all" adds to the agency counts shown
    if total < k or 0 < hidden < k:
        return None
    return total


def handoff_counts(
    connection: Connection, query: StatsQuery, k: int, timezone: str | None = None, as_of: datetime | None = None
) -> dict:
    """The answer of GET /v1/stats/handoffs. ``timezone``: of the weeks (default
    FIELDNAV_HANDOFF_STATS_TIMEZONE); ``as_of``: the moment whose finished weeks are counted
    (default: now; tests and reports of the past)."""
    timezone = timezone or handoff_settings().stats_timezone
    groups: list[dict[str, Any]] = []
    suppressed = 0
    for (need, week, cell), parts in _counts_by_agency(connection, query, timezone, as_of).items():
        if query.agency is not None and query.agency not in parts:
            continue
        count = _published(parts, query.agency, k)
        if count is None:
            suppressed += 1
        else:
            groups.append({"need": need, "week": week, "cell": cell, "count": count})
    groups.sort(key=lambda g: (g["week"], g["need"], g["cell"] if g["cell"] is not None else -1))
    return {
        "k": k,
        "resolution": STATS_RESOLUTION,
        "since": query.since.isoformat(),
        "until": query.until.isoformat(),
        "groups": [{**g, "week": g["week"].isoformat(), "cell": cell_text(g["cell"])} for g in groups],
        "suppressed_groups": suppressed,
    }
