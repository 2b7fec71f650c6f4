"""Property-based contract tests: every operation of mobile_api_spec/openapi.yaml, over real HTTP,
against `fieldnav serve` on a real PostGIS holding demo data, once per role with a valid token.

Schemathesis generates requests from the committed spec (its examples, boundary values, then
valid and invalid data) and checks every answer: no 5xx, a documented status code, a documented
content type, documented headers, a body matching its schema, invalid input refused with a 4xx,
a missing or bad token refused, and `Allow` on 405 naming the path's methods. The example count
per operation is bounded and the seed fixed, so a run is quick and repeatable.

Ids that exist (handoffs, an offline pack, services) are mixed into the generated path parameters
(`before_generate_path_parameters`), so those operations reach their real answers, not only 404.

Hostile values the schema cannot describe (issue 15) are mixed into a quarter of the generated
requests (`flatmap_query`, `flatmap_body`, `flatmap_path_parameters`): tampered cursors (base64 JSON
of the wrong shape or types), H3 ids that overflow (`-1`, twenty hex digits), dates and times at
the ends of the calendar, and a NUL in any string (query parameters, path parameters, every string
and key of a JSON body). `test_hostile_values_in_every_field_keep_the_contract` then tries each
class on every field of every operation once, deterministically, and checks the exact refusal.
The file also checks byte-range answers, and that every problem type the code raises is in the
spec's catalogue.
"""

from __future__ import annotations

import ast
import base64
import re
import uuid
from datetime import date, timedelta

import httpx
import orjson
import pytest
import schemathesis
import yaml
from hypothesis import strategies as st

from service.auth.principal import Role
from service.auth.tokens import create_token
from tests.browser.basemap import write_basemap
from tests.support import PROJECT_ROOT
from tests.support.handoffs import DEFAULT_CENTRE, HANDOFF_ENV, TORONTO, handoff_body, load_test_centres
from tests.support.servers import TEST_SERVER_ENV, start_server, stop_server

SPEC_PATH = PROJECT_ROOT / "mobile_api_spec" / "openapi.yaml"

# Generated examples per operation (the fuzzing phase; the examples and coverage phases add their
# own): enough to reach the documented answers of this API, few enough that the file runs in
# about a minute (four roles, 32 operations).
MAX_EXAMPLES = 20

CONFIG = schemathesis.Config.from_dict(
    {
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
            # A body over FIELDNAV_LIMIT_MAX_BODY_BYTES is refused (413) before it is read, whatever
            # it holds: a bulk capacity update with more items than allowed, each with 20 counts.
            "negative_data_rejection": {
                "expected-statuses": [
                    "400",
                    "401",
                    "403",
                    "404",
                    "405",
                    "406",
                    "409",
                    "413",
                    "415",
                    "422",
                    "428",
                    "429",
                    "5xx",
                ]
            },
        },
    }
)
schema = schemathesis.openapi.from_path(SPEC_PATH, config=CONFIG)

# The roles of service/auth/principal.py, each with the agency it acts for: the field worker and
# supervisor of the agency that made the seeded handoffs, a navigator of the centre they went to.
ROLES = {
    Role.FIELD_WORKER: ("agency-a", "worker-1"),
    Role.SUPERVISOR: ("agency-a", "supervisor-1"),
    Role.NAVIGATOR: (DEFAULT_CENTRE, "nav-1"),
    Role.ADMIN: ("fieldnav-ops", "admin-1"),
    Role.PROVIDER: ("shelter-desk", "desk-1"),
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
KNOWN: dict[str, list[str]] = {
    "handoff_id": [],
    "service_id": [],
    "pack_id": [],
    "report_id": [],
    "organization_id": [],
    "subject": [],
}


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
    env = {
        **SERVER_ENV,
        "FIELDNAV_PACKS_DIR": str(tmp_path_factory.mktemp("packs")),
        "FIELDNAV_BASEMAP_PMTILES": str(basemap),
    }
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
            response = http.post(
                "/v1/handoffs",
                json=handoff_body(urgency=urgency, location=TORONTO),
                headers={"Idempotency-Key": str(uuid.uuid4())},
            )
            assert response.status_code == 201, response.text
            KNOWN["handoff_id"].append(response.json()["id"])
        pack = http.post(
            "/v1/offline/packs", json={"bbox": [-79.40, 43.64, -79.37, 43.66], "min_zoom": 10, "max_zoom": 12}
        )
        assert pack.status_code in (200, 201), pack.text
        KNOWN["pack_id"].append(pack.json()["id"])
        services = http.get("/v1/services", params={"near": "43.65,-79.38", "per_page": 5})
        assert services.status_code == 200, services.text
        KNOWN["service_id"].extend(item["service_id"] for item in services.json()["contents"])
        report = http.post(
            f"/v1/services/{KNOWN['service_id'][0]}/reports",
            json={"kind": "wrong_phone"},
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        assert report.status_code == 201, report.text
        KNOWN["report_id"].append(report.json()["id"])
    admin = {"Authorization": f"Bearer {tokens[Role.ADMIN]}"}
    with httpx.Client(base_url=contract_server.base_url, timeout=30, headers=admin) as http:
        # The provider account is granted the first service's organization.
        detail = http.get(f"/v1/services/{KNOWN['service_id'][0]}")
        organization_id = detail.json()["organization_id"]
        granted = http.put(f"/v1/admin/providers/{ROLES[Role.PROVIDER][1]}/organizations/{organization_id}")
        assert granted.status_code in (200, 201), granted.text
        KNOWN["organization_id"].append(organization_id)
        KNOWN["subject"].append(ROLES[Role.PROVIDER][1])
    assert all(KNOWN.values()), KNOWN


@schema.hook
def before_generate_path_parameters(context, strategy):
    """Half the ids in paths are ones that exist (the rest: generated, mostly 404)."""
    operation = context.operation
    names = [name for name in KNOWN if operation is not None and f"{{{name}}}" in operation.path]
    if not names:
        return strategy
    # Every known id of the path at once (a path may hold two: a subject and an organization).
    known = st.fixed_dictionaries(
        {name: st.deferred(lambda name=name: st.sampled_from(KNOWN[name] or [str(uuid.uuid4())])) for name in names}
    )
    return st.one_of(strategy, known)


# --- hostile values (issue 15) ------------------------------------------------------------------

SPEC = yaml.safe_load(SPEC_PATH.read_text())


def _b64(value) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(value)).decode().rstrip("=")


_CURSOR_PARTS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.text(max_size=30),
    st.sampled_from(
        [
            "2026-11-25T14:03:00+00:00",
            "0001-01-01T00:00:00+14:00",
            "9999-12-31T23:59:59-14:00",
            "2026-11-25T14:03:00",
            str(uuid.UUID(int=0)),
            "5b0e3c1e-8a4f-4b6e-9d2a-1f3c5e7a9b0d\x00",
        ]
    ),
)
# base64 JSON of the wrong shape or types (handoff lists, the queue, sync), or no base64 at all.
CURSORS = st.one_of(
    st.lists(_CURSOR_PARTS, max_size=4).map(_b64),
    st.dictionaries(st.sampled_from(["s", "p", "x"]), _CURSOR_PARTS, max_size=3).map(_b64),
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=!.", max_size=60),
)
NOT_CELLS = ["-1", "18446744073709551616", "f" * 20, "0x852b9bcbfffffff", "852b9bcbfffffff1", "8" * 15]
# H3 ids that are no cells: what made h3 overflow (negative, over 64 bits), prefixes, wrong lengths.
H3_IDS = st.one_of(
    st.sampled_from(NOT_CELLS),
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.integers(min_value=0, max_value=2**80).map(lambda i: format(i, "x")),
)
EXTREME_DATES = ["0001-01-01", "1899-12-31", "3000-01-01", "9999-12-31"]
EXTREME_TIMES = [
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00",
    "9999-12-31T23:59:59-14:00",
    "9999-12-31T23:59:59Z",
    "1899-12-31T23:59:59+00:00",
]
DATES = st.one_of(st.sampled_from(EXTREME_DATES), st.dates().map(date.isoformat))
TIMES = st.one_of(
    st.sampled_from(EXTREME_TIMES),
    st.builds(
        lambda moment, offset: moment.isoformat() + offset,
        st.datetimes(),
        st.sampled_from(["", "Z", "+14:00", "-14:00", "+00:00"]),
    ),
)


def _with_nul(value) -> st.SearchStrategy:
    text = value if isinstance(value, str) and value else "x"
    return st.integers(min_value=0, max_value=len(text)).map(lambda i: text[:i] + "\x00" + text[i:])


def _formats(param_schema: dict) -> set[str]:
    return {option.get("format") for option in [param_schema, *param_schema.get("anyOf", [])]} - {None}


def _special(name: str, param_schema: dict) -> tuple[st.SearchStrategy, list[str]] | None:
    """The hostile values of a parameter (strategy, and the fixed ones), by what it holds."""
    if name == "cursor":
        return CURSORS, [
            _b64(["x", "y"]),
            _b64([1, "nope", "nope"]),
            _b64([True, "2026-11-25T14:03:00+00:00", "x"]),
            _b64({"s": -1, "p": "x"}),
            "!!!",
        ]
    if name == "region":
        return H3_IDS, NOT_CELLS
    if "date" in _formats(param_schema):
        return DATES, EXTREME_DATES
    if "date-time" in _formats(param_schema):
        return TIMES, EXTREME_TIMES
    return None


def _operation(context) -> dict:
    operation = context.operation
    if operation is None:
        return {}
    return SPEC["paths"].get(operation.path, {}).get(operation.method.lower(), {})


def _now_and_then(value, hostile: list[st.SearchStrategy]) -> st.SearchStrategy:
    """The generated value three times in four, a hostile variant the fourth."""
    if not hostile:
        return st.just(value)
    return st.integers(min_value=0, max_value=3).flatmap(lambda i: st.just(value) if i else st.one_of(*hostile))


@schema.hook
def flatmap_query(context, query):
    if not isinstance(query, dict):
        return st.just(query)
    hostile = []
    for parameter in _operation(context).get("parameters", []):
        if parameter["in"] != "query":
            continue
        name = parameter["name"]
        special = _special(name, parameter["schema"])
        if special is not None:
            hostile.append(special[0].map(lambda v, name=name: {**query, name: v}))
        current = query.get(name)
        hostile.append(
            _with_nul(current if isinstance(current, str) else str(current or "x")).map(
                lambda v, name=name: {**query, name: v}
            )
        )
    return _now_and_then(query, hostile)


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    if not isinstance(path_parameters, dict) or not path_parameters:
        return st.just(path_parameters)
    hostile = [
        _with_nul(str(value)).map(lambda v, name=name: {**path_parameters, name: v})
        for name, value in path_parameters.items()
    ]
    return _now_and_then(path_parameters, hostile)


def _string_spots(value, path=()) -> list[tuple]:
    """Paths to every string (and every key) of a JSON value; a key's path ends with ("key", name)."""
    spots = []
    if isinstance(value, str):
        spots.append(path)
    elif isinstance(value, dict):
        for key, child in value.items():
            spots.append((*path, ("key", key)))
            spots.extend(_string_spots(child, (*path, key)))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            spots.extend(_string_spots(child, (*path, index)))
    return spots


def _replaced(value, path: tuple, new):
    """A copy of ``value`` with the item at ``path`` replaced (or, for ("key", k), the key renamed)."""
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(head, tuple):  # rename a key
        return {(new if k == head[1] else k): v for k, v in value.items()}
    copy = list(value) if isinstance(value, list) else dict(value)
    copy[head] = _replaced(value[head], rest, new)
    return copy


def _with_nul_at(body, spot: tuple) -> st.SearchStrategy:
    if spot and isinstance(spot[-1], tuple):
        return _with_nul(spot[-1][1]).map(lambda v: _replaced(body, spot, v))
    current = body
    for part in spot:
        current = current[part]
    return _with_nul(current).map(lambda v: _replaced(body, spot, v))


@schema.hook
def flatmap_body(context, body):
    if not isinstance(body, (dict, list)):
        return st.just(body)
    hostile = [_with_nul_at(body, spot) for spot in _string_spots(body)]
    if isinstance(body, dict):
        if "h3_cells" in body:
            hostile.append(st.lists(H3_IDS, min_size=1, max_size=3).map(lambda cells: {**body, "h3_cells": cells}))
        if isinstance(body.get("consent"), dict):
            hostile.append(TIMES.map(lambda t: {**body, "consent": {**body["consent"], "recorded_at": t}}))
    return _now_and_then(body, hostile)


@pytest.mark.parametrize("role", list(ROLES), ids=[r.value for r in ROLES])
@schema.parametrize()
def test_every_operation_keeps_the_contract(case, role, tokens, contract_server, seeded):
    # The role's token, except in the cases that test a missing or malformed Authorization header.
    negated = case.operation.schema.is_security_param_negated(case)
    headers = {} if negated else {"Authorization": f"Bearer {tokens[role]}"}
    case.call_and_validate(base_url=contract_server.base_url, headers=headers, timeout=30)


# A role that may call each operation, so its refusals are about the input, not the caller.
def _role_for(path: str) -> Role:
    if path.startswith("/v1/navigator/"):
        return Role.NAVIGATOR
    if path.startswith("/v1/provider/"):
        return Role.PROVIDER
    if path.endswith("/capacity"):
        return Role.ADMIN
    if path.startswith(("/v1/admin/", "/v1/audit", "/v1/stats/")):
        return Role.ADMIN
    return Role.FIELD_WORKER


def _sweep_bodies() -> dict[tuple[str, str], dict]:
    """A body each POST operation would take, with strings in every field that has one."""
    handoff = handoff_body(location=TORONTO, name="Sam")
    handoff["consent"].update(recorded_by="badge-4411", recorded_at="2026-11-25T14:03:11-05:00")
    return {
        ("POST", "/v1/handoffs"): handoff,
        ("POST", "/v1/handoffs/{handoff_id}/transitions"): {"status": "cancelled", "reason": "moved away"},
        ("POST", "/v1/navigator/handoffs/{handoff_id}/transitions"): {"status": "on-hold", "reason": "no answer"},
        ("POST", "/v1/navigator/handoffs/{handoff_id}/notes"): {"text": "called back, no answer"},
        ("POST", "/v1/offline/packs"): {
            "h3_cells": ["852b9bcbfffffff"],
            "min_zoom": 10,
            "max_zoom": 11,
            "categories": ["shelter"],
        },
        ("POST", "/v1/auth/refresh"): {"refresh_token": "not-a-refresh-token"},
        ("POST", "/v1/auth/devices"): {"public_jwk": {"kty": "EC", "crv": "P-256", "x": "x", "y": "y"}},
        ("POST", "/v1/admin/devices/{device_id}/revoke"): {"reason": "phone reported stolen"},
        ("PUT", "/v1/services/{service_id}/capacity"): {
            "capacities": [{"unit": "beds", "available": 3, "maximum": 20, "updated": "2026-12-04T21:00:00-05:00"}]
        },
        ("POST", "/v1/capacity"): {
            "items": [{"service_id": KNOWN["service_id"][0], "capacities": [{"unit": "beds", "available": 3}]}]
        },
        ("POST", "/v1/services/{service_id}/reports"): {
            "kind": "other",
            "note": "door locked at 21:00",
            "location": {"lat": 43.65, "lon": -79.38},
        },
        ("POST", "/v1/admin/reports/{report_id}/resolve"): {"resolution_note": "called the shelter: open"},
        ("POST", "/v1/shares"): {
            "services": [{"service_id": KNOWN["service_id"][0]}],
            "language": "fr",
            "delivery": "sms",
            "recipient": "+1 416 555 0123",
        },
    }


def _field_name(spot: tuple) -> str:
    """The field a problem names for a spot of _string_spots (a key: its object)."""
    parts = [part for part in spot if not isinstance(part, tuple)]
    return ".".join(["body", *map(str, parts)])


def _path_parameters(path: str) -> dict[str, str]:
    values = {
        "handoff_id": KNOWN["handoff_id"][0],
        "service_id": KNOWN["service_id"][0],
        "pack_id": KNOWN["pack_id"][0],
        "report_id": KNOWN["report_id"][0],
        "organization_id": KNOWN["organization_id"][0],
        "subject": KNOWN["subject"][0],
        "device_id": str(uuid.uuid4()),
        "token": "Qm9vLXdob2VsbGl0dGxlZmlzaGJvbmVz",  # a share's token, of none made here: 404
        "id": KNOWN["service_id"][0],  # the HSDS API's {id} (a service; elsewhere an unknown id: 404)
        "z": "12",
        "x": "1144",
        "y": "1494",
    }
    return {name: values[name] for name in re.findall(r"{(\w+)}", path)}


def test_hostile_values_in_every_field_keep_the_contract(tokens, contract_server, seeded):
    """Each class of hostile value once in every field it fits, on every operation: a documented
    4xx problem (never a 5xx), and for a NUL the exact refusal naming the field."""
    tried: dict[str, int] = {"query NUL": 0, "path NUL": 0, "body NUL": 0, "cursor": 0, "h3": 0, "date": 0}
    bodies = _sweep_bodies()

    def call(path: str, method: str, **parts):
        case = schema[path][method].Case(**parts)
        token = tokens[_role_for(path)]
        response = case.call(
            base_url=contract_server.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        case.validate_response(response)
        assert 400 <= response.status_code < 500, (method, path, parts, response.status_code, response.text[:300])
        assert response.headers["content-type"] == ["application/problem+json"], (method, path, parts)
        return response

    for path, item in SPEC["paths"].items():
        for method, operation in item.items():
            method = method.upper()
            path_parameters = _path_parameters(path)
            body = bodies.get((method, path))
            extra = {"body": body, "media_type": "application/json"} if body is not None else {}
            for parameter in operation.get("parameters", []):
                name = parameter["name"]
                if parameter["in"] == "path":
                    response = call(path, method, path_parameters={**path_parameters, name: "a\x00b"}, **extra)
                    assert response.status_code == 400, (path, name)
                    tried["path NUL"] += 1
                if parameter["in"] != "query":
                    continue
                response = call(path, method, path_parameters=path_parameters, query={name: "a\x00b"}, **extra)
                assert response.status_code == 400, (path, name)
                tried["query NUL"] += 1
                special = _special(name, parameter["schema"])
                for value in special[1] if special else ():
                    response = call(path, method, path_parameters=path_parameters, query={name: value}, **extra)
                    assert response.status_code in (400, 410, 422), (path, name, value, response.text[:300])
                    if response.status_code == 422:
                        fields = [e["field"] for e in response.json().get("errors", [])]
                        assert f"query.{name}" in fields, (path, name, value, fields)
                    kind = "cursor" if name == "cursor" else "h3" if name == "region" else "date"
                    tried[kind] += 1
            if body is None:
                continue
            for spot in _string_spots(body):
                hostile = _replaced(body, spot, ("a\x00" + spot[-1][1]) if isinstance(spot[-1], tuple) else "a\x00b")
                response = call(
                    path, method, path_parameters=path_parameters, body=hostile, media_type="application/json"
                )
                if path == "/v1/auth/devices" and response.status_code == 400:
                    continue  # no DPoP proof: refused before the body is read
                assert response.status_code == 422, (path, spot, response.text[:300])
                errors = response.json()["errors"]
                assert [(e["field"], e["code"]) for e in errors] == [(_field_name(spot), "nul_character")], (path, spot)
                tried["body NUL"] += 1
            if "h3_cells" in body:
                for cell in NOT_CELLS:
                    response = call(path, method, body={**body, "h3_cells": [cell]}, media_type="application/json")
                    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "body.h3_cells"
                    tried["h3"] += 1
            if "consent" in body:
                for moment in EXTREME_TIMES:
                    hostile = {**body, "consent": {**body["consent"], "recorded_at": moment}}
                    response = call(path, method, body=hostile, media_type="application/json")
                    assert response.status_code == 422, (moment, response.text[:300])
                    assert response.json()["errors"][0]["field"] == "body.consent.recorded_at"
                    tried["date"] += 1
    assert all(tried.values()), tried


# Byte ranges are request headers the generated cases rarely make interesting: each answer here is
# still checked against the spec by schemathesis (status, content type, headers, body).
RANGES = [
    ("bytes=0-99", 206),
    ("bytes=0-9,20-29", 206),
    ("bytes=999999999-", 416),
    ("bytes=oops", 200),
    ("pages=1-2", 200),
]


@pytest.mark.parametrize("path", ["/v1/offline/packs/{pack_id}.pmtiles", "/v1/offline/packs/{pack_id}/basemap.pmtiles"])
@pytest.mark.parametrize(("range_header", "status"), RANGES, ids=[r for r, _ in RANGES])
def test_byte_ranges_and_their_refusals_keep_the_contract(path, range_header, status, tokens, contract_server, seeded):
    case = schema[path]["GET"].Case(path_parameters={"pack_id": KNOWN["pack_id"][0]}, headers={"Range": range_header})
    response = case.call(
        base_url=contract_server.base_url, headers={"Authorization": f"Bearer {tokens[Role.FIELD_WORKER]}"}
    )
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

    found = dict.fromkeys(_STATUS_SLUGS.values(), "service/api/errors.py")
    found |= {refusal.value: "service/handoffs/transitions.py" for refusal in Refusal}
    for path in (PROJECT_ROOT / "service").rglob("*.py"):
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
    from service.platform.problems import PROBLEM_TYPES

    raised = _raised_problem_types()
    assert {"unauthorized", "not-found", "pack-too-large", "idempotency-key-missing", "cursor-expired"} <= set(raised)
    undocumented = {slug: where for slug, where in raised.items() if slug not in PROBLEM_TYPES}
    assert not undocumented, (
        f"add these problem types to service/platform/problems.py, then `make spec`: {undocumented}"
    )
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
