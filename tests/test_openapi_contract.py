"""The committed contract (mobile_api_spec/openapi.yaml) and the app must agree exactly."""

from __future__ import annotations

from pathlib import Path

import yaml
from openapi_spec_validator import validate

from service.api.spec import openapi_document

SPEC_PATH = Path(__file__).resolve().parent.parent / "mobile_api_spec" / "openapi.yaml"


def _normalise(document: dict) -> dict:
    # YAML and the app's dict differ only in key types (response codes); compare as YAML.
    return yaml.safe_load(yaml.safe_dump(document))


def test_committed_spec_is_valid_openapi():
    validate(yaml.safe_load(SPEC_PATH.read_text()))


def test_app_and_committed_spec_agree():
    committed = yaml.safe_load(SPEC_PATH.read_text())
    generated = _normalise(openapi_document())
    assert set(generated["paths"]) == set(committed["paths"]), "paths differ: run `make spec` and review"
    for path, item in generated["paths"].items():
        for method, operation in item.items():
            theirs = committed["paths"][path].get(method)
            assert theirs is not None, f"{method.upper()} {path} is missing from the spec"
            assert operation.get("parameters") == theirs.get("parameters"), (
                f"parameters of {method.upper()} {path} differ"
            )
            assert operation.get("requestBody") == theirs.get("requestBody"), f"body of {method.upper()} {path} differs"
            assert operation["responses"] == theirs["responses"], f"responses of {method.upper()} {path} differ"
    assert generated["components"]["schemas"] == committed["components"]["schemas"], "schemas differ"
    assert generated == committed, "the spec differs from the app in docs; run `make spec`"
