"""Handoff building blocks with plain values: the state machine, callback windows, phone
numbers, centre files, H3 regions, Idempotency-Key parsing, keys, signatures, backoff."""

from __future__ import annotations

import os
import random
import stat
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import h3
import pytest
from cryptography.fernet import Fernet

from service.handoffs import transitions
from service.handoffs.callback import callback_window, parse_hours
from service.handoffs.centres import parse_centre
from service.handoffs.crypto import KeyRing, KeyRingError, _create_key_file, _parse_keys
from service.handoffs.location import cell_r7, parent_cell, region_range
from service.handoffs.model import FINAL_STATUSES, HandoffCreate, Status
from service.handoffs.transitions import Actor, Refusal, check
from service.handoffs.webhooks import backoff_s, signature, verify_signature
from service.platform.idempotency import parse_key
from service.platform.phones import InvalidPhone, normalise_phone, tel_uri
from service.platform.problems import Problem
from tests.support.handoffs import east_centre

TORONTO_TZ = ZoneInfo("America/Toronto")


# --- the state machine ---------------------------------------------------------------------


def test_every_status_is_reachable_and_closed_ones_only_go_to_entered_in_error():
    reachable = {Status.REQUESTED} | {to for (_, to) in transitions.TRANSITIONS}
    assert reachable == set(Status)
    for status in FINAL_STATUSES:
        assert transitions.targets(status) == ([] if status is Status.ENTERED_IN_ERROR else [Status.ENTERED_IN_ERROR])


@pytest.mark.parametrize("current", list(Status))
@pytest.mark.parametrize("target", list(Status))
@pytest.mark.parametrize("actor", list(Actor))
def test_check_follows_the_table(current, target, actor):
    verdict = check(current, target, actor, reason="a reason")
    who = transitions.TRANSITIONS.get((current, target))
    if who is None:
        assert verdict.refusal is Refusal.NO_SUCH_TRANSITION
    elif who is not actor:
        assert verdict.refusal is Refusal.NOT_YOURS_TO_MAKE
    else:
        assert verdict.allowed


@pytest.mark.parametrize("target", sorted(transitions.REASON_REQUIRED))
def test_reasons_are_required_for_rejected_on_hold_failed_cancelled(target):
    current, actor = next((frm, who) for (frm, to), who in transitions.TRANSITIONS.items() if to is target)
    assert check(current, target, actor, None).refusal is Refusal.REASON_MISSING
    assert check(current, target, actor, "because").allowed


# --- callback windows ------------------------------------------------------------------------


def test_always_open_window_is_now_plus_the_target():
    now = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
    earliest, latest = callback_window(parse_hours("24/7"), 2, now)
    assert earliest == now and (latest - now).total_seconds() == 2 * 3600


def test_window_counts_open_hours_only():
    hours = parse_hours(
        {"timezone": "America/Toronto", "weekly": {d: ["08:00-20:00"] for d in ("mon", "tue", "wed", "thu", "fri")}}
    )
    # Friday 19:00 local: one open hour today, then the weekend, then Monday from 08:00.
    friday = datetime(2026, 11, 27, 19, 0, tzinfo=TORONTO_TZ)
    earliest, latest = callback_window(hours, 3, friday)
    assert earliest == friday
    assert latest.astimezone(TORONTO_TZ) == datetime(2026, 11, 30, 10, 0, tzinfo=TORONTO_TZ)
    # Saturday: the window starts when the line opens on Monday.
    saturday = datetime(2026, 11, 28, 12, 0, tzinfo=TORONTO_TZ)
    earliest, latest = callback_window(hours, 1, saturday)
    assert earliest.astimezone(TORONTO_TZ) == datetime(2026, 11, 30, 8, 0, tzinfo=TORONTO_TZ)
    assert latest.astimezone(TORONTO_TZ) == datetime(2026, 11, 30, 9, 0, tzinfo=TORONTO_TZ)


def test_overnight_hours_and_bad_hours():
    hours = parse_hours({"timezone": "America/Toronto", "weekly": {"sat": ["20:00-02:00"]}})
    late = datetime(2026, 11, 29, 1, 0, tzinfo=TORONTO_TZ)  # Sunday 01:00, still Saturday night's shift
    earliest, latest = callback_window(hours, 0.5, late)
    assert earliest == late and latest.astimezone(TORONTO_TZ).hour == 1 and latest.astimezone(TORONTO_TZ).minute == 30
    for bad in (
        {"weekly": {"funday": ["08:00-10:00"]}},
        {"weekly": {"mon": ["8-10"]}},
        {"timezone": "Mars/Olympus", "weekly": {"mon": "08:00-10:00"}},
        {"weekly": {}},
        42,
    ):
        with pytest.raises(ValueError):
            parse_hours(bad)


# --- phone numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, e164",
    [
        ("613 555 0123", "+16135550123"),
        ("(416) 555-0199", "+14165550199"),
        ("+1 647 555 0142", "+16475550142"),
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_phones_are_normalised_to_e164(raw, e164):
    assert normalise_phone(raw, "CA") == e164


@pytest.mark.parametrize("raw", ["123", "613-555-01", "call me", "+1 000 000 0000"])
def test_bad_phones_are_refused_without_echoing_them(raw):
    with pytest.raises(InvalidPhone) as caught:
        normalise_phone(raw, "CA")
    assert raw not in str(caught.value)


def test_invalid_phone_in_a_body_is_a_validation_error_without_the_number():
    with pytest.raises(ValueError) as caught:
        HandoffCreate.model_validate({"needs": {"groups": ["food"]}, "contact": {"phone": "555-01"}})
    assert "555-01" not in str(caught.value).replace("input_value='555-01'", "")


def test_navigator_lines_become_tel_uris():
    def line(text: str) -> str | None:
        return tel_uri(text, "CA", short_codes=True, valid_only=True, separators=True)

    assert line("211") == "tel:211;phone-context=+1"
    assert line("1-877-330-3213") == "tel:+1-877-330-3213"
    assert line("613-555-01") is None


def test_directory_phones_become_e164_tel_uris():
    assert tel_uri("(416) 555-0134", "CA") == "tel:+14165550134"
    assert tel_uri("416-555-0134 x5", "CA") == "tel:+14165550134;ext=5"
    assert tel_uri("416-555-0134", "CA", extension="12") == "tel:+14165550134;ext=12"
    assert tel_uri("211", "CA") is None and tel_uri("call us", "CA") is None


# --- centres files ---------------------------------------------------------------------------


def test_a_good_centre_parses():
    spec = parse_centre(east_centre("https://centre.example/hooks"), "centres[0]")
    assert spec.centre.id == "211-east" and spec.centre.tel_uri == "tel:+1-613-555-0100"
    assert spec.area_geojson["type"] == "MultiPolygon" and len(spec.area_geojson["coordinates"]) == 1


@pytest.mark.parametrize(
    "override, message",
    [
        ({"id": "Bad Id"}, ".id must be"),
        ({"name": {"en": "Only English"}}, "needs both en and fr"),
        ({"phone": "not a phone"}, ".phone is not"),
        ({"webhook_url": "http://centre.example/hook", "webhook_secret_env": "X"}, "must use https"),
        ({"webhook_url": "https://centre.example/hook", "webhook_secret_env": None}, "webhook_secret_env must name"),
        ({"webhook_secret": "s3cr3t"}, "secrets never go in files"),
        ({"area": {"type": "Point", "coordinates": [0, 0]}}, "only Polygon and MultiPolygon"),
        ({"area": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0.5]]]}}, "is not closed"),
        ({"area": {"type": "Polygon", "coordinates": [[[0, 0], [200, 0], [1, 1], [0, 0]]]}}, "outside lon/lat range"),
        ({"callback_within_h": {"routine": 24}}, "callback_within_h needs"),
    ],
)
def test_bad_centres_are_refused_with_a_reason(override, message):
    with pytest.raises(ValueError) as caught:
        parse_centre(east_centre(**override), "centres[0]")
    assert message in str(caught.value)


# --- H3 ----------------------------------------------------------------------------------------


def test_region_ranges_hold_exactly_the_children():
    cell = cell_r7(43.6534, -79.3839)
    for resolution in range(8):
        region = h3.int_to_str(parent_cell(cell, resolution))
        lo, hi = region_range(region)
        assert lo <= cell <= hi
    region5 = h3.cell_to_parent(h3.int_to_str(cell), 5)
    lo, hi = region_range(region5)
    for neighbour in h3.grid_disk(h3.int_to_str(cell), 25):
        assert (lo <= h3.str_to_int(neighbour) <= hi) == (h3.cell_to_parent(neighbour, 5) == region5)
    with pytest.raises(ValueError):
        region_range(h3.latlng_to_cell(43.65, -79.38, 9))
    with pytest.raises(ValueError):
        region_range("not-a-cell")


# --- Idempotency-Key ---------------------------------------------------------------------------


def test_idempotency_keys_parse_as_sf_strings_or_tokens():
    assert parse_key('"8e03978e-40d5-43e8-bc93-6894a57f9324"') == "8e03978e-40d5-43e8-bc93-6894a57f9324"
    assert parse_key("abc-123") == "abc-123"
    for bad in (None, "", "   ", "x" * 256, "two words", '"'):
        with pytest.raises(Problem) as caught:
            parse_key(bad)
        assert caught.value.status == 400


# --- keys --------------------------------------------------------------------------------------


def test_key_ring_encrypts_with_the_first_key_and_rotates():
    old, new = Fernet.generate_key(), Fernet.generate_key()
    before = KeyRing([old])
    token = before.encrypt("+16135550123")
    assert b"6135550123" not in token
    both = KeyRing([new, old])
    assert both.decrypt(token) == "+16135550123" and not both.is_current(token)
    rotated = both.rotate(token)
    assert both.is_current(rotated) and KeyRing([new]).decrypt(rotated) == "+16135550123"
    with pytest.raises(KeyRingError):
        KeyRing([new]).decrypt(token)
    # Request hashes made with the old key still match after a rotation.
    assert both.request_hash_matches(b"body", before.request_hash(b"body"))
    assert not KeyRing([new]).request_hash_matches(b"body", before.request_hash(b"body"))


def test_key_file_is_created_0600_and_never_overwritten(tmp_path):
    path = tmp_path / "keys" / "handoff-fernet.keys"
    _create_key_file(path)
    first = path.read_text()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    _create_key_file(path)
    assert path.read_text() == first
    assert len(_parse_keys(first, str(path))) == 1
    with pytest.raises(KeyRingError):
        _parse_keys("not-a-key", "FIELDNAV_HANDOFF_KEYS")


# --- webhooks ----------------------------------------------------------------------------------


def test_signatures_verify_and_expire():
    secret, body, now = b"whsec", b'{"id":"1"}', int(time.time())
    header = signature(secret, now, body)
    assert header.startswith(f"t={now},v1=")
    assert verify_signature(secret, header, body)
    assert not verify_signature(b"other", header, body)
    assert not verify_signature(secret, header, body + b" ")
    assert not verify_signature(secret, signature(secret, now - 3600, body), body)


def test_backoff_doubles_with_jitter_up_to_the_cap():
    rng = random.Random(7)
    for attempts in range(1, 12):
        step = min(60.0, 2.0 * 2 ** (attempts - 1))
        delays = [backoff_s(attempts, 2.0, 60.0, rng) for _ in range(50)]
        assert all(step / 2 <= d <= step for d in delays)
        assert len(set(delays)) > 1  # jittered
