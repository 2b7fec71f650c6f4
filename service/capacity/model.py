"""Request bodies of the capacity routes (PUT /v1/services/{id}/capacity, POST /v1/capacity).

What is checked here needs no database: counts are whole numbers from 0, ``available`` is at
most ``maximum``, the unit is one of data/capacity_units.yaml, each unit once per service
and each service once per bulk update, ``updated`` carries its UTC offset and is not in the
future (beyond CLOCK_LEEWAY; store.py takes such a time as now). store.py checks the rest
(the service exists and is the caller's; the count is not older than the one shown). A bulk
update is checked item by item, so that one answer names every item's problems.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from service.capacity.units import unit_codes
from service.platform.problem_texts import field_error, message

# A phone's clock a little ahead of the server's is not a count from the future.
CLOCK_LEEWAY = timedelta(minutes=2)
MAX_COUNT = 100_000

Count = Annotated[int, Field(strict=True, ge=0, le=MAX_COUNT)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CapacityEntry(_Strict):
    unit: str = Field(examples=["beds"], description="beds, cots, rooms, spaces, appointments or meals.")
    available: Count = Field(examples=[13], description="Free now: a whole number from 0.")
    maximum: Count | None = Field(
        default=None,
        examples=[40],
        description=(
            "The most there can be; at least `available`. Left out: the service keeps the maximum it has (null clears it)."
        ),
    )
    updated: datetime | None = Field(
        default=None,
        examples=["2026-12-04T21:00:00-05:00"],
        description=(
            "When the count was taken, ISO 8601 with offset; default: now. Not in the future (a clock at most 2 "
            "minutes ahead is taken as now), and not older than the count the service shows for this unit (409 "
            "`capacity-outdated`)."
        ),
    )

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
        if updated > datetime.now(UTC) + CLOCK_LEEWAY:
            raise field_error("updated_in_future")
        return updated

    @model_validator(mode="after")
    def _available_within_maximum(self) -> CapacityEntry:
        if self.maximum is not None and self.available > self.maximum:
            raise field_error("available_above_maximum")
        return self


def _one_per_unit(entries: list[CapacityEntry]) -> list[CapacityEntry]:
    units = [e.unit for e in entries]
    if len(set(units)) != len(units):
        raise field_error("duplicate_unit")
    return entries


class CapacityUpdate(_Strict):
    capacities: list[CapacityEntry] = Field(
        min_length=1, max_length=20, description=("One entry per unit to change; units not listed keep their count.")
    )

    _units = field_validator("capacities")(_one_per_unit)


class BulkItem(_Strict):
    service_id: uuid.UUID = Field(examples=["9c1d7e2a-3b4f-4c5d-8e6f-7a8b9c0d1e2f"])
    capacities: list[CapacityEntry] = Field(min_length=1, max_length=20)

    _units = field_validator("capacities")(_one_per_unit)


@dataclass(frozen=True)
class ItemError:
    """A problem of one bulk item found from its content alone: ``loc`` within the body
    (``("items", 3, "capacities", 0, "available")``), pydantic's ``code``, ``message`` and ``ctx``."""

    position: int
    loc: tuple
    code: str
    message: str
    ctx: dict | None


def _service_key(raw) -> uuid.UUID | None:
    value = raw.get("service_id") if isinstance(raw, dict) else None
    try:
        return uuid.UUID(value) if isinstance(value, str) else None
    except ValueError:
        return None


class BulkCapacityUpdate(_Strict):
    items: list[BulkItem] = Field(
        min_length=1,
        max_length=5000,
        description=(
            "Every service to change (at most FIELDNAV_CAPACITY_MAX_BULK_ITEMS, 300), each once. All or nothing: one "
            "bad item and nothing is changed; the answer lists every item's problems."
        ),
    )

    # Items are checked one by one, so that one answer lists the problems of every item: those
    # of their content (here) and those only the database can tell (a service that does not
    # exist, a count older than the one shown: store.check) for the others. A bad item is left
    # out of ``items`` and kept in ``refused``; ``positions`` maps ``items`` back to the request.
    _refused: list[ItemError] = PrivateAttr(default_factory=list)
    _positions: list[int] = PrivateAttr(default_factory=list)

    @property
    def refused(self) -> list[ItemError]:
        return self._refused

    def position(self, index: int) -> int:
        """Where ``items[index]`` was in the request."""
        return self._positions[index]

    @property
    def size(self) -> int:
        """How many items the request has, good and bad."""
        return len(self.items) + len({e.position for e in self._refused})

    @model_validator(mode="wrap")
    @classmethod
    def _item_by_item(cls, data, handler):
        raw_items = data.get("items") if isinstance(data, dict) else None
        if not isinstance(raw_items, list) or not raw_items:
            return handler(data)  # pydantic's own errors: no list, or an empty one
        kept, positions, refused, seen = [], [], [], set()
        for position, raw in enumerate(raw_items):
            errors = []
            try:
                item = BulkItem.model_validate(raw)
            except ValidationError as error:
                item = None
                errors = [
                    ItemError(position, ("items", position, *e["loc"]), e["type"], e["msg"], e.get("ctx"))
                    for e in error.errors()
                ]
            key = _service_key(raw)
            if key is not None and key in seen:
                errors.append(
                    ItemError(
                        position,
                        ("items", position, "service_id"),
                        "duplicate_service",
                        message("duplicate_service", None, "en"),
                        None,
                    )
                )
            if key is not None:
                seen.add(key)
            if errors:
                refused += errors
            else:
                kept.append(item)
                positions.append(position)
        model = cls.model_construct(items=[]) if refused and not kept else handler({**data, "items": kept})
        model._refused, model._positions = refused, positions
        return model

    def model_post_init(self, context, /) -> None:
        # Built other than through the validator above (model_validate of a dict does go
        # through it): every item is in ``items``, in request order.
        if not self._positions and self.items:
            self._positions = list(range(len(self.items)))
