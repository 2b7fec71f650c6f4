"""A pack request checked against the settings and reduced to what is built: a PackPlan, its
request key, and the size caps' 422s.

Canonical request and reuse
    The request is reduced to what is built: the bbox rounded *outwards* to 6 decimals
    (~0.1 m, request.py), the zooms, the sorted distinct categories and ``PACK_FORMAT``
    (and the basemap's version when one is configured). ``request_key`` = sha256 of that
    canonical JSON (sorted keys, no spaces); an H3 request and the bbox it stands for share
    their packs. ``(request_key, data_version)`` is unique in ``offline_pack``: the same
    request at the same data version returns the pack already built (200) instead of
    building a new one (201).

Size caps
    Tiles are counted before anything is rendered (the tile ranges of the bbox at each zoom);
    more than ``PackSettings.max_tiles`` is a 422 ``pack-too-large`` whose detail says the
    highest ``max_zoom`` that fits (or how much smaller the area must be). While building,
    the archive plus the services snapshot may not exceed ``PackSettings.max_bytes`` (what
    the phone downloads); going over aborts the build, removes its files and answers the
    same 422 (``bytes_too_large``), suggesting the zoom below the one that overflowed.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field

import orjson

from service.directory.categories import category_codes
from service.maps import basemap as basemap_parts
from service.maps.packs.request import BBox, PackRequest, request_bbox
from service.platform.problem_texts import field_problem, fr_number, message
from service.platform.problems import Problem
from service.platform.settings import PackSettings
from spatial import tiles as tiles_math

# Bump when the archive or snapshot layout changes: old packs then stop being reused.
PACK_FORMAT = 2  # 2: tile points keyed by site_key, snapshot sites without hours of the moment


def tile_count(bbox: BBox, min_zoom: int, max_zoom: int) -> int:
    """Tiles covering the bbox from min_zoom to max_zoom (spatial.tiles' half-open ranges)."""
    return tiles_math.tile_count(bbox, range(min_zoom, max_zoom + 1))


@dataclass(frozen=True)
class PackPlan:
    bbox: BBox
    min_zoom: int
    max_zoom: int
    categories: tuple[str, ...]
    tile_count: int
    # The configured basemap (service/maps/basemap.py), whose tiles of the area go in the pack too.
    basemap: basemap_parts.Basemap | None = field(default=None, compare=False, repr=False)

    def canonical(self) -> dict:
        canonical = {
            "bbox": list(self.bbox),
            "categories": list(self.categories),
            "format": PACK_FORMAT,
            "max_zoom": self.max_zoom,
            "min_zoom": self.min_zoom,
        }
        if self.basemap is not None:  # a new basemap archive never reuses a pack built without it
            canonical["basemap"] = self.basemap.version
        return canonical

    @property
    def request_key(self) -> str:
        return hashlib.sha256(orjson.dumps(self.canonical(), option=orjson.OPT_SORT_KEYS)).hexdigest()


# --- problems -----------------------------------------------------------------------------------


def _invalid(field: str, code: str, **ctx) -> Problem:
    return Problem(
        422,
        "validation-error",
        f"{field}: {message(code, ctx, 'en')}",
        title="Invalid request",
        detail_fr=f"{field} : {message(code, ctx, 'fr')}",
        errors=[field_problem(field, code, **ctx)],
    )


def _unknown_categories(unknown: list[str]) -> Problem:
    codes = ", ".join(category_codes())
    return Problem(
        422,
        "unknown-category",
        f"Unknown category {', '.join(unknown)}; use one of: {codes}.",
        title="Unknown category",
        detail_fr=f"Catégorie inconnue : {', '.join(unknown)}. Choisissez parmi : {codes}.",
        errors=[field_problem("body.categories", "unknown_category", codes=[c], choices=codes) for c in unknown],
    )


def too_large(detail: str, detail_fr: str, **extra) -> Problem:
    return Problem(422, "pack-too-large", detail, title="Pack too large", detail_fr=detail_fr, **extra)


def _shrink_advice(bbox: BBox, min_zoom: int, max_zoom: int, max_tiles: int) -> tuple[str, str, dict]:
    fits = [z for z in range(min_zoom, max_zoom) if tile_count(bbox, min_zoom, z) <= max_tiles]
    if fits:
        best = fits[-1]
        kept = tile_count(bbox, min_zoom, best)
        return (
            (
                f"lower max_zoom to {best} ({kept} tiles), or ask for a smaller area "
                "(several smaller packs cover the same ground)"
            ),
            (
                f"abaissez max_zoom à {best} ({fr_number(kept)} tuiles), ou choisissez une zone plus petite "
                "(plusieurs petites zones couvrent le même territoire)"
            ),
            {"suggested_max_zoom": best},
        )
    share = max_tiles / tile_count(bbox, min_zoom, min_zoom)
    side = max(1, math.floor(math.sqrt(share) * 100))
    return (
        (
            f"even zoom {min_zoom} alone needs more tiles than allowed: ask for a smaller area, each side at most "
            f"about {side}% of this one, or a lower min_zoom"
        ),
        (
            f"le zoom {min_zoom} à lui seul demande plus de tuiles que permis : choisissez une zone plus petite, "
            f"dont chaque côté mesure au plus environ {side} % de celle-ci, ou un min_zoom plus bas"
        ),
        {"suggested_max_zoom": None},
    )


def _too_many_tiles(bbox: BBox, request: PackRequest, count: int, max_tiles: int) -> Problem:
    advice, advice_fr, extra = _shrink_advice(bbox, request.min_zoom, request.max_zoom, max_tiles)
    return too_large(
        f"This pack would hold {count} tiles, more than the {max_tiles} allowed: {advice}.",
        f"Cette zone compterait {fr_number(count)} tuiles, plus que les {fr_number(max_tiles)} permises : {advice_fr}.",
        tile_count=count,
        max_tiles=max_tiles,
        **extra,
    )


def bytes_too_large(plan: PackPlan, settings: PackSettings, zoom: int | None) -> Problem:
    """The 422 of a build that passed ``max_bytes`` while rendering ``zoom`` (None: once
    every file was written)."""
    megabytes = settings.max_bytes / 1_000_000
    extra: dict[str, int | None]
    if zoom is not None and zoom > plan.min_zoom:
        advice = f"lower max_zoom to {zoom - 1}, or ask for a smaller area or fewer categories"
        advice_fr = f"abaissez max_zoom à {zoom - 1}, ou choisissez une zone plus petite ou moins de catégories"
        extra = {"suggested_max_zoom": zoom - 1}
    else:
        advice = "ask for a smaller area or fewer categories"
        advice_fr = "choisissez une zone plus petite ou moins de catégories"
        extra = {"suggested_max_zoom": None}
    return too_large(
        f"This pack would be larger than the {megabytes:g} MB allowed: {advice}.",
        f"Cette zone dépasserait la taille permise de {fr_number(megabytes)} Mo : {advice_fr}.",
        max_bytes=settings.max_bytes,
        **extra,
    )


# --- the plan -----------------------------------------------------------------------------------


def plan_pack(request: PackRequest, settings: PackSettings) -> PackPlan:
    """Check a request against the settings and count its tiles. Raises Problem 422."""
    if request.min_zoom < settings.min_zoom:
        raise _invalid("body.min_zoom", "greater_than_equal", ge=settings.min_zoom)
    if request.max_zoom > settings.max_zoom:
        raise _invalid("body.max_zoom", "less_than_equal", le=settings.max_zoom)
    codes = tuple(sorted({c.strip() for c in request.categories or [] if c.strip()}))
    unknown = [c for c in codes if c not in category_codes()]
    if unknown:
        raise _unknown_categories(unknown)
    bbox = request_bbox(request)
    count = tile_count(bbox, request.min_zoom, request.max_zoom)
    if count > settings.max_tiles:
        raise _too_many_tiles(bbox, request, count, settings.max_tiles)
    return PackPlan(bbox, request.min_zoom, request.max_zoom, codes, count, basemap_parts.basemap_for_packs())
