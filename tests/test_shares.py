"""Shares (issue 20): a list of chosen services left with the person, on the real stack:
`fieldnav serve` on a PostGIS holding 1,500 demo services, real HTTP, real tokens.

Making a share (idempotent, audited, capped per hour, every refusal writing nothing), its page
(no token, unguessable link, nothing about the worker, never a confidential address, French),
its expiry (410, from the cache too) and the QR code. Delivery of SMS and email:
tests/test_shares_delivery.py.
"""

from __future__ import annotations

import math
import re
import time
import uuid

import pytest
from sqlalchemy import create_engine, text

from service.auth.principal import Role
from service.shares import tokens
from tests.support.handoffs import HANDOFF_ENV, RING
from tests.support.servers import start_server, stop_server
from tests.support.sms_receiver import SmsReceiver
from tests.support.smtp_server import SmtpServer
from tests.support.tokens import auth

PER_HOUR = 6
TYPE = "tag:fieldnav.org,2026:problem/"
PROBLEM = "application/problem+json"
HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
WORKER = {"subject": "worker-shares", "agency": "toronto-paramedics"}


@pytest.fixture(scope="module")
def receivers():
    with SmsReceiver() as sms, SmtpServer() as smtp:
        yield sms, smtp


@pytest.fixture(scope="module")
def engine(demo_database_url):
    engine = create_engine(demo_database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def server(demo_database_url, receivers):
    sms, smtp = receivers
    env = {**HANDOFF_ENV, **sms.env, **smtp.env, "FIELDNAV_SHARES_PER_HOUR": str(PER_HOUR)}
    server = start_server(demo_database_url, env=env)
    yield server
    output = stop_server(server)
    assert "Traceback" not in output, output[-4000:]
    # Logs never hold a recipient or a link's token.
    assert "+14165550123" not in output and "person@example.org" not in output
    assert "/s/" not in output.replace("GET /s/", "").replace("/s/{token}", ""), output[-2000:]


@pytest.fixture
def http(server):
    with server.client() as client:
        yield client


def _sites(engine, *, private: bool, count: int) -> list[dict]:
    with engine.connect() as connection:
        rows = connection.execute(
            text("""
            SELECT site_key, service_id::text AS service_id, card FROM service_site
            WHERE is_private = :private AND status = 'active' ORDER BY site_key LIMIT :count
        """),
            {"private": private, "count": count},
        ).mappings()
        return [dict(row) for row in rows]


@pytest.fixture(scope="module")
def public_sites(engine):
    return _sites(engine, private=False, count=12)


@pytest.fixture(scope="module")
def private_site(engine):
    return _sites(engine, private=True, count=1)[0]


def _counts(engine) -> tuple[int, int, int]:
    with engine.connect() as connection:
        return connection.execute(
            text("""
            SELECT (SELECT count(*) FROM share), (SELECT count(*) FROM share_outbox),
                   (SELECT count(*) FROM handoff_audit WHERE action = 'share-create')
        """)
        ).one()


def _share(http, body: dict, *, role: Role = Role.FIELD_WORKER, subject: str | None = None, **headers):
    """As one worker (``subject``), or as a new one each call (the hourly cap is per person)."""
    subject = subject or f"{WORKER['subject']}-{uuid.uuid4().hex[:8]}"
    return http.post("/v1/shares", json=body, headers={**auth(role, WORKER["agency"], subject), **headers})


def _link(services: list[dict], **extra) -> dict:
    return {"services": [{"site_key": s["site_key"]} for s in services], "language": "en", "delivery": "link", **extra}


def test_a_link_share_opens_a_page_without_a_token(http, engine, public_sites):
    chosen = public_sites[:3]
    answer = _share(http, _link(chosen))
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["location"] == created["url"]
    assert created["service_count"] == 3 and created["delivery_state"] == "none"
    assert created["print_url"] == created["url"] + "?print=1" and created["qr_url"] == created["url"] + "/qr.svg"
    assert created["url"] in created["text"] and "211" in created["text"]
    page = http.get(created["url"], headers=HTML)  # no Authorization header
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "private, max-age=300"
    html = page.text
    for site in chosen:
        card = site["card"]
        assert _escaped(card["name"]) in html
        tel = next((phone["tel"] for phone in card["phones"] if phone.get("tel")), None)
        if tel:
            assert f'href="{tel}"' in html
        if card["address"]:
            assert _escaped(card["address"]["address_1"]) in html
    assert html.count("<li>") == 3
    assert 'href="tel:211"' in html and 'href="sms:211"' in html
    assert "openstreetmap.org/?mlat=" in html
    # Today's hours, as the server reads them now.
    assert re.search(r"Today: \d\d:\d\d–\d\d:\d\d|Open 24 hours|Closed today|Hours: call first", html)
    # Nothing loaded from anywhere: no external script, style, font or image.
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", html)
    # Revalidation: the same page, 304.
    again = http.get(created["url"], headers={**HTML, "If-None-Match": page.headers["etag"]})
    assert again.status_code == 304


def _escaped(value: str) -> str:
    from html import escape

    return escape(value)


def test_the_page_says_nothing_about_the_worker_or_their_agency(http, public_sites):
    created = _share(http, _link(public_sites[:2]), subject="officer-7781").json()
    html = http.get(created["url"], headers=HTML).text
    for leak in ("officer-7781", WORKER["agency"], "field_worker", "paramedic", "fieldnav-test"):
        assert leak not in html, leak


def test_links_are_unguessable_and_only_their_hash_is_stored(http, engine, public_sites):
    urls = [_share(http, _link(public_sites[:1])).json()["url"] for _ in range(4)]
    found = [url.rsplit("/", 1)[1] for url in urls]
    assert len(set(found)) == 4
    for token in found:
        assert re.fullmatch(r"[A-Za-z0-9_-]{32}", token)  # 24 random bytes: 192 bits
    assert tokens.TOKEN_BYTES * 8 >= 128
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT token_sha256 FROM share")).scalars().all()
        dump = connection.execute(text("SELECT string_agg(s::text, ' ') FROM share s")).scalar_one()
    assert {bytes(h) for h in stored} >= {tokens.token_hash(token) for token in found}
    assert not any(token in dump for token in found)
    # A link one character off opens nothing.
    wrong = urls[0][:-1] + ("A" if urls[0][-1] != "A" else "B")
    assert http.get(wrong, headers=HTML).status_code == 404
    problem = http.get(wrong, headers={"Accept": "application/json"})
    assert problem.status_code == 404 and problem.headers["content-type"].startswith(PROBLEM)
    assert http.get("/s/short", headers=HTML).status_code == 404


def test_a_confidential_site_is_listed_without_its_place(http, engine, private_site, public_sites):
    with engine.connect() as connection:
        hidden = connection.execute(
            text("""
            SELECT a.address_1, a.city, a.postal_code, ST_Y(ss.geom) AS lat, ST_X(ss.geom) AS lon, l.name AS location_name
            FROM service_site ss JOIN location l ON l.id = ss.location_id
            LEFT JOIN address a ON a.location_id = ss.location_id
            WHERE ss.site_key = :key
        """),
            {"key": private_site["site_key"]},
        ).first()
    created = _share(http, _link([private_site, public_sites[0]])).json()
    html = http.get(created["url"], headers=HTML).text
    assert _escaped(private_site["card"]["name"]) in html
    assert "Address kept confidential: call first." in html
    shown_names = (private_site["card"]["name"], private_site["card"]["organization_name"])
    for secret in (hidden.address_1, hidden.postal_code, hidden.location_name):
        if secret and secret not in shown_names:  # a location named after its organization is no secret
            assert _escaped(secret) not in html, secret
    assert f"{hidden.lat:.3f}" not in html and f"{hidden.lon:.3f}" not in html
    assert html.count("openstreetmap.org") == 1  # the public site's map link only


def test_a_service_id_stands_for_its_first_site(http, engine, public_sites):
    service_id = public_sites[4]["service_id"]
    created = _share(http, {"services": [{"service_id": service_id}], "language": "en", "delivery": "print"})
    assert created.status_code == 201, created.text
    with engine.connect() as connection:
        sites = connection.execute(
            text("SELECT sites FROM share WHERE id = :id"), {"id": created.json()["id"]}
        ).scalar_one()
    assert [site["service_id"] for site in sites] == [service_id]


def test_repeats_are_listed_once(http, public_sites):
    site = {"site_key": public_sites[0]["site_key"]}
    created = _share(http, {"services": [site, site], "language": "en", "delivery": "link"}).json()
    assert created["service_count"] == 1


def test_the_french_page_and_message(http, public_sites):
    created = _share(http, {**_link(public_sites[:2]), "language": "fr"}).json()
    assert created["text"].startswith("Les services dont on a parle")
    page = http.get(created["url"], headers={**HTML, "Accept-Language": "en"})
    html = page.text
    assert '<html lang="fr">' in html
    assert "Services pour vous" in html and "Ce lien fonctionne jusqu’au" in html
    assert "Appeler le 2-1-1" in html and "En cas d’urgence, composez le 9-1-1." in html
    assert re.search(r"Aujourd’hui\u00a0: \d\d:\d\d|Ouvert 24 h sur 24|Fermé aujourd’hui|Heures\u00a0: appelez", html)


def test_idempotent_retries_make_one_share_and_one_message(http, engine, public_sites):
    key = str(uuid.uuid4())
    body = {**_link(public_sites[:2]), "delivery": "sms", "recipient": "416 555 0123"}
    before = _counts(engine)
    first = _share(http, body, subject="retrier", **{"Idempotency-Key": key})
    second = _share(http, body, subject="retrier", **{"Idempotency-Key": key})
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert first.json()["delivery_state"] == "queued"
    assert "0123" not in first.text  # the answer never repeats the recipient
    after = _counts(engine)
    assert tuple(b - a for a, b in zip(before, after, strict=True)) == (1, 1, 1)
    # The same key with another body is refused, and makes nothing.
    other = _share(http, {**body, "recipient": "416 555 0199"}, subject="retrier", **{"Idempotency-Key": key})
    assert other.status_code == 422 and other.json()["type"] == TYPE + "idempotency-key-reused"
    assert _counts(engine) == after


def test_the_recipient_is_encrypted_at_rest(http, engine, public_sites):
    created = _share(http, {**_link(public_sites[:1]), "delivery": "email", "recipient": "Person@Example.org"}).json()
    with engine.connect() as connection:
        row = connection.execute(
            text("SELECT recipient_enc, body, subject, state FROM share_outbox WHERE share_id = :id"),
            {"id": created["id"]},
        ).one()
        dump = connection.execute(
            text("SELECT string_agg(o::text, ' ') FROM share_outbox o WHERE share_id = :id"), {"id": created["id"]}
        ).scalar_one()
    assert b"example.org" not in bytes(row.recipient_enc) and "example.org" not in dump.lower()
    assert RING.decrypt(row.recipient_enc) == "Person@example.org"  # the domain normalised
    assert row.state == "pending" and created["url"] in row.body
    # The message is neutral: no service name in it.
    assert public_sites[0]["card"]["name"] not in row.body


def test_every_share_is_audited_without_the_recipient(http, engine, public_sites):
    created = _share(
        http, {**_link(public_sites[:3]), "delivery": "sms", "recipient": "+1 416 555 0123"}, subject="auditor-check"
    ).json()
    with engine.connect() as connection:
        entry = (
            connection.execute(
                text("SELECT * FROM handoff_audit WHERE action = 'share-create' AND detail->>'share_id' = :id"),
                {"id": created["id"]},
            )
            .mappings()
            .one()
        )
        everything = connection.execute(text("SELECT string_agg(a::text, ' ') FROM handoff_audit a")).scalar_one()
    assert entry["actor_subject"] == "auditor-check" and entry["actor_agency"] == WORKER["agency"]
    assert entry["actor_role"] == "field_worker" and entry["at"] is not None
    assert entry["detail"] == {"share_id": created["id"], "services": 3, "delivery": "sms", "language": "en"}
    assert "4165550123" not in everything and "555 0123" not in everything


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ("eleven", "body.services", "too_long"),
        ("unknown_site", "body.services.1.site_key", "share_service_unknown"),
        ("unknown_service", "body.services.0.service_id", "share_service_unknown"),
        ("both_ids", "body.services.0", "share_item_one_of"),
        ("bad_phone", "body.recipient", "share_phone_invalid"),
        ("bad_email", "body.recipient", "email_invalid"),
        ("no_recipient", "body.recipient", "share_recipient_missing_sms"),
        ("recipient_on_link", "body.recipient", "share_recipient_not_allowed"),
        ("bad_language", "body.language", "literal_error"),
        ("no_services", "body.services", "too_short"),
    ],
)
def test_bad_input_is_a_422_and_makes_no_share(http, engine, public_sites, change, field, code):
    body = _link(public_sites[:2])
    if change == "eleven":
        body = _link(public_sites[:11])
    elif change == "unknown_site":
        body["services"][1] = {"site_key": 2_000_000_000}
    elif change == "unknown_service":
        body["services"][0] = {"service_id": str(uuid.uuid4())}
    elif change == "both_ids":
        body["services"][0] = {"site_key": public_sites[0]["site_key"], "service_id": public_sites[0]["service_id"]}
    elif change == "bad_phone":
        body.update(delivery="sms", recipient="555-01")
    elif change == "bad_email":
        body.update(delivery="email", recipient="person@@example")
    elif change == "no_recipient":
        body.update(delivery="sms")
    elif change == "recipient_on_link":
        body.update(recipient="+1 416 555 0123")
    elif change == "bad_language":
        body.update(language="es")
    elif change == "no_services":
        body["services"] = []
    before = _counts(engine)
    for language in ("en", "fr"):
        answer = _share(http, body, **{"Accept-Language": language})
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"].startswith(PROBLEM)
        problem = answer.json()
        assert any(error["field"] == field and error["code"] == code for error in problem["errors"]), problem
        for error in problem["errors"]:
            assert "555" not in error["message"] and "person@" not in error["message"]
        if language == "fr":
            assert problem["title"] == "Demande non valide"
    assert _counts(engine) == before


@pytest.mark.parametrize("role", [Role.PROVIDER, Role.ADMIN])
def test_a_wrong_role_is_refused(http, engine, public_sites, role):
    before = _counts(engine)
    answer = _share(http, _link(public_sites[:1]), role=role)
    assert answer.status_code == 403 and answer.json()["type"] == TYPE + "forbidden"
    assert _counts(engine) == before


def test_no_token_is_a_401(http, public_sites):
    answer = http.post("/v1/shares", json=_link(public_sites[:1]), headers={"Idempotency-Key": str(uuid.uuid4())})
    assert answer.status_code == 401


def test_supervisors_and_navigators_share_too(http, public_sites):
    for role in (Role.SUPERVISOR, Role.NAVIGATOR):
        assert _share(http, _link(public_sites[:1]), role=role, subject=f"{role.value}-1").status_code == 201


def test_shares_are_capped_per_person_and_hour(http, engine, public_sites):
    subject = "busy-" + uuid.uuid4().hex[:6]
    for _ in range(PER_HOUR):
        assert _share(http, _link(public_sites[:1]), subject=subject).status_code == 201
    before = _counts(engine)
    refused = _share(http, _link(public_sites[:1]), subject=subject, **{"Accept-Language": "fr"})
    assert refused.status_code == 429 and refused.json()["type"] == TYPE + "too-many-shares"
    assert 0 < int(refused.headers["retry-after"]) <= 3600
    assert refused.json()["title"] == "Trop de partages"
    assert _counts(engine) == before
    # Another worker is not held back.
    assert _share(http, _link(public_sites[:1]), subject=subject + "-other").status_code == 201


def test_the_qr_code_is_the_link(http, public_sites):
    created = _share(http, _link(public_sites[:1])).json()
    answer = http.get(created["qr_url"])
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/svg+xml"
    assert answer.text.startswith("<?xml") and "<path" in answer.text
    # The printed page carries the same code inline.
    html = http.get(created["print_url"], headers=HTML).text
    assert '<div class="qr"><svg' in html and created["url"] in html


def test_the_share_page_is_small(http, public_sites):
    created = _share(http, _link(public_sites[:10])).json()
    page = http.get(created["url"], headers={**HTML, "Accept-Encoding": "gzip"})
    assert page.headers["content-encoding"] == "gzip" and page.headers["vary"] == "Accept-Encoding"
    assert int(page.headers["content-length"]) < 30 * 1024  # the goal, over the wire
    plain = http.get(created["url"], headers={**HTML, "Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.text == page.text  # httpx decoded the first


@pytest.fixture(scope="module")
def short_lived(demo_database_url):
    """A server whose shares live 3 s, and which sends no email (no SMTP configured)."""
    ttl_s = 3
    server = start_server(demo_database_url, env={**HANDOFF_ENV, "FIELDNAV_SHARES_TTL_DAYS": str(ttl_s / 86400)})
    yield server, ttl_s
    stop_server(server)


def test_an_expired_link_answers_410_even_from_the_cache(short_lived, public_sites):
    server, ttl_s = short_lived
    with server.client() as http:
        created = _share(http, {**_link(public_sites[:2]), "language": "fr"}).json()
        assert http.get(created["url"], headers=HTML).status_code == 200  # now cached
        time.sleep(math.ceil(ttl_s) + 0.5)
        gone = http.get(created["url"], headers=HTML)
        assert gone.status_code == 410
        assert "Cette liste a expiré" in gone.text and "2-1-1" in gone.text
        assert gone.headers["cache-control"] == "no-store"
        problem = http.get(created["url"], headers={"Accept": "application/json"})
        assert problem.status_code == 410 and problem.json()["type"] == TYPE + "share-expired"
        assert http.get(created["qr_url"], headers=HTML).status_code == 410


def test_email_is_refused_where_no_mail_server_is_set(short_lived, engine, public_sites):
    server, _ = short_lived
    with server.client() as http:
        before = _counts(engine)
        answer = _share(http, {**_link(public_sites[:1]), "delivery": "email", "recipient": "person@example.org"})
        assert answer.status_code == 422
        assert answer.json()["errors"][0] == {
            "field": "body.delivery",
            "code": "share_delivery_not_configured",
            "message": answer.json()["errors"][0]["message"],
        }
        assert _counts(engine) == before
