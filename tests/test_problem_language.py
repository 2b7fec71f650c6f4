"""Problem details in the request's language (Accept-Language: English by default, or French),
over real HTTP against `fieldnav serve` on a real PostGIS (the handoff tests' server), plus the
catalogue's French texts and the negotiation itself."""

from __future__ import annotations

import re
import uuid

import pytest

from service.api.errors import language_headers, negotiate_language
from service.auth.principal import Role
from service.platform.problem_texts import (
    CATALOGUE_FR,
    MESSAGES,
    NBSP,
    NNBSP,
    message,
    typeset_fr,
)
from service.platform.problems import PROBLEM_TYPES
from tests.support.handoffs import create, handoff_body
from tests.support.tokens import auth

# The handoff tests' server and client (``client``: a module's own database, centres loaded,
# real HTTP) come from tests/support/handoff_fixtures.py.

FR = {"Accept-Language": "fr-CA"}
EN = {"Accept-Language": "en-CA"}
PHONE_FR = "Ce numéro de téléphone n’est pas valide. Vérifiez les chiffres, ou laissez le champ vide pour un transfert anonyme."
PHONE_EN = "This is not a valid phone number. Check the digits, or leave it empty for an anonymous handoff."


def _french_spacing_ok(text: str) -> bool:
    """Every : ; ? ! used as punctuation (followed by a space or the end) has the no-break
    space French wants before it; a colon inside a token (09:30, tag:) is not punctuation."""
    for match in re.finditer(r"[:;?!](?=\s|$)", text):
        before = text[match.start() - 1] if match.start() else ""
        wanted = NBSP if match.group() == ":" else NNBSP
        if before != wanted:
            return False
    return "« " not in text and " »" not in text


def _same_except_words(english: dict, french: dict) -> None:
    for key in ("type", "status", "instance"):
        assert english[key] == french[key], key
    assert [(e["field"], e["code"]) for e in english.get("errors", [])] == [
        (e["field"], e["code"]) for e in french.get("errors", [])
    ]


# --- over HTTP ---------------------------------------------------------------------------------


def test_a_missing_token_is_401_in_either_language(client):
    english = client.get("/v1/me")
    french = client.get("/v1/me", headers=FR)
    assert english.status_code == french.status_code == 401
    assert english.headers["content-language"] == "en" and french.headers["content-language"] == "fr"
    assert english.json()["detail"] == "A bearer token is required." and english.json()["title"] == "Unauthorized"
    assert french.json()["detail"] == "Un jeton d’accès est requis. Connectez-vous, puis réessayez."
    assert french.json()["title"] == "Non autorisé"
    assert french.headers["www-authenticate"] == "Bearer"
    _same_except_words(english.json(), french.json())


def test_a_bad_token_is_401_in_french_and_says_nothing_more(client):
    headers = {"Authorization": "Bearer not-a-token"}
    english = client.get("/v1/me", headers=headers)
    french = client.get("/v1/me", headers={**headers, **FR})
    assert english.json()["detail"] == "invalid token"
    assert french.status_code == 401 and french.json()["detail"] == typeset_fr(
        "Ce jeton d’accès n’est pas valide. Reconnectez-vous pour en obtenir un nouveau."
    )
    assert french.headers["www-authenticate"] == 'Bearer error="invalid_token"'


def test_a_404_carries_its_id_in_french(client):
    missing = uuid.uuid4()
    english = client.get(f"/v1/handoffs/{missing}", headers=auth(Role.FIELD_WORKER))
    french = client.get(f"/v1/handoffs/{missing}", headers={**auth(Role.FIELD_WORKER), **FR})
    assert english.status_code == french.status_code == 404
    assert english.json()["detail"] == f"No handoff with id {missing}."
    assert french.json()["detail"] == f"Aucun transfert ne porte l’identifiant {missing}."
    assert french.json()["title"] == "Introuvable"
    _same_except_words(english.json(), french.json())


def test_a_problem_without_a_french_detail_falls_back_to_its_type(client):
    # An unknown path: Starlette's 404 says only "Not Found"; French gets the type's default.
    response = client.get("/v1/nowhere", headers=FR)
    assert response.status_code == 404 and response.headers["content-language"] == "fr"
    assert response.json()["detail"] == typeset_fr(CATALOGUE_FR["not-found"][1])
    assert "Not Found" not in response.text


def test_query_parameters_of_nearest_get_a_422_per_field(client):
    url = "/v1/services/nearest?lat=95&lon=abc&limit=0"
    english = client.get(url, headers={**auth(Role.FIELD_WORKER), **EN})
    french = client.get(url, headers={**auth(Role.FIELD_WORKER), **FR})
    assert english.status_code == french.status_code == 422
    assert french.headers["content-type"] == "application/problem+json"
    _same_except_words(english.json(), french.json())
    codes = {e["field"]: e["code"] for e in french.json()["errors"]}
    assert codes == {"query.lat": "less_than_equal", "query.lon": "float_parsing", "query.limit": "greater_than_equal"}
    messages = {e["field"]: e["message"] for e in french.json()["errors"]}
    assert messages["query.lat"] == "La valeur doit être inférieure ou égale à 90."
    assert messages["query.lon"] == "Entrez un nombre."
    assert {e["field"]: e["message"] for e in english.json()["errors"]}["query.lat"] == "The value must be 90 or less."
    assert french.json()["title"] == "Demande non valide" and english.json()["title"] == "Invalid request"
    # The detail sums up the same errors, in the same language.
    assert french.json()["detail"].startswith(f"query.lat{NBSP}: La valeur doit être inférieure ou égale à 90.")
    assert english.json()["detail"].startswith("query.lat: The value must be 90 or less.")


@pytest.mark.parametrize("phone", ["555-0199-00", "not a number", "+1 416 555"])
def test_a_bad_callback_phone_is_explained_beside_the_phone_field(client, phone):
    body = handoff_body(phone=phone)
    french = client.post("/v1/handoffs", json=body, headers={**auth(Role.FIELD_WORKER), **FR})
    assert french.status_code == 422 and french.headers["content-language"] == "fr"
    problem = french.json()
    assert problem["type"] == "tag:fieldnav.org,2026:problem/validation-error" and problem["instance"] == "/v1/handoffs"
    assert problem["errors"] == [{"field": "body.contact.phone", "code": "phone_invalid", "message": PHONE_FR}]
    assert problem["detail"] == f"body.contact.phone{NBSP}: {PHONE_FR}"
    english = client.post("/v1/handoffs", json=body, headers=auth(Role.FIELD_WORKER))
    assert english.json()["errors"] == [{"field": "body.contact.phone", "code": "phone_invalid", "message": PHONE_EN}]
    # The number is never echoed, in any form.
    digits = re.sub(r"\D", "", phone)
    for response in (french, english):
        assert phone not in response.text and (not digits or digits not in re.sub(r"\D", "", response.text))


def test_contact_rules_and_unknown_needs_have_codes_and_french_messages(client):
    cases = [
        (
            handoff_body(phone=None, contact={"do_not_contact": True}),
            "body.contact",
            "do_not_contact_needs_alternative",
        ),
        (
            handoff_body(phone=None, contact={"do_not_contact": True, "phone": "613 555 0123", "alternative": "x"}),
            "body.contact",
            "do_not_contact_with_phone",
        ),
        (handoff_body(needs=("bedrooms",)), "body.needs.groups", "unknown_need_group"),
        (handoff_body(urgency="whenever"), "body.urgency", "enum"),
        (
            handoff_body(
                contact={"phone": "+1 416 555 0199", "safe_times": [{"days": ["mon"], "start": "9am", "end": "17:00"}]}
            ),
            "body.contact.safe_times.0.start",
            "local_time_invalid",
        ),
    ]
    for body, field, code in cases:
        response = client.post("/v1/handoffs", json=body, headers={**auth(Role.FIELD_WORKER), **FR})
        assert response.status_code == 422, response.text
        errors = response.json()["errors"]
        assert {"field": field, "code": code} in [{"field": e["field"], "code": e["code"]} for e in errors], errors
        for error in errors:
            assert error["message"] != message(error["code"], {}, "en") and _french_spacing_ok(error["message"]), error
    assert "613 555 0123" not in response.text


def test_a_refused_transition_names_the_statuses_in_french(client):
    handoff = create(client)
    response = client.post(
        f"/v1/handoffs/{handoff['id']}/transitions",
        json={"status": "completed"},
        headers={**auth(Role.FIELD_WORKER), **FR},
    )
    assert response.status_code == 409 and response.json()["current_status"] == "requested"
    assert response.json()["detail"].startswith(
        typeset_fr("Un transfert ne peut pas passer de « demandé » à « terminé ».")
    )
    assert _french_spacing_ok(response.json()["detail"])


def test_middleware_refusals_speak_french_too(client):
    bad_query = client.get("/v1/services/nearest?lat=%00", headers=FR)
    assert bad_query.status_code == 400 and bad_query.headers["content-language"] == "fr"
    assert bad_query.json()["detail"] == "La chaîne de requête contient un caractère NUL."
    assert bad_query.json()["title"] == "Requête incorrecte" and "accept-language" in bad_query.headers["vary"].lower()
    too_big = client.post(
        "/v1/handoffs",
        content=b"{" + b" " * 70_000 + b"}",
        headers={**auth(Role.FIELD_WORKER), **FR, "Content-Type": "application/json"},
    )
    assert too_big.status_code == 413 and too_big.headers["content-language"] == "fr"
    assert too_big.json()["detail"].startswith("Le corps d’une requête est limité à")


@pytest.mark.parametrize(
    "accept_language, expected",
    [
        ("en;q=0.5, fr;q=0.9", "fr"),
        ("de", "en"),
        ("fr-FR", "fr"),
        ("fr;q=0, en;q=0.1", "en"),
        ("fr-CA,fr;q=0.9,en-US;q=0.8,en;q=0.7", "fr"),
        ("en-US,en;q=0.9,fr;q=0.8", "en"),
        ("", "en"),
    ],
)
def test_q_values_choose_the_language(client, accept_language, expected):
    response = client.get("/v1/me", headers={"Accept-Language": accept_language})
    assert response.status_code == 401 and response.headers["content-language"] == expected
    assert "Accept-Language" in [v.strip() for v in response.headers["vary"].split(",")]


def test_without_accept_language_problems_are_english(client):
    response = client.get("/v1/me")
    assert response.headers["content-language"] == "en" and response.headers["vary"] == "Accept-Language"


# --- without a server --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header, expected",
    [
        (None, "en"),
        ("fr", "fr"),
        ("fr-CA", "fr"),
        ("FR-ca", "fr"),
        ("fr_CA", "fr"),
        ("fr, en", "fr"),
        ("en, fr", "en"),
        ("de, *;q=0.5", "en"),
        ("*", "en"),
        ("de;q=1, fr;q=0.1", "fr"),
        ("fr;q=0.5, *;q=0.9", "en"),
        ("fr;q=abc, en", "en"),
        ("fr;q=2", "en"),
        ("fr-CA;q=0, fr-FR;q=0.8", "fr"),
        (";;,,", "en"),
    ],
)
def test_negotiation(header, expected):
    assert negotiate_language(header) == expected


def test_vary_is_merged_not_replaced():
    assert language_headers("fr", {"Vary": "Accept-Encoding", "Retry-After": "5"}) == {
        "Retry-After": "5",
        "Content-Language": "fr",
        "Vary": "Accept-Encoding, Accept-Language",
    }
    assert language_headers("en", {"vary": "accept-language"})["Vary"] == "accept-language"
    assert language_headers("en", {"Vary": "*"})["Vary"] == "*"


def test_every_problem_type_has_french_texts():
    for slug, known in PROBLEM_TYPES.items():
        assert slug in CATALOGUE_FR, f"{slug}: add its French title and detail to service/platform/problem_texts.py"
        title, detail = CATALOGUE_FR[slug]
        assert title.strip() and detail.strip(), slug
        assert title != known.title and detail not in (known.example, known.meaning), f"{slug}: not translated"
        assert "'" not in title + detail, f"{slug}: French apostrophes are ’"
        assert _french_spacing_ok(typeset_fr(title)) and _french_spacing_ok(typeset_fr(detail)), slug


SAMPLE_CTX = {
    "lt": 10,
    "le": 90,
    "gt": 0,
    "ge": 1,
    "multiple_of": 5,
    "min_length": 2,
    "max_length": 500,
    "actual_length": 12,
    "expected": "'routine' or 'urgent'",
    "codes": ["bedrooms"],
    "choices": "shelter, food",
    "max_area": 100.0,
    "cells": "zz",
    "count": 4,
}


@pytest.mark.parametrize("code", sorted(MESSAGES))
def test_every_field_message_reads_as_a_sentence_in_both_languages(code):
    english, french = message(code, SAMPLE_CTX, "en"), message(code, SAMPLE_CTX, "fr")
    assert english and french and english != french
    assert english.rstrip()[-1] in ".!?" and french.rstrip()[-1] in ".!?", (english, french)
    assert _french_spacing_ok(french), french
    assert "{" not in english + french


def test_numbers_are_written_the_french_way():
    assert (
        message("string_too_long", {"max_length": 2000}, "fr")
        == f"Ce texte est trop long{NBSP}: au plus 2{NBSP}000 caractères."
    )
    assert message("less_than_equal", {"le": 0.5}, "fr") == "La valeur doit être inférieure ou égale à 0,5."
    assert message("less_than_equal", {"le": 500000}, "en") == "The value must be 500,000 or less."


def test_unknown_codes_never_put_english_in_a_french_answer():
    assert message("some_new_pydantic_type", {}, "fr", "Input should be shiny") == "Cette valeur n’est pas valide."
    assert message("some_new_pydantic_type", {}, "en", "Input should be shiny") == "Input should be shiny."
    assert message("value_error", {}, "en", "Value error, bbox is odd") == "Bbox is odd."
