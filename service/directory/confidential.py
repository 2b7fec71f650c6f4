"""What may leave the server about a confidential site: the allow-list, and the functions
that apply it. The one place this rule lives (issue 15).

A confidential site is a location with ``address_private`` (a shelter for people fleeing
violence). Hiding its coordinates is not enough: free text places it too ("Blue house at
123 Elm St", "side door on Elm St", a service area drawn as a point on it, a URL about the
building). So for a confidential site nothing is shown but what is listed here, and every
field not listed is withheld (null, or an empty list), whatever it holds and whatever
fields HSDS or fieldnav add later.

Allowed for a confidential site:

- the service's ``name`` and its organization's ``name``;
- phones: ``number``, ``extension``, ``type`` (and the ``tel:`` URI); not their description;
- hours: the structured schedule fields (days, times, validity, time zone); not a
  schedule's description, notes or link;
- languages: ``code`` and ``name``; not the note;
- eligibility: description, minimum and maximum age;
- capacity: the counts, their unit's name and when they were reported; not a description;
- open field reports: their kind, count and time (never their note or reporter);
- ``access`` "call_to_connect", ``confidential``, category groups and taxonomy term codes and
  names, status, ``last_verified`` and the dates of the record;
- the ids and keys clients need (``service_id``, ``location_id``, ``site_key``, HSDS ids).

Withheld: everything else, notably the location's name, alternate name, description,
transportation, URL, external identifiers, addresses, coordinates and accessibility; the
service's alternate name, description, URL, email, application process, fees, alerts and
other free text; service areas (their extent can be a point on the site); attribute values
and labels; the organization's description, website, email and identifiers.

A service with at least one confidential site is a *confidential service*: its own text
(service-level fields outside the allow-list) is withheld everywhere it is shown, at all of
its sites, and a keyword search matches it by name only; its public sites still show their
own place (location name, address, position, accessibility). Where the text of a service
with a public and a confidential site could be about the latter, nobody can tell.

Where it is applied: ``site_card`` by service/directory/sites.py when it builds a site's card (so
nearest, search, sync, offline packs and everything else reading ``service_site.card`` get
the filtered card; migration 0012 filtered the cards stored before); ``compiled_service`` by
service/hsds/compiled.py for ``GET /v1/services/{id}`` and the HSDS API's compiled objects, and
``allow`` with ``SERVICE``, ``ORGANIZATION``, ``LOCATION`` and ``PHONE`` by its list shapes
(service/hsds/summaries.py): HSDS output then leaves a withheld field out instead of sending
null (service/hsds/serialize.py); ``SEARCHABLE_SQL`` by keyword searches (service/directory/
search.py, service/hsds/queries.py).
Tiles never hold a confidential site (service/maps/tiles.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Union

CALL_TO_CONNECT = "call_to_connect"

# An allow-list: field name -> None (kept as it is) or the allow-list of the object (or of
# each object of the list) the field holds.
AllowList = Mapping[str, Union["AllowList", None]]


def _fields(*names: str, **nested: AllowList) -> dict[str, AllowList | None]:
    return {**dict.fromkeys(names), **nested}


# --- the site card (service/directory/sites.py): one per service at a location ------------------------

CARD_PHONE = _fields("number", "extension", "type", "tel")

# A confidential site's card.
CARD = _fields(
    "service_id",
    "location_id",
    "site_key",
    "name",
    "organization_name",
    "category_groups",
    "confidential",
    "eligibility",
    "languages",
    "capacity",
    "capacities",
    "open_reports",
    "last_verified",
    "access",
    "timezone",
    "week_intervals",
    "open_ranges",
    phones=CARD_PHONE,
)

# The card of a public site of a confidential service: the place is public, the service's
# own text is not.
CARD_PUBLIC_SITE = {**CARD, **_fields("location_name", "lon", "lat", "address", "accessibility")}

# --- the HSDS compiled service (GET /v1/services/{id}) ---------------------------------------

PHONE = _fields(
    "id",
    "location_id",
    "service_id",
    "organization_id",
    "contact_id",
    "service_at_location_id",
    "number",
    "extension",
    "type",
)
SCHEDULE = _fields(
    "id",
    "service_id",
    "location_id",
    "service_at_location_id",
    "valid_from",
    "valid_to",
    "dtstart",
    "timezone",
    "until",
    "count",
    "wkst",
    "freq",
    "interval",
    "byday",
    "byweekno",
    "bymonthday",
    "byyearday",
    "opens_at",
    "closes_at",
    "attending_type",
)
LANGUAGE = _fields("id", "service_id", "location_id", "phone_id", "name", "code")
UNIT = _fields("id", "name", "scheme", "identifier")
CAPACITY = _fields("id", "service_id", "unit_id", "available", "maximum", "updated", unit=UNIT)
TAXONOMY_TERM = _fields("id", "code", "name", "parent_id", "taxonomy", "language", "taxonomy_id")
ATTRIBUTE = _fields("id", "link_id", "taxonomy_term_id", "link_type", "link_entity", taxonomy_term=TAXONOMY_TERM)
ORGANIZATION = _fields("id", "name")
LOCATION = _fields(
    "id", "location_type", "organization_id", "address_private", phones=PHONE, languages=LANGUAGE, schedules=SCHEDULE
)
SERVICE_AT_LOCATION = _fields("id", "service_id", "location_id", phones=PHONE, schedules=SCHEDULE, location=LOCATION)
# A confidential service; its service_at_locations are filtered one by one (public_sites).
SERVICE = _fields(
    "id",
    "organization_id",
    "program_id",
    "name",
    "status",
    "eligibility_description",
    "minimum_age",
    "maximum_age",
    "assured_date",
    "last_modified",
    "category_groups",
    "open_reports",
    organization=ORGANIZATION,
    phones=PHONE,
    schedules=SCHEDULE,
    languages=LANGUAGE,
    capacities=CAPACITY,
    attributes=ATTRIBUTE,
)

# --- keyword search (service/directory/search.py) ----------------------------------------------------

# What a search may match and rank a confidential service by: its name (``{service}`` is the
# alias of the service table), as service.search_vector holds it (migration 0002).
SEARCHABLE_SQL = (
    "(setweight(to_tsvector('english', coalesce({service}.name, '')), 'A') || "
    "setweight(to_tsvector('french', coalesce({service}.name, '')), 'A'))"
)


def _withheld(value):
    return [] if isinstance(value, list) else None


def allow(value: dict, allowed: AllowList) -> dict:
    """``value`` with every field not in ``allowed`` withheld (null, or [] for a list), and
    nested objects filtered by their own allow-lists. Same keys, so the shape stays."""
    kept = {}
    for key, field in value.items():
        if key not in allowed:
            kept[key] = _withheld(field)
            continue
        nested = allowed[key]
        if nested is None or field is None:
            kept[key] = field
        elif isinstance(field, list):
            kept[key] = [allow(item, nested) if isinstance(item, dict) else _withheld(item) for item in field]
        elif isinstance(field, dict):
            kept[key] = allow(field, nested)
        else:
            kept[key] = _withheld(field)
    return kept


def site_card(card: dict, *, site_private: bool, service_private: bool) -> dict:
    """The card of a site as it may be shown: a confidential site's by ``CARD``, a public
    site of a confidential service by ``CARD_PUBLIC_SITE``, any other unchanged."""
    if site_private:
        return {**allow(card, CARD), "confidential": True, "access": CALL_TO_CONNECT}
    if service_private:
        return allow(card, CARD_PUBLIC_SITE)
    return card


def compiled_service(service: dict) -> dict:
    """An HSDS compiled service as it may be shown. Unchanged when none of its locations is
    confidential; otherwise the service by ``SERVICE``, each confidential location (and its
    service_at_location) by ``SERVICE_AT_LOCATION``, public locations as they are."""
    sites = service.get("service_at_locations") or []
    if not any((sal.get("location") or {}).get("address_private") for sal in sites):
        return service
    shown = allow(service, {**SERVICE, "service_at_locations": None})
    shown["service_at_locations"] = [
        allow(sal, SERVICE_AT_LOCATION) if (sal.get("location") or {}).get("address_private") else sal for sal in sites
    ]
    return shown
