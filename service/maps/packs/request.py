"""The body of ``POST /v1/offline/packs``, checked field by field, and the area it names.

``{"bbox": [min_lon, min_lat, max_lon, max_lat]}`` or ``{"h3_cells": [...]}`` (exactly one; at
most ``MAX_H3_CELLS`` cells, replaced by the union of their boundaries' bbox), ``min_zoom`` and
``max_zoom`` (min <= max; the settings' bounds are checked by plan.py) and optional
``categories`` (category group codes, checked like ``/v1/services/nearest``; none or empty
means every category). Unknown fields are refused.
"""

from __future__ import annotations

import math
from typing import Annotated

import h3
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from service.platform.problem_texts import field_error
from spatial.cells import parse_cell

MAX_H3_CELLS = 500
MAX_CATEGORIES = 50

BBox = tuple[float, float, float, float]


class PackRequest(BaseModel):
    """Body of ``POST /v1/offline/packs``."""

    model_config = ConfigDict(extra="forbid")

    bbox: Annotated[list[float], Field(min_length=4, max_length=4)] | None = Field(
        default=None,
        description="min_lon, min_lat, max_lon, max_lat (WGS84 degrees). Give this or h3_cells.",
        examples=[[-79.42, 43.63, -79.36, 43.68]],
    )
    h3_cells: Annotated[list[str], Field(min_length=1, max_length=MAX_H3_CELLS)] | None = Field(
        default=None,
        description=f"H3 cells (hex strings, any resolution, at most {MAX_H3_CELLS}); the pack covers "
        "the bbox of their union. Give this or bbox.",
        examples=[["852b9bcbfffffff"]],
    )
    min_zoom: int = Field(ge=0, le=22, examples=[10])
    max_zoom: int = Field(ge=0, le=22, examples=[16])
    categories: Annotated[list[str], Field(max_length=MAX_CATEGORIES)] | None = Field(
        default=None,
        description="Category group codes: only these services and map features. Omit for all.",
        examples=[["shelter", "food"]],
    )

    @field_validator("bbox")
    @classmethod
    def _valid_bbox(cls, bbox: list[float] | None) -> list[float] | None:
        if bbox is None:
            return None
        min_lon, min_lat, max_lon, max_lat = bbox
        if not all(math.isfinite(v) for v in bbox):
            raise field_error("bbox_not_finite")
        if not (-180 <= min_lon < max_lon <= 180 and -90 <= min_lat < max_lat <= 90):
            raise field_error("bbox_invalid")
        return bbox

    @field_validator("h3_cells")
    @classmethod
    def _valid_cells(cls, cells: list[str] | None) -> list[str] | None:
        if cells is None:
            return None
        parsed = [parse_cell(c) for c in cells]
        bad = [c for c, p in zip(cells, parsed, strict=True) if p is None]
        if bad:
            raise field_error("h3_cells_invalid", cells=", ".join(c[:20] for c in bad[:5]))
        return [p for p in parsed if p is not None]  # (none is: checked above)

    @model_validator(mode="after")
    def _one_area(self) -> PackRequest:
        if (self.bbox is None) == (self.h3_cells is None):
            raise field_error("area_one_of")
        if self.min_zoom > self.max_zoom:
            raise field_error("zoom_range_invalid")
        return self


def cells_bbox(cells: list[str]) -> BBox:
    """The bbox of the union of H3 cells, from their boundary vertices (no antimeridian
    handling: a cell across it yields a box spanning the globe, refused by the tile cap)."""
    lats, lons = [], []
    for cell in cells:
        for lat, lon in h3.cell_to_boundary(cell):
            lats.append(lat)
            lons.append(lon)
    return min(lons), min(lats), max(lons), max(lats)


def _round_down_6(value: float) -> float:
    # round(..., 3) first: -79.42 * 1e6 is -79420000.00000001, which must not floor to -79.420001.
    return math.floor(round(value * 1e6, 3)) / 1e6


def _round_up_6(value: float) -> float:
    return math.ceil(round(value * 1e6, 3)) / 1e6


def request_bbox(request: PackRequest) -> BBox:
    """The area of a request, rounded *outwards* to 6 decimals (~0.1 m): what is built, and
    what its request key says, so an H3 request and the bbox it stands for share packs."""
    if request.bbox is not None:
        min_lon, min_lat, max_lon, max_lat = request.bbox
    else:
        assert request.h3_cells is not None  # (PackRequest holds exactly one of them)
        min_lon, min_lat, max_lon, max_lat = cells_bbox(request.h3_cells)
    return (
        max(-180.0, _round_down_6(min_lon)),
        max(-90.0, _round_down_6(min_lat)),
        min(180.0, _round_up_6(max_lon)),
        min(90.0, _round_up_6(max_lat)),
    )
