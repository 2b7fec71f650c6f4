"""The OpenAPI document the app serves, which must equal mobile_api_spec/openapi.yaml
(tests/test_openapi_contract.py). Shared pieces (the Problem schema) are added here."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from service.api.errors import PROBLEM_BASE

PROBLEM_SCHEMA = {
    "title": "Problem",
    "description": "RFC 9457 problem details. Branch on `type`; `detail` is for people.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": f"Stable problem type URI, starting with {PROBLEM_BASE}",
                 "examples": [PROBLEM_BASE + "validation-error"]},
        "title": {"type": "string", "examples": ["Invalid request"]},
        "status": {"type": "integer", "examples": [422]},
        "detail": {"type": "string", "examples": ["query.lat: Input should be less than or equal to 90"]},
        "instance": {"type": "string", "examples": ["/v1/services/nearest"]},
        "errors": {
            "type": "array",
            "description": "For validation errors: one entry per bad field.",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}


def custom_openapi(app: FastAPI) -> dict:
    if app.openapi_schema:
        return app.openapi_schema
    document = get_openapi(
        title=app.title, version=app.version, summary=app.summary, routes=app.routes,
        description="The contract the fieldnav mobile app is built against. See mobile_api_spec/README.md.",
    )
    document.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    # FastAPI documents its own 422 shape; ours is the Problem document above.
    schemas = document["components"]["schemas"]
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            response = operation.get("responses", {}).get("422")
            if response is not None:
                response["content"] = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    app.openapi_schema = document
    return document
