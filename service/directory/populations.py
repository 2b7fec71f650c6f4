"""Who a service is for: fieldnav's population groups (women, youth, people with pets...).

The rules live in ``data/population_groups.yaml`` so that a 211 data steward can change a
mapping without a code change (as the category groups do, service/directory/categories.py).
A service gets the groups whose rule matches one of its taxonomy terms (AIRS target
population codes, or term names) or its eligibility text, in English or French.

What the filters make of them (service/directory/nearest.py, search.py, web/src/offline.js):

- ``population=`` (any of the codes): a site whose groups include one of them, or whose
  stated groups restrict nobody (``restricted`` is false: no group, or only groups that say
  who is welcome too, like pets);
- ``gender=``: a site with no gender group, or whose gender groups include that gender.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from service.directory.categories import TermRef

GENDER_CODES = ("women", "men", "gender_diverse")
# gender= values (the person's gender) and the group each one is.
GENDERS = {"woman": "women", "man": "men", "gender_diverse": "gender_diverse"}

# In private_cell.population_groups (migration 0021): "some confidential site of this cell
# restricts nobody" and "... restricts no gender". Not group codes (those never start with _).
CELL_UNRESTRICTED = "_any"
CELL_ANY_GENDER = "_any_gender"

# An age range ("16-24", "16 to 24", "16 à 24 ans"): youth when it lies within 12 to 29, when
# it is plainly an age (an age word before, or years after: "(16-17 in special circumstances)"
# is not a youth service).
_RANGE = re.compile(
    r"(?P<before>\b(?:aged?|ages|âgés? de|âgées? de|de)\s+)?(?P<low>\d{1,2})\s*(?:-|–|—|to|à)\s*(?P<high>\d{1,2})"
    r"(?P<after>\s*(?:years?|yrs?|ans)\b)?",
    re.I,
)
YOUTH_MIN_AGE, YOUTH_MAX_AGE = 12, 29
SENIOR_MIN_AGE = 50
# "55+", "60 years and older", "over 65", "65 ans et plus".
_FROM_AGE = re.compile(
    r"(?<!\d)(?P<age>\d{2})\s*\+"
    r"|(?<!\d)(?P<age2>\d{2})\s*(?:years?(?: old)?|yrs?|ans)?\s*(?:and|or|et)\s*(?:over|older|up|plus)\b"
    r"|\b(?:over|older than|plus de)\s+(?P<age3>\d{2})\b",
    re.I,
)


# The groups a text naming both women and men lists as "everyone" (see groups_for).
_EVERYONE_LISTS = (*GENDER_CODES, "families", "2slgbtq")

# "including ..." up to the end of its sentence.
_INCLUSIVE = re.compile(r"\b(?:including|such as|y compris|notamment|incluant)\b[^.;\n]*", re.I)


@dataclass(frozen=True)
class PopulationGroup:
    code: str
    label_en: str
    label_fr: str
    restricts: bool
    gender: bool
    airs_prefixes: tuple[str, ...]
    term_names: frozenset[str]
    pattern: re.Pattern[str] | None
    not_after: re.Pattern[str] | None
    not_before: re.Pattern[str] | None
    age_ranges: str | None


def _code_matches(code: str, prefix: str) -> bool:
    # At a code boundary only, as category prefixes: "YB-8000" matches "YB-8000.1500", not "YB-80001".
    return code.startswith(prefix) and (len(code) == len(prefix) or code[len(prefix)] in "-.")


def _phrases(words: Iterable[str]) -> str:
    # Longest first, so "and their children" is tried before "and children".
    return "|".join(re.escape(w.lower()) for w in sorted(set(words), key=len, reverse=True))


def _word_pattern(words: list[str]) -> re.Pattern[str] | None:
    return re.compile(r"(?<!\w)(" + _phrases(words) + r")(?!\w)", re.I) if words else None


@dataclass(frozen=True)
class _Negation:
    before: re.Pattern[str]  # searched in the text before a match
    after: re.Pattern[str]  # matched at the start of the text after it


@lru_cache(maxsize=1)
def _loaded() -> tuple[tuple[PopulationGroup, ...], _Negation]:
    text = resources.files("service.data").joinpath("population_groups.yaml").read_text("utf-8")
    loaded = yaml.safe_load(text)
    groups = []
    for entry in loaded["groups"]:
        not_after, not_before = entry.get("not_after", []), entry.get("not_before", [])
        groups.append(
            PopulationGroup(
                code=entry["code"],
                label_en=entry["label_en"],
                label_fr=entry["label_fr"],
                restricts=bool(entry.get("restricts", True)),
                gender=bool(entry.get("gender", False)),
                airs_prefixes=tuple(p.upper() for p in entry.get("airs_prefixes", [])),
                term_names=frozenset(t.lower() for t in entry.get("term_names", [])),
                pattern=_word_pattern(entry.get("eligibility", [])),
                not_after=re.compile(r"(?<!\w)(" + _phrases(not_after) + r")\s*$", re.I) if not_after else None,
                not_before=re.compile(r"^\s*(" + _phrases(not_before) + r")(?!\w)", re.I) if not_before else None,
                age_ranges=entry.get("age_ranges"),
            )
        )
    negation = loaded["negation"]
    # "no pets", "no men or boys", "not for men", "sans animaux ni enfants": a negation word,
    # then at most two more words joined by "or"/"nor"/"ni"/"ou"/commas, then the match.
    before = re.compile(
        r"(?<!\w)(" + _phrases(negation["before"]) + r")\s*"
        r"(?:[\w'’-]+\s*(?:,|\bor\b|\bnor\b|\bou\b|\bni\b)\s*){0,2}$",
        re.I,
    )
    after = re.compile(r"^\s*(" + _phrases(negation["after"]) + r")(?!\w)", re.I)
    return tuple(groups), _Negation(before, after)


def population_groups() -> tuple[PopulationGroup, ...]:
    """The population groups in display order, loaded once from the shipped data file."""
    return _loaded()[0]


def population_codes() -> tuple[str, ...]:
    return tuple(group.code for group in population_groups())


def restricting_codes() -> tuple[str, ...]:
    """The groups that limit who may come (all but those that only welcome, like pets)."""
    return tuple(group.code for group in population_groups() if group.restricts)


def _text_matches(group: PopulationGroup, text: str, negation: _Negation) -> bool:
    if group.pattern is None:
        return False
    for match in group.pattern.finditer(text):
        before, after = text[: match.start()], text[match.end() :]
        if negation.before.search(before) or negation.after.match(after):
            continue
        if group.not_after is not None and group.not_after.search(before):
            continue
        if group.not_before is not None and group.not_before.match(after):
            continue
        return True
    return False


def _ages_match(kind: str, text: str) -> bool:
    if kind == "youth":
        for match in _RANGE.finditer(text):
            low, high = int(match["low"]), int(match["high"])
            if (match["before"] or match["after"]) and YOUTH_MIN_AGE <= low < high <= YOUTH_MAX_AGE:
                return True
        return False
    if kind == "seniors":
        for match in _FROM_AGE.finditer(text):
            age = int(match["age"] or match["age2"] or match["age3"])
            if SENIOR_MIN_AGE <= age < 100:
                return True
        return any(int(m["low"]) >= SENIOR_MIN_AGE and (m["before"] or m["after"]) for m in _RANGE.finditer(text))
    return False


def groups_for(terms: Iterable[TermRef], eligibility: str | None) -> list[str]:
    """Population group codes (in display order) for a service's taxonomy terms and its
    eligibility text."""
    groups, negation = _loaded()
    terms = list(terms)
    codes = [t.code.strip().upper() for t in terms if t.code and t.code.strip()]
    names = {t.name.strip().lower() for t in terms if t.name and t.name.strip()}
    # A negation never reaches over a line break (some exports write them as a literal "\n").
    # An inclusive list ("adults, including 2SLGBTQ+ people") restricts nobody.
    text = _INCLUSIVE.sub("", (eligibility or "").replace("\\n", "\n"))
    matched = [
        group.code
        for group in groups
        if any(_code_matches(code, prefix) for code in codes for prefix in group.airs_prefixes)
        or bool(names & group.term_names)
        or any(_text_matches(group, line, negation) for line in text.splitlines())
        or (group.age_ranges is not None and _ages_match(group.age_ranges, text))
    ]
    if "women" in matched and "men" in matched:
        # "Men, women and children", "single men, single women and families", "women, men,
        # children, members of the LGBTQ community": a list of everyone.
        matched = [code for code in matched if code not in _EVERYONE_LISTS]
    return matched


def is_restricted(codes: Iterable[str]) -> bool:
    """Whether these groups limit who may come (false: no group, or only welcoming ones)."""
    restricting = set(restricting_codes())
    return any(code in restricting for code in codes)


def filter_sql(codes: tuple[str, ...], gender: str | None, alias: str = "s") -> tuple[list[str], list[str], dict]:
    """The "who it is for" filters of nearest and search as SQL: tests on service_site rows
    (``alias``) and on private_cell rows (``c``), and their bound values. ``population``: a site for one of the groups, or
    restricting nobody. ``gender``: a site with no gender group, or one with that gender. No
    index answers "restricts nobody", so both are per-row checks after the spatial walk. A
    cell passes when one of its sites could (the "_any" markers, migration 0021)."""
    sites: list[str] = []
    cells: list[str] = []
    params: dict[str, Any] = {}
    if codes:
        sites.append(
            f"(NOT ({alias}.population_groups && CAST(:restricting_populations AS text[]))"
            f" OR {alias}.population_groups && CAST(:populations AS text[]))"
        )
        cells.append("c.population_groups && CAST(:population_cell AS text[])")
        params.update(
            restricting_populations=list(restricting_codes()),
            populations=list(codes),
            population_cell=[*codes, CELL_UNRESTRICTED],
        )
    if gender is not None:
        sites.append(
            f"(NOT ({alias}.population_groups && CAST(:gender_groups AS text[]))"
            f" OR CAST(:gender AS text) = ANY({alias}.population_groups))"
        )
        cells.append("c.population_groups && CAST(:gender_cell AS text[])")
        params.update(
            gender_groups=list(GENDER_CODES),
            gender=gender,
            gender_cell=[gender, CELL_ANY_GENDER],
        )
    return sites, cells, params
