"""Identity and abuse protection on the real stack: tokens, roles per route, rate limits,
body caps, CORS and security headers."""

from __future__ import annotations

import json
import re
import time
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import create_engine

from service.api.policies import POLICIES, policy_for
from service.auth.keys import load_or_create_signing_key
from service.auth.principal import Role
from service.auth.revocation import revoke
from service.auth.tokens import create_token
from tests.support.servers import start_server, stop_server
from tests.support.tokens import bearer, jwt_claims, token_for

STRICT_ENV = {"FIELDNAV_AUTH_PUBLIC_READS": "false"}


@pytest.fixture(scope="module")
def strict_server(demo_database_url):
    server = start_server(demo_database_url, env=STRICT_ENV)
    yield server
    stop_server(server)


def _bad_tokens() -> dict[str, str]:
    own_key = load_or_create_signing_key()
    other_key = Ed25519PrivateKey.generate()
    now = datetime.now(UTC)
    return {
        "expired": jwt.encode(
            jwt_claims(iat=now - timedelta(hours=3), nbf=now - timedelta(hours=3), exp=now - timedelta(hours=2)),
            own_key,
            "EdDSA",
        ),
        "wrongly signed": jwt.encode(jwt_claims(), other_key, "EdDSA"),
        "wrong audience": jwt.encode(jwt_claims(aud="someone-else"), own_key, "EdDSA"),
        "untrusted issuer": jwt.encode(jwt_claims(iss="https://evil.example"), own_key, "EdDSA"),
        "not yet valid": jwt.encode(jwt_claims(nbf=now + timedelta(hours=1)), own_key, "EdDSA"),
        "no expiry": jwt.encode(jwt_claims(exp=None), own_key, "EdDSA"),
        "no jti": jwt.encode(jwt_claims(jti=None), own_key, "EdDSA"),
        "unknown role": jwt.encode(jwt_claims(role="superhero"), own_key, "EdDSA"),
        "no agency": jwt.encode(jwt_claims(agency=None), own_key, "EdDSA"),
        "alg none": jwt.encode(jwt_claims(), None, "none"),
        "hs256 with a public value": jwt.encode(jwt_claims(), "fieldnav-public-value-32-bytes-long!", "HS256"),
        "malformed": "not.a.jwt",
        "garbage": "x" * 500,
    }


@pytest.mark.parametrize("case", list(_bad_tokens()))
def test_bad_tokens_get_401_and_learn_nothing(strict_server, case):
    token = _bad_tokens()[case]
    with strict_server.client() as client:
        response = client.get("/v1/categories", headers=bearer(token))
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "invalid token"
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'


def _odd_claim_tokens() -> dict[str, str]:
    """Validly signed tokens whose claims have the wrong type or hold what cannot be stored
    (issue 15: each gave 500 on every route)."""
    own_key = load_or_create_signing_key()
    now = int(time.time())
    cases = {
        "exp as a string": {"exp": str(now + 3600)},
        "exp as a numeric string": {"exp": "9999999999"},
        "exp of 10**12": {"exp": 10**12},
        "exp of 10**12 as a float": {"exp": 1e12},
        "exp past 9999": {"exp": 253402300800},
        "exp as true": {"exp": True},
        "iat as a string": {"iat": str(now)},
        "iat negative": {"iat": -(10**12)},
        "nbf as a string": {"nbf": str(now)},
        "nbf as a list": {"nbf": [now]},
        "auth_time of 10**13": {"auth_time": 10**13},
        "auth_time as a string": {"auth_time": "yesterday"},
        "a NUL in sub": {"sub": "user\u0000-1"},
        "a NUL in agency": {"agency": "agency-a\u0000"},
        "a NUL in jti": {"jti": "\u0000" + str(uuid.uuid4())},
        "a lone surrogate in sub": {"sub": "user-\ud800"},
        "a newline in agency": {"agency": "agency-a\nforged log line"},
        "jti as a number": {"jti": 12345},
        "jti as an object": {"jti": {"id": 1}},
        "sub as a number": {"sub": 42},
        "role as a list": {"role": ["admin"]},
        "sub of 10,000 characters": {"sub": "u" * 10_000},
    }
    base = {
        "iss": "fieldnav",
        "aud": "fieldnav-api",
        "sub": "u",
        "agency": "agency-a",
        "role": "field_worker",
        "jti": str(uuid.uuid4()),
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
    }
    return {
        name: jwt.encode({**base, "jti": str(uuid.uuid4()), **change}, own_key, "EdDSA")
        for name, change in cases.items()
    }


# A directory read, a handoff read, a tile through the fast path (service/api/tile_fast_path.py)
# and one through FastAPI's router (a query the fast path leaves to it).
ODD_CLAIM_ROUTES = [
    "/v1/categories",
    "/v1/me",
    "/v1/handoffs",
    "/v1/tiles/12/1144/1494.mvt",
    "/v1/tiles/12/1144/1494.mvt?v=x",
]


@pytest.mark.parametrize("case", list(_odd_claim_tokens()))
def test_validly_signed_tokens_with_odd_claims_get_401(strict_server, case):
    token = _odd_claim_tokens()[case]
    with strict_server.client() as client:
        for path in ODD_CLAIM_ROUTES:
            response = client.get(path, headers=bearer(token))
            assert response.status_code == 401, (path, response.status_code, response.text[:300])
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["detail"] == "invalid token"
            assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'


def test_odd_claims_leave_no_trace_in_the_server_log(demo_database_url):
    server = start_server(demo_database_url, env=STRICT_ENV)
    try:
        with server.client() as client:
            for token in _odd_claim_tokens().values():
                assert client.get("/v1/me", headers=bearer(token)).status_code == 401
            assert client.get("/v1/me", headers=bearer(token_for(Role.FIELD_WORKER))).status_code == 200
    finally:
        output = stop_server(server)
    assert "Traceback" not in output and "internal-error" not in output, output[-3000:]


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer x y", "token abc"])
def test_malformed_authorization_headers_get_401(strict_server, header):
    with strict_server.client() as client:
        response = client.get("/v1/categories", headers={"Authorization": header})
    assert response.status_code == 401 and response.json()["detail"] == "invalid token"


def test_no_token_is_401_and_a_good_token_works(strict_server):
    with strict_server.client() as client:
        missing = client.get("/v1/categories")
        assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
        assert client.get("/v1/categories", headers=bearer(token_for(Role.FIELD_WORKER))).status_code == 200
        me = client.get("/v1/me", headers=bearer(token_for(Role.NAVIGATOR, agency="centre-on"))).json()
        assert me == {"subject": "user-1", "agency": "centre-on", "role": "navigator", "issuer": "fieldnav"}
        assert client.get("/healthz").status_code == 200  # health checks need no token


def test_a_revoked_token_is_refused_on_every_worker(demo_database_url):
    server = start_server(demo_database_url, workers=2, env={**STRICT_ENV, "FIELDNAV_AUTH_REVOCATION_CACHE_S": "0.5"})
    try:
        token, token_id = create_token(
            agency="agency-a", role=Role.FIELD_WORKER, subject="lost-phone", ttl=timedelta(hours=1)
        )
        with server.client() as client:
            for _ in range(10):
                assert client.get("/v1/me", headers=bearer(token)).status_code == 200
            engine = create_engine(demo_database_url)
            with engine.begin() as connection:
                assert revoke(connection, token_id, reason="device lost")
            engine.dispose()
            time.sleep(0.8)
            for _ in range(10):
                response = client.get("/v1/me", headers=bearer(token))
                assert response.status_code == 401 and response.json()["detail"] == "invalid token"
    finally:
        stop_server(server)


def test_an_agency_identity_provider_plugs_in_with_jwks(demo_database_url, tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid="police-2026", use="sig", alg="RS256")
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [jwk]}))
    (tmp_path / "issuers.yaml").write_text(
        f"- issuer: https://idp.police.example\n  audience: fieldnav\n  jwks_file: {tmp_path / 'jwks.json'}\n  agencies: [police-east]\n"
    )
    server = start_server(
        demo_database_url, env={**STRICT_ENV, "FIELDNAV_AUTH_ISSUERS_FILE": str(tmp_path / "issuers.yaml")}
    )

    def police_token(agency: str, signing_key=key) -> str:
        claims = jwt_claims(iss="https://idp.police.example", aud="fieldnav", agency=agency)
        return jwt.encode(claims, signing_key, "RS256", headers={"kid": "police-2026"})

    try:
        with server.client() as client:
            ok = client.get("/v1/me", headers=bearer(police_token("police-east")))
            assert ok.status_code == 200 and ok.json()["issuer"] == "https://idp.police.example"
            # An issuer may only speak for its own agencies.
            assert client.get("/v1/me", headers=bearer(police_token("paramedics-west"))).status_code == 401
            other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            assert client.get("/v1/me", headers=bearer(police_token("police-east", other))).status_code == 401
            # fieldnav's own tokens still work beside it.
            assert client.get("/v1/me", headers=bearer(token_for(Role.ADMIN))).status_code == 200
    finally:
        stop_server(server)


# --- every route has a rule, and every role gets exactly what the rule says ---------------


def _api_routes():
    from service.api.app import create_app

    app = create_app(engine=create_engine("postgresql+psycopg://spec@localhost/spec"))
    # iter_route_contexts flattens included routers into their full paths.
    return [
        (method, context.path)
        for context in iter_route_contexts(app.routes)
        if isinstance(context.route, APIRoute)
        for method in sorted(context.methods)
    ]


def test_every_route_has_an_access_policy():
    routes = _api_routes()
    missing = [r for r in routes if policy_for(*r) is None]
    assert not missing, f"routes without an access policy in service/api/policies.py: {missing}"
    stale = [key for key in POLICIES if key not in routes and not key[1].startswith(("/docs", "/redoc", "/openapi"))]
    assert not stale, f"policies for routes that do not exist: {stale}"


def _concrete(path: str) -> str:
    values = {
        "service_id": str(uuid.uuid4()),
        "pack_id": str(uuid.uuid4()),
        "handoff_id": str(uuid.uuid4()),
        "z": "0",
        "x": "0",
        "y": "0",
    }
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "x"), path)


def test_each_role_is_refused_what_it_may_not_do(strict_server):
    checked = 0
    with strict_server.client() as client:
        for method, path in _api_routes():
            policy = policy_for(method, path)
            if policy.roles is None:
                continue
            url = _concrete(path)
            anonymous = client.request(method, url, json={} if method != "GET" else None)
            assert anonymous.status_code == 401, f"{method} {path} without a token: {anonymous.status_code}"
            for role in Role:
                response = client.request(
                    method,
                    url,
                    headers={**bearer(token_for(role)), "Idempotency-Key": str(uuid.uuid4())},
                    json={} if method != "GET" else None,
                )
                if role in policy.roles:
                    assert response.status_code not in (401, 403), f"{role} refused {method} {path}: {response.text}"
                else:
                    assert response.status_code == 403, f"{role} allowed {method} {path}: {response.status_code}"
                    assert response.headers["content-type"] == "application/problem+json"
                checked += 1
    assert checked >= 4 * 10


# --- abuse protection ---------------------------------------------------------------------


def test_rate_limits_trigger_and_recover(demo_database_url):
    server = start_server(
        demo_database_url, env={**STRICT_ENV, "FIELDNAV_LIMIT_REQUESTS_PER_MIN": "5", "FIELDNAV_LIMIT_WINDOW_S": "3"}
    )
    try:
        token = token_for(Role.FIELD_WORKER, subject=f"busy-{uuid.uuid4()}")
        other = token_for(Role.FIELD_WORKER, subject=f"calm-{uuid.uuid4()}")
        with server.client() as client:
            # Start at the top of a window so the five fit in it.
            time.sleep(3 - time.time() % 3 + 0.05)
            statuses = [client.get("/v1/me", headers=bearer(token)).status_code for _ in range(7)]
            assert statuses[:5] == [200] * 5 and statuses[5:] == [429, 429]
            limited = client.get("/v1/me", headers=bearer(token))
            assert limited.headers["content-type"] == "application/problem+json"
            assert 1 <= int(limited.headers["retry-after"]) <= 3
            # Limits are per principal: someone else is not held back.
            assert client.get("/v1/me", headers=bearer(other)).status_code == 200
            time.sleep(int(limited.headers["retry-after"]) + 0.1)
            assert client.get("/v1/me", headers=bearer(token)).status_code == 200
    finally:
        stop_server(server)


def test_body_size_cors_and_security_headers(demo_database_url):
    server = start_server(
        demo_database_url,
        env={"FIELDNAV_LIMIT_CORS_ORIGINS": "https://app.fieldnav.example", "FIELDNAV_LIMIT_MAX_BODY_BYTES": "2048"},
    )
    try:
        with server.client() as client:
            huge = client.post(
                "/v1/offline/packs", content=b"{" + b" " * 10_000 + b"}", headers={"Content-Type": "application/json"}
            )
            assert huge.status_code == 413 and huge.headers["content-type"] == "application/problem+json"

            allowed = client.get("/v1/categories", headers={"Origin": "https://app.fieldnav.example"})
            assert allowed.headers["access-control-allow-origin"] == "https://app.fieldnav.example"
            other = client.get("/v1/categories", headers={"Origin": "https://evil.example"})
            assert "access-control-allow-origin" not in other.headers
            preflight = client.options(
                "/v1/services/nearest",
                headers={
                    "Origin": "https://app.fieldnav.example",
                    "Access-Control-Request-Method": "GET",
                    "Access-Control-Request-Headers": "Authorization",
                },
            )
            assert preflight.status_code == 200

            headers = client.get("/v1/categories").headers
            assert headers["x-content-type-options"] == "nosniff"
            assert headers["x-frame-options"] == "DENY"
            assert "default-src 'none'" in headers["content-security-policy"]
            assert headers["referrer-policy"] == "no-referrer"
    finally:
        stop_server(server)


def test_token_cli_creates_and_revokes(database_url):
    import os
    import subprocess
    import sys

    env = {**os.environ, "FIELDNAV_DATABASE_URL": database_url}
    created = subprocess.run(
        [
            sys.executable,
            "-m",
            "service.cli",
            "token",
            "create",
            "--agency",
            "ems-1",
            "--role",
            "supervisor",
            "--subject",
            "medic-7",
            "--ttl",
            "2h",
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert created.returncode == 0
    claims = jwt.decode(created.stdout.strip(), options={"verify_signature": False})
    assert claims["agency"] == "ems-1" and claims["role"] == "supervisor" and claims["exp"] - claims["iat"] == 7200
    assert claims["jti"] in created.stderr
    revoked = subprocess.run(
        [sys.executable, "-m", "service.cli", "token", "revoke", claims["jti"]], env=env, capture_output=True, text=True
    )
    assert revoked.returncode == 0 and "revoked" in revoked.stdout
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "service.cli",
            "token",
            "create",
            "--agency",
            "a",
            "--role",
            "admin",
            "--subject",
            "s",
            "--ttl",
            "10y",
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert bad.returncode != 0


def test_symmetric_and_none_algorithms_are_never_accepted():
    # Algorithm confusion: a verifier that accepts HS256 can be fooled with a public key.
    from service.auth.keys import ALLOWED_ALGORITHMS

    assert not any(a.startswith("HS") for a in ALLOWED_ALGORITHMS) and "none" not in ALLOWED_ALGORITHMS
