"""The OpenAPI document the app serves, which must equal mobile_api_spec/openapi.yaml
(tests/test_openapi_contract.py). Shared pieces are added here, for every operation alike:

- the Problem schema, with the catalogue of problem types (service/platform/problems.py), and one
  example of each type (components.examples, which problem responses refer to);
- the bearer token scheme, and each operation's `security` from the access policy table
  (service/api/policies.py): optional on directory reads (FIELDNAV_AUTH_PUBLIC_READS);
- the answers the middleware and the access check give on any route: 400 for a query string,
  a path or a body that cannot be read, 413 for a body over the cap, 401/403/429/503 from the
  access check;
- the `If-None-Match` header (and `ETag`) where an operation answers 304, `Range` and `If-Range`
  where it answers 206.
"""

from __future__ import annotations

import json

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from service.api.errors import PROBLEM_BASE, problem_example, problem_responses, problem_type
from service.api.policies import ALL_ROLES, policy_for
from service.platform.problems import PROBLEM_TYPES

BEARER = "bearerAuth"
SECURITY_SCHEMES = {
    BEARER: {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "An EdDSA-signed token from `fieldnav token create`, or an RS256/ES256 token from an agency "
        "identity provider fieldnav trusts (FIELDNAV_AUTH_ISSUERS_FILE). Its `role` claim "
        "(field_worker, supervisor, navigator, admin) decides what it may call. A bad, expired or "
        "revoked token gets 401 `unauthorized` and learns nothing more.",
    },
}


def _catalogue() -> str:
    rows = "\n".join(f"| `{t.slug}` | {t.status} | {t.meaning} |" for t in PROBLEM_TYPES.values())
    return (
        "RFC 9457 problem details. Branch on `type` (and `errors[].code`); `title`, `detail` and `errors[].message` "
        "are for people, in the request's language: English, or French for `Accept-Language: fr` (fr-CA, fr-FR...; "
        "q-values honoured). `Content-Language` says which; `type`, `status`, `instance`, field names and codes "
        "are the same in both.\n\n"
        f"Every type starts with `{PROBLEM_BASE}`:\n\n| type | status | meaning |\n|---|---|---|\n{rows}\n"
    )


PROBLEM_SCHEMA = {
    "title": "Problem",
    "description": _catalogue(),
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {
            "type": "string",
            "description": "Stable problem type URI (the table above).",
            "enum": [problem_type(slug) for slug in PROBLEM_TYPES],
            "examples": [problem_type("validation-error")],
        },
        "title": {"type": "string", "examples": ["Invalid request"]},
        "status": {"type": "integer", "minimum": 400, "maximum": 599, "examples": [422]},
        "detail": {"type": "string", "examples": ["query.lat: The value must be 90 or less."]},
        "instance": {"type": "string", "description": "The path of the request.", "examples": ["/v1/services/nearest"]},
        "errors": {
            "type": "array",
            "description": "For validation errors: one entry per bad field, to show its `message` beside that field.",
            "items": {
                "type": "object",
                "required": ["field", "code", "message"],
                "properties": {
                    "field": {
                        "type": "string",
                        "description": "Where: `query.`, `path.` or `body.` and the field's path.",
                        "examples": ["body.contact.phone"],
                    },
                    "code": {
                        "type": "string",
                        "description": "What is wrong, stable across languages: a pydantic error "
                        "type (`missing`, `less_than_equal`, ...) or fieldnav's own (`phone_invalid`, ...).",
                        "examples": ["phone_invalid"],
                    },
                    "message": {
                        "type": "string",
                        "description": "What to do, in the request's language.",
                        "examples": [
                            (
                                "This is not a valid phone number. Check the digits, or leave it empty "
                                "for an anonymous handoff."
                            )
                        ],
                    },
                },
            },
        },
        "current_status": {
            "type": "string",
            "description": "Handoff transition refusals: the handoff's status now.",
            "examples": ["requested"],
        },
    },
}
FASTAPI_422_REF = {"$ref": "#/components/schemas/HTTPValidationError"}

# What the middleware and the access check answer on any operation (see the module docstring).
_ANY_QUERY = {"description": "The query string is not UTF-8 or holds a NUL character"}
_ANY_PATH = {"description": "The path holds a NUL character"}
_ANY_BODY = {"description": "The body is larger than FIELDNAV_LIMIT_MAX_BODY_BYTES"}
_BAD_BODY = {"description": "The body cannot be read as JSON text (UTF-8)"}
_AUTH = {
    401: {"description": "No bearer token, or an invalid, expired or revoked one"},
    403: {"description": "The caller's role may not do this"},
    429: {"description": "Too many requests; wait Retry-After seconds"},
}
# Conditional and range requests, on the operations that answer 304 or 206.
_IF_NONE_MATCH = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "description": "The `ETag` of the copy the client holds: 304 with no body when it is still current.",
    "schema": {"type": "string", "examples": ['W/"6f1c2b9e0d4a4f5e9b1a3c2d1e0f9a8b"']},
}
_RANGE = {
    "name": "Range",
    "in": "header",
    "required": False,
    "description": "Byte range(s) to read (RFC 9110): 206 with those bytes. A malformed range is ignored (200).",
    "schema": {"type": "string", "examples": ["bytes=0-16383"]},
}
_IF_RANGE = {
    "name": "If-Range",
    "in": "header",
    "required": False,
    "description": "Honour `Range` only while the file still has this `ETag`; otherwise the whole file, 200.",
    "schema": {"type": "string", "examples": ['"9f2c4e6a8b0d1f3e5a7c9b1d3f5e7a9c0b2d4f6e8a0c2e4f6a8b0d2f4e6a8c0b"']},
}
_ETAG = {
    "ETag": {
        "description": "Identifies this version of the content; send it back as `If-None-Match`.",
        "schema": {"type": "string"},
    }
}
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again.", "schema": {"type": "integer"}}}


def _add(responses: dict, status: int, extra: dict) -> None:
    """Document a problem response the operation does not document itself (its own wins)."""
    key = str(status)
    if key not in responses:
        responses[key] = problem_responses(status)[status] | extra


def _add_parameter(operation: dict, parameter: dict) -> None:
    parameters = operation.setdefault("parameters", [])
    if not any(p.get("name", "").lower() == parameter["name"].lower() and p.get("in") == "header" for p in parameters):
        parameters.append(dict(parameter))


def _common_answers(path: str, method: str, operation: dict) -> None:
    responses = operation.setdefault("responses", {})
    if "304" in responses:
        _add_parameter(operation, _IF_NONE_MATCH)
        if "200" in responses:
            responses["200"].setdefault("headers", {}).update(_ETAG)
    if "206" in responses:
        _add_parameter(operation, _RANGE)
        _add_parameter(operation, _IF_RANGE)
    if any(p.get("in") == "query" for p in operation.get("parameters", [])):
        _add(responses, 400, _ANY_QUERY)
    if any(p.get("in") == "path" for p in operation.get("parameters", [])):
        _add(responses, 400, _ANY_PATH)
    if "requestBody" in operation:
        _add(responses, 400, _BAD_BODY)
        _add(responses, 413, _ANY_BODY)
    policy = policy_for(method.upper(), path)
    if policy is not None and policy.roles is not None:
        # Directory reads need no token where FIELDNAV_AUTH_PUBLIC_READS opens them.
        operation["security"] = [{BEARER: []}, {}] if policy.directory_read else [{BEARER: []}]
        _add(responses, 401, _AUTH[401])
        if policy.roles != ALL_ROLES:
            _add(responses, 403, _AUTH[403])
        _add(responses, 429, _AUTH[429])
        # Every such operation reads the database (the revocation check at least).
        _add(responses, 503, {})
    for status in ("429", "503"):
        if status in responses:
            responses[status].setdefault("headers", _RETRY_AFTER)
    response_422 = responses.get("422")
    if (
        response_422 is not None
        and response_422.get("content", {}).get("application/json", {}).get("schema") == FASTAPI_422_REF
    ):
        # FastAPI documents its own 422 shape; ours is the Problem document.
        responses["422"] = problem_responses(422)[422]
    operation["responses"] = dict(sorted(responses.items(), key=lambda item: item[0]))


def custom_openapi(app: FastAPI) -> dict:
    if app.openapi_schema:
        return app.openapi_schema
    document = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        routes=app.routes,
        description="The contract the fieldnav mobile app is built against. See mobile_api_spec/README.md.",
    )
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    components["examples"] = {slug: problem_example(slug) for slug in PROBLEM_TYPES}
    components["securitySchemes"] = SECURITY_SCHEMES
    for path, path_item in document.get("paths", {}).items():
        for method, operation in path_item.items():
            _common_answers(path, method, operation)
    # No shared objects: the YAML of the contract then holds no anchors and aliases.
    document = json.loads(json.dumps(document))
    app.openapi_schema = document
    return document
