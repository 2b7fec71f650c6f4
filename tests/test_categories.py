"""Taxonomy codes, Open Eligibility terms and names map to category groups (data file)."""

from __future__ import annotations

from service.directory.categories import TermRef, category_codes, groups_for


def test_airs_prefixes_match_at_code_boundaries():
    assert groups_for([TermRef("BH-1800.8500")]) == ["shelter"]
    assert "shelter" not in groups_for([TermRef("BH-18")])
    assert "shelter" not in groups_for([TermRef("BH-1850X")])  # not a boundary


def test_one_code_can_give_several_groups():
    assert set(groups_for([TermRef("BH-1800.1500-700", "Runaway/Youth Shelters")])) == {"shelter", "youth"}
    assert set(groups_for([TermRef("RP-1500.1400-800")])) == {"mental_health", "crisis"}


def test_open_eligibility_terms_and_keywords():
    assert groups_for([TermRef(None, "Emergency Food")]) == ["food"]
    assert groups_for([], ["Sudbury Food Bank"]) == ["food"]
    assert "senior_support" in groups_for([], ["Seniors' Active Living Centre"])
    assert groups_for([], ["Town Hall"]) == []


def test_every_group_the_issue_names_exists():
    assert {
        "shelter",
        "mental_health",
        "senior_support",
        "crisis",
        "food",
        "substance_use",
        "health",
        "housing",
        "youth",
        "legal",
        "income",
    } <= set(category_codes())
