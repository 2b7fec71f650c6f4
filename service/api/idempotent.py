"""Idempotent writes over HTTP (service/platform/idempotency.py): the ``Idempotency-Key`` header as
routes read and document it, and the answer to give, first time or replayed."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated

import orjson
from fastapi import Header, Request
from sqlalchemy import Connection, Engine

from service.api.errors import problem_responses
from service.api.responses import NO_STORE, RawJSONResponse
from service.auth.principal import Principal
from service.platform import idempotency
from service.platform.problems import PROBLEM_TYPES

# Read here, enforced by idempotency.parse_key (400 when missing, not FastAPI's 422), and
# documented as required through IDEMPOTENCY_KEY_DOC.
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", include_in_schema=False)]
IDEMPOTENCY_KEY_DOC = {
    "parameters": [
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": True,
            "description": "A fresh value (a UUID) per user action, sent again unchanged on every retry of it "
            "(IETF draft-ietf-httpapi-idempotency-key-header): 1 to 255 visible ASCII characters other "
            'than `"`, optionally in double quotes (a structured-field string). Scoped to the caller; kept '
            "24 h (FIELDNAV_HANDOFF_IDEMPOTENCY_TTL_H). Missing: 400 `idempotency-key-missing`; malformed: "
            "400 `idempotency-key-invalid`.",
            "schema": {
                "type": "string",
                "pattern": r'^(?:"[!#-~]{1,255}"|[!#-~]{1,255})$',
                "examples": ["8e03978e-40d5-43e8-bc93-6894a57f9324"],
            },
            "example": "8e03978e-40d5-43e8-bc93-6894a57f9324",
        }
    ]
}


def idempotent_responses(*types: str) -> dict:
    """The answers of a POST with an Idempotency-Key, plus the operation's own problem `types`."""
    problems = problem_responses(
        400,
        409,
        422,
        types=(
            "idempotency-key-missing",
            "idempotency-key-invalid",
            "request-in-progress",
            "idempotency-key-reused",
            *(t for t in types if PROBLEM_TYPES[t].status in (400, 409, 422)),
        ),
    )
    return {
        400: problems[400] | {"description": "Idempotency-Key missing or malformed"},
        409: problems[409]
        | {
            "description": "A request with this key is still in flight (Retry-After: 1), "
            "or the change conflicts with the current state"
        },
        422: problems[422] | {"description": "Invalid body, or this key was used for another request"},
        **problem_responses(
            401,
            403,
            404,
            429,
            503,
            types=tuple(t for t in types if PROBLEM_TYPES[t].status in (401, 403, 404, 429, 503)),
        ),
    }


def run_once(
    request: Request,
    engine: Engine,
    principal: Principal,
    key_header: str | None,
    body: dict | None,
    work: Callable[[Connection], tuple[int, dict, dict]],
) -> idempotency.Outcome:
    """Run ``work`` (``(status, content, headers)``, in one transaction) once per caller and
    key; a retry gets the stored answer."""
    key = idempotency.parse_key(key_header)
    material = idempotency.request_material(request.method, request.url.path, body)

    def stored(connection: Connection) -> idempotency.StoredResponse:
        status, content, headers = work(connection)
        return idempotency.StoredResponse(status, orjson.dumps(content), headers)

    return idempotency.run(engine, principal.key, key, material, stored)


def outcome_response(outcome: idempotency.Outcome, cache_control: str = "no-store") -> RawJSONResponse:
    headers = {**outcome.response.headers, "Cache-Control": cache_control}
    if outcome.replayed:
        headers["Idempotent-Replayed"] = "true"
    return RawJSONResponse(outcome.response.body, status_code=outcome.response.status, headers=headers)


def idempotent_post(
    request: Request,
    engine: Engine,
    principal: Principal,
    key_header: str | None,
    body: dict | None,
    work: Callable[[Connection], tuple[int, dict, dict]],
    *,
    log: logging.Logger,
    subject: str,
    action: str,
) -> RawJSONResponse:
    """Run ``work`` once per (caller, Idempotency-Key) and answer with its response (no-store),
    or the stored one on a retry (``Idempotent-Replayed: true``). Logs ``{subject} {id}
    {action}: status ...`` (event ``{subject}.{action}``), the id being the answer's
    ``{subject}_id`` or ``id``: ids and statuses only, never bodies, phone numbers, names or notes."""
    outcome = run_once(request, engine, principal, key_header, body, work)
    content = orjson.loads(outcome.response.body)
    resource_id = content.get(f"{subject}_id") or content.get("id")
    log.info(
        "%s %s %s: status %s%s",
        subject,
        resource_id,
        action,
        content.get("status", "-"),
        " (replayed)" if outcome.replayed else "",
        extra={f"{subject}_id": resource_id, "event": f"{subject}.{action}"},
    )
    return outcome_response(outcome, NO_STORE)
