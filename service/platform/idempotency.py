"""Idempotency-Key for POSTs, per the IETF httpapi draft (draft-ietf-httpapi-idempotency-key-header).

- The key is required (400 without) and scoped to the caller (``Principal.key``): two
  users may pick the same key without meeting.
- First use: the key is inserted as *in flight* in its own short transaction (INSERT ... ON
  CONFLICT DO NOTHING, so exactly one request wins), then the work runs in one transaction
  that also stores the response and marks the key *done*. Either both happen or neither.
- Retry with the same key and the same request: the stored response is replayed (same
  status, same body, ``Idempotent-Replayed: true``).
- Same key, another request (other body or other endpoint): 422.
- Same key while the first request is still running: 409 with ``Retry-After: 1``.
- A request that fails (a problem, an error) releases its key, so a retry runs again.
- An in-flight key older than ``IN_FLIGHT_LEASE_S`` belongs to a request that died: it may be
  taken over. The work commits only while it still holds its lock token, so a slow request
  that lost its lease rolls back instead of creating a duplicate.
- Keys and their responses are kept ``FIELDNAV_HANDOFF_IDEMPOTENCY_TTL_H`` hours (default
  24); ``fieldnav purge`` deletes expired ones, and an expired key may be used afresh.

Stored responses never contain personal data (the handoff responses are built that way),
and the request is kept only as a keyed hash (HMAC with the handoff key ring).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson
from sqlalchemy import Connection, Engine, text

from service.handoffs.crypto import key_ring
from service.platform.problems import Problem
from service.platform.settings import handoff_settings

log = logging.getLogger("fieldnav.handoffs")

IN_FLIGHT_LEASE_S = 60
_KEY = re.compile(r"^[\x21\x23-\x7e]{1,255}$")  # visible ASCII except '"'
DOCS = "https://datatracker.ietf.org/doc/draft-ietf-httpapi-idempotency-key-header/"


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    response: StoredResponse
    replayed: bool


def parse_key(header: str | None) -> str:
    """The key from an ``Idempotency-Key`` header (an sf-string: quoted; a bare token is
    accepted too), or 400."""
    if header is None or not header.strip():
        raise Problem(
            400,
            "idempotency-key-missing",
            "This request needs an Idempotency-Key header (a fresh UUID per user action, reused on retries).",
            title="Idempotency-Key missing",
            title_fr="En-tête Idempotency-Key manquant",
            headers={"Link": f'<{DOCS}>; rel="describedby"'},
        )
    value = header.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    if not _KEY.match(value):
        raise Problem(
            400,
            "idempotency-key-invalid",
            "Idempotency-Key must be 1 to 255 visible ASCII characters.",
            title="Idempotency-Key invalid",
            title_fr="En-tête Idempotency-Key non valide",
        )
    return value


def request_material(method: str, path: str, body: dict | None) -> bytes:
    """What identifies "the same request": method, path and the body as canonical JSON."""
    return method.encode() + b" " + path.encode() + b"\n" + orjson.dumps(body, option=orjson.OPT_SORT_KEYS)


_CLAIM = text("""
    INSERT INTO handoff_idempotency (principal_key, idempotency_key, request_hash, state, lock_token, started_at, expires_at)
    VALUES (:principal, :key, :hash, 'in_flight', :token, now(), now() + make_interval(secs => :ttl_s))
    ON CONFLICT DO NOTHING
    RETURNING 1
""")
_EXISTING = text("""
    SELECT request_hash, state, response_status, response_headers, response_body,
           expires_at < now() AS expired, started_at < now() - make_interval(secs => :lease_s) AS abandoned
    FROM handoff_idempotency WHERE principal_key = :principal AND idempotency_key = :key
""")
_TAKE_OVER = text("""
    UPDATE handoff_idempotency
    SET request_hash = :hash, state = 'in_flight', lock_token = :token, started_at = now(),
        expires_at = now() + make_interval(secs => :ttl_s),
        response_status = NULL, response_headers = NULL, response_body = NULL
    WHERE principal_key = :principal AND idempotency_key = :key
      AND (expires_at < now() OR (state = 'in_flight' AND started_at < now() - make_interval(secs => :lease_s)))
    RETURNING 1
""")
_COMPLETE = text("""
    UPDATE handoff_idempotency
    SET state = 'done', response_status = :status, response_headers = CAST(:headers AS jsonb), response_body = :body
    WHERE principal_key = :principal AND idempotency_key = :key AND lock_token = :token AND state = 'in_flight'
""")
_RELEASE = text("""
    DELETE FROM handoff_idempotency
    WHERE principal_key = :principal AND idempotency_key = :key AND lock_token = :token AND state = 'in_flight'
""")


def _in_flight() -> Problem:
    return Problem(
        409,
        "request-in-progress",
        "A request with this Idempotency-Key is still being processed; retry shortly for its response.",
        title="Request in progress",
        title_fr="Requête en cours",
        headers={"Retry-After": "1"},
    )


def _reused() -> Problem:
    return Problem(
        422,
        "idempotency-key-reused",
        "This Idempotency-Key was already used for a different request; use a new key for a new action.",
        title="Idempotency-Key reused",
        title_fr="Clé Idempotency-Key déjà utilisée",
    )


class _LostLease(Exception):
    pass


def _claim(engine: Engine, params: dict, material: bytes) -> StoredResponse | None:
    """None when this request now holds the key; a stored response to replay; or a problem."""
    with engine.begin() as connection:
        if connection.execute(_CLAIM, params).first():
            return None
        existing = connection.execute(_EXISTING, params).first()
        if existing is None:  # deleted (released or purged) between the two statements
            raise _in_flight()
        if existing.expired or (existing.state == "in_flight" and existing.abandoned):
            if connection.execute(_TAKE_OVER, params).first():
                return None
            raise _in_flight()
        if not key_ring().request_hash_matches(material, existing.request_hash):
            raise _reused()
        if existing.state == "in_flight":
            raise _in_flight()
        return StoredResponse(
            existing.response_status, existing.response_body.encode(), dict(existing.response_headers or {})
        )


def run(
    engine: Engine, principal_key: str, key: str, material: bytes, work: Callable[[Connection], StoredResponse]
) -> Outcome:
    """Run ``work`` once per (caller, key): see the module docstring."""
    params = {
        "principal": principal_key,
        "key": key,
        "hash": key_ring().request_hash(material),
        "token": uuid.uuid4(),
        "ttl_s": handoff_settings().idempotency_ttl_h * 3600,
        "lease_s": IN_FLIGHT_LEASE_S,
    }
    stored = _claim(engine, params, material)
    if stored is not None:
        return Outcome(stored, replayed=True)
    try:
        with engine.begin() as connection:
            response = work(connection)
            done = connection.execute(
                _COMPLETE,
                {
                    **params,
                    "status": response.status,
                    "body": response.body.decode(),
                    "headers": orjson.dumps(response.headers).decode(),
                },
            ).rowcount
            if done != 1:
                raise _LostLease
    except _LostLease:
        raise _in_flight() from None
    except BaseException:
        _release(engine, params)
        raise
    return Outcome(response, replayed=False)


def _release(engine: Engine, params: dict) -> None:
    try:
        with engine.begin() as connection:
            connection.execute(_RELEASE, params)
    except Exception:  # noqa: BLE001 - the original failure matters more; the lease frees the key later
        log.warning("could not release an idempotency key; it frees itself after %s s", IN_FLIGHT_LEASE_S)


def delete_expired(connection: Connection) -> int:
    return connection.execute(text("DELETE FROM handoff_idempotency WHERE expires_at < now()")).rowcount
