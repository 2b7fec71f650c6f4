"""Anonymous handoff statistics for planners (supervisors: their agency's; admins: all)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Response

from service.api.dependencies import EngineDep
from service.api.errors import problem_responses
from service.api.responses import json_response
from service.api.schemas import CategoryCode, IsoDate
from service.api.security import PrincipalDep
from service.auth.principal import Role
from service.directory.categories import category_codes
from service.handoffs.schemas import HandoffStats
from service.handoffs.stats import STATS_RESOLUTION, StatsQuery, handoff_counts
from service.platform.problem_texts import field_problem
from service.platform.problems import Problem
from service.platform.settings import handoff_settings

router = APIRouter(prefix="/v1", tags=["stats"])

MAX_RANGE = timedelta(days=2 * 366)


@router.get(
    "/stats/handoffs",
    response_model=HandoffStats,
    summary="Handoff counts by need, week and H3 cell, k-anonymous",
    description=(
        "Counts of handoffs by need group, week (Monday, local time) and H3 cell of resolution 7, for finished "
        "weeks only. Groups with fewer than k handoffs (FIELDNAV_HANDOFF_STATS_MIN_COUNT, default 10) are "
        "suppressed; only how many were suppressed is said. No totals and no coarser cells are given, a week's "
        "counts never change once it has ended, and a count over all agencies is shown only when the agencies' "
        "suppressed counts in it add up to 0 or to k or more: no suppressed count can be found by subtracting one "
        'answer from another (README, "Statistics for planners"). Supervisors see their own agency\'s referrals; '
        "admins see all (or one `agency`). Default range: the last 12 weeks."
    ),
    responses=problem_responses(401, 403, 422, 429, types=("unknown-category",)),
)
def handoff_stats(
    engine: EngineDep,
    principal: PrincipalDep,
    since: Annotated[
        IsoDate | None,
        Query(description="First day (its week is included). Default: 12 weeks ago.", examples=["2026-09-01"]),
    ] = None,
    until: Annotated[
        IsoDate | None,
        Query(
            description="Last day (inclusive): its week is counted whole, once it has ended. Default: today.",
            examples=["2026-11-30"],
        ),
    ] = None,
    resolution: Annotated[
        int,
        Query(
            ge=STATS_RESOLUTION,
            le=STATS_RESOLUTION,
            description=(
                "H3 resolution of the cells: 7 (~5 km²) only. Counts at a second resolution would be sums of the first, "
                "and their differences would give suppressed counts away."
            ),
        ),
    ] = STATS_RESOLUTION,
    need: Annotated[
        list[CategoryCode] | None,
        Query(description="Only these need groups (repeat, or comma-separate).", examples=[["shelter"]]),
    ] = None,
    agency: Annotated[
        str | None,
        Query(max_length=100, description="Admins: only this requesting agency.", examples=["toronto-police"]),
    ] = None,
) -> Response:
    settings = handoff_settings()
    today = datetime.now(ZoneInfo(settings.stats_timezone)).date()
    until = until or today
    since = since or until - timedelta(weeks=12)
    if since > until or until - since > MAX_RANGE:
        raise Problem(
            422,
            "validation-error",
            "since must be on or before until, at most two years apart.",
            title="Invalid request",
            detail_fr="since doit précéder until (ou lui être égale), avec au plus deux ans d’écart.",
            errors=[field_problem("query.since", "date_range_invalid")],
        )
    needs = tuple(dict.fromkeys(c.strip() for v in need or [] for c in v.split(",") if c.strip()))
    unknown = [c for c in needs if c not in category_codes()]
    if unknown:
        raise Problem(
            422,
            "unknown-category",
            f"Unknown need group {', '.join(unknown)}.",
            title="Unknown category",
            detail_fr=f"Groupe de besoins inconnu : {', '.join(unknown)}.",
            errors=[field_problem("query.need", "unknown_need_group", codes=[c]) for c in unknown],
        )
    if principal.role is Role.SUPERVISOR:
        if agency is not None and agency != principal.agency:
            raise Problem(
                403,
                "forbidden",
                "Supervisors see their own agency's statistics only.",
                detail_fr="Les superviseurs ne voient que les statistiques de leur propre organisme.",
            )
        agency = principal.agency
    query = StatsQuery(since=since, until=until, agency=agency, needs=needs)
    with engine.connect() as connection:
        return json_response(handoff_counts(connection, query, settings.stats_min_count, settings.stats_timezone))
