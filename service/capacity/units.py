"""The units a capacity count is given in (data/capacity_units.yaml)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml


@dataclass(frozen=True)
class Unit:
    code: str
    label_en: str
    label_fr: str
    names: tuple[str, ...]


@lru_cache(maxsize=1)
def units() -> tuple[Unit, ...]:
    loaded = yaml.safe_load(resources.files("service.data").joinpath("capacity_units.yaml").read_text("utf-8"))
    return tuple(Unit(u["code"], u["label_en"], u["label_fr"], tuple(u.get("names", ()))) for u in loaded["units"])


@lru_cache(maxsize=1)
def unit_codes() -> tuple[str, ...]:
    return tuple(u.code for u in units())


@lru_cache(maxsize=1)
def _by_name() -> dict[str, str]:
    return {name: u.code for u in units() for name in (u.code, *u.names)}


def unit_code(name: str | None) -> str:
    """The code of an HSDS unit name ("Emergency Beds" -> "beds"); a name outside the
    vocabulary is kept, in lower case, so a count is never dropped for its unit."""
    cleaned = " ".join((name or "").lower().split())
    return _by_name().get(cleaned, cleaned or "units")


def display_rank(code: str) -> int:
    """Where a unit comes in a result: vocabulary order, then any other unit."""
    codes = unit_codes()
    return codes.index(code) if code in codes else len(codes)
