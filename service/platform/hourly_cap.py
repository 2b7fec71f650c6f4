"""A per-person cap on writes in any hour (field reports, shares), counted in the caller's
transaction after the new row is written, so two requests at once cannot both slip under it:
over the cap, the 429 rolls the transaction back, the new row with it."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import Connection, TextClause

from service.platform.problems import Problem


@dataclass(frozen=True)
class HourlyCap:
    slug: str  # the problem type: too-many-reports, too-many-shares
    noun_en: str  # "reports"
    noun_fr: str  # "signalements"
    title: str
    title_fr: str

    def check(self, connection: Connection, last_hour: TextClause, params: dict, per_hour: int) -> None:
        """``last_hour`` answers ``made`` (rows of the person in the last hour, the new one
        counted) and ``wait_s`` (until the oldest leaves the hour)."""
        counted = connection.execute(last_hour, params).one()
        if counted.made <= per_hour:
            return
        wait_s = max(1, int(counted.wait_s))
        wait_min = math.ceil(wait_s / 60)
        raise Problem(
            429,
            self.slug,
            f"You made {per_hour} {self.noun_en} in the last hour, the most allowed; try again in {wait_min} min.",
            detail_fr=f"Vous avez fait {per_hour} {self.noun_fr} dans la dernière heure, le maximum permis ; "
            f"réessayez dans {wait_min} min.",
            title=self.title,
            title_fr=self.title_fr,
            headers={"Retry-After": str(wait_s)},
        )
