"""Request bodies of the capacity routes (PUT /v1/services/{id}/capacity, POST /v1/capacity).

What is checked here needs no database: counts are whole numbers from 0, ``available`` is at
most ``maximum``, the unit is one of data/capacity_units.yaml, each unit once per service
and each service once per bulk update, ``updated`` carries its UTC offset and is not in the
future. store.py checks the rest (the service exists and is the caller's; the count is not
older than the one shown).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from service.capacity.units import unit_codes
from service.problem_texts import field_error

# A phone's clock a little ahead of the server's is not a count from the future.
CLOCK_LEEWAY = timedelta(minutes=2)
MAX_COUNT = 100_000

Count = Annotated[int, Field(strict=True, ge=0, le=MAX_COUNT)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CapacityEntry(_Strict):
    unit: str = Field(examples=["beds"], description="beds, cots, rooms, spaces, appointments or meals.")
    available: Count = Field(examples=[13], description="Free now: a whole number from 0.")
    maximum: Count | None = Field(default=None, examples=[40], description="The most there can be; at least `available`.")
    updated: datetime | None = Field(default=None, examples=["2026-12-04T21:00:00-05:00"], description=(
        "When the count was taken, ISO 8601 with offset; default: now. Not in the future, and not older than the "
        "count the service shows for this unit (409 `capacity-outdated`)."))

    @field_validator("unit")
    @classmethod
    def _known_unit(cls, unit: str) -> str:
        if unit not in unit_codes():
            raise field_error("unknown_unit", choices=", ".join(unit_codes()))
        return unit

    @field_validator("updated")
    @classmethod
    def _aware_and_past(cls, updated: datetime | None) -> datetime | None:
        if updated is None:
            return None
        if updated.tzinfo is None:
            raise field_error("offset_required")
        if updated > datetime.now(timezone.utc) + CLOCK_LEEWAY:
            raise field_error("updated_in_future")
        return updated

    @model_validator(mode="after")
    def _available_within_maximum(self) -> "CapacityEntry":
        if self.maximum is not None and self.available > self.maximum:
            raise field_error("available_above_maximum")
        return self


def _one_per_unit(entries: list[CapacityEntry]) -> list[CapacityEntry]:
    units = [e.unit for e in entries]
    if len(set(units)) != len(units):
        raise field_error("duplicate_unit")
    return entries


class CapacityUpdate(_Strict):
    capacities: list[CapacityEntry] = Field(min_length=1, max_length=20, description=(
        "One entry per unit to change; units not listed keep their count."))

    _units = field_validator("capacities")(_one_per_unit)


class BulkItem(_Strict):
    service_id: uuid.UUID = Field(examples=["9c1d7e2a-3b4f-4c5d-8e6f-7a8b9c0d1e2f"])
    capacities: list[CapacityEntry] = Field(min_length=1, max_length=20)

    _units = field_validator("capacities")(_one_per_unit)


class BulkCapacityUpdate(_Strict):
    items: list[BulkItem] = Field(min_length=1, max_length=5000, description=(
        "Every service to change (at most FIELDNAV_CAPACITY_MAX_BULK_ITEMS, 500). All or nothing: one bad item "
        "and nothing is changed; the answer lists every item's problems."))

    @field_validator("items")
    @classmethod
    def _one_per_service(cls, items: list[BulkItem]) -> list[BulkItem]:
        ids = [i.service_id for i in items]
        if len(set(ids)) != len(ids):
            raise field_error("duplicate_service")
        return items
