"""Property-based contract tests: every operation of mobile_api_spec/openapi.yaml, over real HTTP,
against `fieldnav serve` on a real PostGIS holding demo data, once per role with a valid token.

Schemathesis generates requests from the committed spec (its examples, boundary values, then
valid and invalid data) and checks every answer: no 5xx, a documented status code, a documented
content type, documented headers, a body matching its schema, invalid input refused with a 4xx,
a missing or bad token refused, and `Allow` on 405 naming the path's methods. The example count
per operation is bounded and the seed fixed, so a run is quick and repeatable.

Ids that exist (handoffs, an offline pack, services) are mixed into the generated path parameters
(`before_generate_path_parameters`), so those operations reach their real answers, not only 404.
The file also checks byte-range answers, and that every problem type the code raises is in the
spec's catalogue.
"""

from __future__ import annotations

import ast
import re
import uuid
from datetime import timedelta

import httpx
import pytest
import schemathesis
import yaml
from hypothesis import strategies as st

from service.auth.principal import Role
from service.auth.tokens import create_token
from tests.browser.basemap import write_basemap
from tests.conftest import PROJECT_ROOT, TEST_SERVER_ENV
from tests.test_handoffs_support import (
    DEFAULT_CENTRE, HANDOFF_ENV, TORONTO, handoff_body, load_test_centres, start_server, stop_server,
)

SPEC_PATH = PROJECT_ROOT / "mobile_api_spec" / "openapi.yaml"

# Generated examples per operation (the fuzzing phase; the examples and coverage phases add their
# own): enough to reach the documented answers of this API, few enough that the file runs in
# about a minute (four roles, 32 operations).
MAX_EXAMPLES = 20

CONFIG = schemathesis.Config.from_dict({
    "seed": 20261125,  # fixed: the same requests on every run
    "generation": {"max-examples": MAX_EXAMPLES, "database": "none"},
    "checks": {
        # Every other built-in check runs. This one expects any schema-valid request to succeed, but
        # part of what the API validates cannot be said in JSON Schema, and the spec documents each
        # such refusal as a 4xx problem instead: opaque cursors (sync, queue, handoff lists) that
        # must be ones the server issued, cross-field rules (a pack's `bbox` xor `h3_cells`,
        # min < max in a bbox, `since` <= `until`), size caps computed from the request (a pack's
        # tile count, a search area), category codes read from a data file, and H3 cell validity.
        "positive_data_acceptance": {"enabled": False},
    },
})
schema = schemathesis.openapi.from_path(SPEC_PATH, config=CONFIG)

# The roles of service/auth/principal.py, each with the agency it acts for: the field worker and
# supervisor of the agency that made the seeded handoffs, a navigator of the centre they went to.
ROLES = {
    Role.FIELD_WORKER: ("agency-a", "worker-1"),
    Role.SUPERVISOR: ("agency-a", "supervisor-1"),
    Role.NAVIGATOR: (DEFAULT_CENTRE, "nav-1"),
    Role.ADMIN: ("fieldnav-ops", "admin-1"),
}

SERVER_ENV = {
    **TEST_SERVER_ENV,
    **HANDOFF_ENV,
    # HANDOFF_ENV closes directory reads; reopen them as in the other tests (their operations
    # document the token as optional, and each role's token is sent all the same).
    "FIELDNAV_AUTH_PUBLIC_READS": TEST_SERVER_ENV["FIELDNAV_AUTH_PUBLIC_READS"],
    # Offline packs count against a stricter limit (10 a minute): lift it, as the general one.
    "FIELDNAV_LIMIT_EXPENSIVE_PER_MIN": "1000000",
    # Small packs keep generated builds quick; larger requests get the documented 422.
    "FIELDNAV_PACKS_MAX_TILES": "300",
}

# Ids that exist, by path parameter name (filled by the `seeded` fixture, read while generating).
KNOWN: dict[str, list[str]] = {"handoff_id": [], "service_id": [], "pack_id": []}


@pytest.fixture(scope="module")
def contract_database_url(demo_database_url, tmp_path_factory):
    """The module's own copy of the demo directory, with navigator centres loaded: the run
    creates handoffs, packs and notes, which no other test expects to see."""
    load_test_centres(demo_database_url, tmp_path_factory.mktemp("centres"))
    return demo_database_url


@pytest.fixture(scope="module")
def contract_server(contract_database_url, tmp_path_factory):
    basemap = tmp_path_factory.mktemp("basemap") / "toronto.pmtiles"
    write_basemap(basemap, zooms=range(8, 13))
    env = {**SERVER_ENV, "FIELDNAV_PACKS_DIR": str(tmp_path_factory.mktemp("packs")),
           "FIELDNAV_BASEMAP_PMTILES": str(basemap)}
    server = start_server(contract_database_url, env=env)
    yield server
    output = stop_server(server)
    assert "Traceback" not in output, output[-4000:]


def _token(role: Role) -> str:
    agency, subject = ROLES[role]
    return create_token(agency=agency, role=role, subject=subject, ttl=timedelta(hours=2))[0]


@pytest.fixture(scope="module")
def tokens() -> dict[Role, str]:
    return {role: _token(role) for role in ROLES}


@pytest.fixture(scope="module")
def seeded(contract_server, tokens) -> None:
    """Handoffs made by the field worker (routed to the navigator's centre), an offline pack,
    and a few services' ids, for the generated requests to find."""
    worker = {"Authorization": f"Bearer {tokens[Role.FIELD_WORKER]}"}
    with httpx.Client(base_url=contract_server.base_url, timeout=30, headers=worker) as http:
        for urgency in ("routine", "urgent", "routine"):
            response = http.post("/v1/handoffs", json=handoff_body(urgency=urgency, location=TORONTO),
                                 headers={"Idempotency-Key": str(uuid.uuid4())})
            assert response.status_code == 201, response.text
            KNOWN["handoff_id"].append(response.json()["id"])
        pack = http.post("/v1/offline/packs", json={"bbox": [-79.40, 43.64, -79.37, 43.66], "min_zoom": 10, "max_zoom": 12})
        assert pack.status_code in (200, 201), pack.text
        KNOWN["pack_id"].append(pack.json()["id"])
        services = http.get("/v1/services", params={"near": "43.65,-79.38", "per_page": 5})
        assert services.status_code == 200, services.text
        KNOWN["service_id"].extend(item["service_id"] for item in services.json()["contents"])
    assert all(KNOWN.values()), KNOWN


@schema.hook
def before_generate_path_parameters(context, strategy):
    """Half the ids in paths are ones that exist (the rest: generated, mostly 404)."""
    operation = context.operation
    names = [name for name in KNOWN if operation is not None and f"{{{name}}}" in operation.path]
    if not names:
        return strategy
    name = names[0]
    known = st.deferred(lambda: st.sampled_from(KNOWN[name] or [str(uuid.uuid4())]))
    return st.one_of(strategy, st.fixed_dictionaries({name: known}))


@pytest.mark.parametrize("role", list(ROLES), ids=[r.value for r in ROLES])
@schema.parametrize()
def test_every_operation_keeps_the_contract(case, role, tokens, contract_server, seeded):
    # The role's token, except in the cases that test a missing or malformed Authorization header.
    negated = case.operation.schema.is_security_param_negated(case)
    headers = {} if negated else {"Authorization": f"Bearer {tokens[role]}"}
    case.call_and_validate(base_url=contract_server.base_url, headers=headers, timeout=30)


# Byte ranges are request headers the generated cases rarely make interesting: each answer here is
# still checked against the spec by schemathesis (status, content type, headers, body).
RANGES = [("bytes=0-99", 206), ("bytes=0-9,20-29", 206), ("bytes=999999999-", 416), ("bytes=oops", 200), ("pages=1-2", 200)]


@pytest.mark.parametrize("path", ["/v1/offline/packs/{pack_id}.pmtiles", "/v1/offline/packs/{pack_id}/basemap.pmtiles"])
@pytest.mark.parametrize(("range_header", "status"), RANGES, ids=[r for r, _ in RANGES])
def test_byte_ranges_and_their_refusals_keep_the_contract(path, range_header, status, tokens, contract_server, seeded):
    case = schema[path]["GET"].Case(path_parameters={"pack_id": KNOWN["pack_id"][0]}, headers={"Range": range_header})
    response = case.call(base_url=contract_server.base_url, headers={"Authorization": f"Bearer {tokens[Role.FIELD_WORKER]}"})
    assert response.status_code == status, response.text
    case.validate_response(response)
    if status == 416:  # a problem document that says how large the file is
        assert response.headers["content-type"] == ["application/problem+json"]
        assert response.json()["type"].endswith("/range-not-satisfiable")
        assert response.headers["content-range"][0].startswith("bytes */")


def _raised_problem_types() -> dict[str, str]:
    """Every problem type slug the code can answer with: literal slugs passed to Problem(...),
    problem_response(...), the middleware's _problem(...) and problem_type(...), the status
    slugs of service/api/errors.py, and the handoff transition refusals."""
    from service.api.errors import _STATUS_SLUGS
    from service.handoffs.transitions import Refusal

    found = {slug: "service/api/errors.py" for slug in _STATUS_SLUGS.values()}
    found |= {refusal.value: "service/handoffs/transitions.py" for refusal in Refusal}
    for path in (PROJECT_ROOT / "service").rglob("*.py"):
        if "importer" in path.parts:  # the importer's Problem is a report line, not an HTTP answer
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name not in ("Problem", "problem_response", "_problem", "problem_type"):
                continue
            literals = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            if literals and re.fullmatch(r"[a-z][a-z0-9-]*", literals[0]):
                found.setdefault(literals[0], str(path.relative_to(PROJECT_ROOT)))
    return found


def test_every_problem_type_the_code_raises_is_in_the_spec():
    from service.problems import PROBLEM_TYPES

    raised = _raised_problem_types()
    assert {"unauthorized", "not-found", "pack-too-large", "idempotency-key-missing", "cursor-expired"} <= set(raised)
    undocumented = {slug: where for slug, where in raised.items() if slug not in PROBLEM_TYPES}
    assert not undocumented, f"add these problem types to service/problems.py, then `make spec`: {undocumented}"
    spec = yaml.safe_load(SPEC_PATH.read_text())
    documented = spec["components"]["schemas"]["Problem"]["properties"]["type"]["enum"]
    assert {uri.rsplit("/", 1)[1] for uri in documented} == set(PROBLEM_TYPES)
    # Every problem response of every operation refers to the Problem schema and shows its types.
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                if int(status) < 400 or not response.get("content"):
                    continue
                problem = response["content"]["application/problem+json"]
                assert problem["schema"] == {"$ref": "#/components/schemas/Problem"}, (method, path, status)
                assert problem.get("examples"), f"{method.upper()} {path} {status}: no problem type example"
