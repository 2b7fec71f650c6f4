"""Write the app's OpenAPI document as YAML: `python -m service.api.spec > mobile_api_spec/openapi.yaml`.

The committed file is the mobile contract; tests/test_openapi_contract.py fails when the
app and the file disagree, so regenerate it (and review the diff) when an endpoint changes.
"""

from __future__ import annotations

import sys

import yaml
from sqlalchemy import create_engine

from service.api.app import create_app

HEADER = "# The fieldnav mobile API contract. Generated from the app by `python -m service.api.spec`;\n# tests/test_openapi_contract.py keeps the two equal.\n"


def openapi_document() -> dict:
    # The document does not depend on the database; an engine that never connects will do.
    app = create_app(engine=create_engine("postgresql+psycopg://spec@localhost/spec"))
    return app.openapi()


def to_yaml(document: dict) -> str:
    return HEADER + yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)


if __name__ == "__main__":
    sys.stdout.write(to_yaml(openapi_document()))
