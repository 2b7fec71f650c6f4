"""Map taxonomy terms and names to fieldnav's category groups.

The rules live in ``data/category_groups.yaml`` so that a 211 data steward can change a
mapping without a code change. Matching is case-insensitive; a service gets the union of
the groups of every rule that matches.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml


@dataclass(frozen=True)
class CategoryGroup:
    code: str
    label_en: str
    label_fr: str
    airs_prefixes: tuple[str, ...]
    open_eligibility: frozenset[str]
    keyword_pattern: re.Pattern[str] | None


@dataclass(frozen=True)
class TermRef:
    """The parts of a taxonomy term the mapping looks at."""

    code: str | None = None
    name: str | None = None


def _code_matches(code: str, prefix: str) -> bool:
    # "BH-1800" matches "BH-1800.8500" and "BH" matches "BH-1800", but "BH-18" must not
    # match "BH-1800": a prefix only counts when it ends at a code boundary.
    if not code.startswith(prefix):
        return False
    rest = code[len(prefix) :]
    return rest == "" or rest[0] in "-."


@lru_cache(maxsize=1)
def category_groups() -> tuple[CategoryGroup, ...]:
    """The category groups in display order, loaded once from the shipped data file."""
    text = resources.files("service.data").joinpath("category_groups.yaml").read_text("utf-8")
    loaded = yaml.safe_load(text)
    groups = []
    for entry in loaded["groups"]:
        keywords = [k.lower() for k in entry.get("keywords", [])]
        pattern = (
            re.compile(r"(?<!\w)(" + "|".join(re.escape(k) for k in keywords) + r")(?!\w)", re.I) if keywords else None
        )
        groups.append(
            CategoryGroup(
                code=entry["code"],
                label_en=entry["label_en"],
                label_fr=entry["label_fr"],
                airs_prefixes=tuple(p.upper() for p in entry.get("airs_prefixes", [])),
                open_eligibility=frozenset(t.lower() for t in entry.get("open_eligibility", [])),
                keyword_pattern=pattern,
            )
        )
    return tuple(groups)


def category_codes() -> tuple[str, ...]:
    return tuple(group.code for group in category_groups())


def groups_for(terms: Iterable[TermRef], names: Iterable[str | None] = ()) -> list[str]:
    """Category group codes (in display order) for a service's taxonomy terms and names."""
    terms = list(terms)
    codes = [t.code.strip().upper() for t in terms if t.code and t.code.strip()]
    term_names = [t.name.strip().lower() for t in terms if t.name and t.name.strip()]
    texts = [n for n in list(names) + [t.name for t in terms] if n]
    matched = []
    for group in category_groups():
        if (
            any(_code_matches(code, prefix) for code in codes for prefix in group.airs_prefixes)
            or any(name in group.open_eligibility for name in term_names)
            or (group.keyword_pattern is not None and any(group.keyword_pattern.search(t) for t in texts))
        ):
            matched.append(group.code)
    return matched
