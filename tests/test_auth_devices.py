"""Device-bound refresh tokens on the real stack: register a device key, renew an expired
access token with a DPoP proof (RFC 9449), rotation and reuse detection, sign-out, admin and
CLI revocation, idle and absolute expiry."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from sqlalchemy import create_engine, text

from service.auth import devices
from service.auth.dpop import InvalidProof, target_uri, thumbprint, verify_proof
from service.auth.principal import Principal, Role
from service.auth.tokens import create_token
from tests.support.cli import fieldnav
from tests.support.servers import start_server, stop_server
from tests.support.tokens import bearer, jwt_claims, token_for

IDP_ISSUER = "https://idp.police.example"
IDP_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


class DeviceKey:
    """A phone's non-extractable P-256 key, and the DPoP proofs it signs."""

    def __init__(self):
        self.private = ec.generate_private_key(ec.SECP256R1())
        self.jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.private.public_key()))

    def proof(
        self,
        url: str,
        method: str = "POST",
        *,
        iat: float | str | None = None,
        signer=None,
        header: dict | None = None,
        **claims,
    ) -> str:
        issued = int(time.time() if iat is None else iat) if not isinstance(iat, str) else iat
        body = {"htm": method, "htu": url, "iat": issued, "jti": str(uuid.uuid4()), **claims}
        headers = {"typ": "dpop+jwt", "jwk": self.jwk, **(header or {})}
        return jwt.encode(body, signer or self.private, algorithm="ES256", headers=headers)


@pytest.fixture(scope="module")
def server(pg_server, template_db, tmp_path_factory):
    """`fieldnav serve` on the module's own database, trusting an agency identity provider too;
    revocations are seen at once (no cache)."""
    folder = tmp_path_factory.mktemp("idp")
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(IDP_KEY.public_key()))
    jwk.update(kid="police-1", use="sig", alg="RS256")
    (folder / "jwks.json").write_text(json.dumps({"keys": [jwk]}))
    (folder / "issuers.yaml").write_text(
        f"- issuer: {IDP_ISSUER}\n  audience: fieldnav\n  jwks_file: {folder / 'jwks.json'}\n  agencies: [police-east]\n"
    )
    name = f"fieldnav_dev_{uuid.uuid4().hex[:12]}"
    url = pg_server.create_database(name, template=template_db)
    live = start_server(
        url, env={"FIELDNAV_AUTH_ISSUERS_FILE": str(folder / "issuers.yaml"), "FIELDNAV_AUTH_REVOCATION_CACHE_S": "0"}
    )
    live.database_url = url
    yield live
    stop_server(live)
    pg_server.drop_database(name)


@pytest.fixture
def client(server):
    with server.client() as http:
        yield http


def _url(client, path: str) -> str:
    return str(client.base_url).rstrip("/") + path


def register(client, key: DeviceKey, token: str | None = None, **proof_options):
    token = token or token_for(Role.FIELD_WORKER, subject=f"w-{uuid.uuid4().hex[:8]}")
    return client.post(
        "/v1/auth/devices",
        json={"public_jwk": {**key.jwk, "key_ops": ["verify"], "ext": True}},
        headers={**bearer(token), "DPoP": key.proof(_url(client, "/v1/auth/devices"), **proof_options)},
    )


def refresh(client, key: DeviceKey, refresh_token: str, headers: dict | None = None, **proof_options):
    return client.post(
        "/v1/auth/refresh",
        json={"refresh_token": refresh_token},
        headers={"DPoP": key.proof(_url(client, "/v1/auth/refresh"), **proof_options), **(headers or {})},
    )


def _refused(response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "The refresh was refused: sign in again."


def _moment(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _device(server, device_id: str) -> dict:
    engine = create_engine(server.database_url)
    try:
        with engine.connect() as connection:
            return dict(
                connection.execute(text("SELECT * FROM auth_device WHERE id = :id"), {"id": device_id}).mappings().one()
            )
    finally:
        engine.dispose()


def _sql(server, statement: str, **params) -> None:
    engine = create_engine(server.database_url)
    try:
        with engine.begin() as connection:
            connection.execute(text(statement), params)
    finally:
        engine.dispose()


# --- register and refresh ----------------------------------------------------------------------


def test_a_device_renews_an_expired_access_token_and_the_new_one_works(client, server):
    key = DeviceKey()
    signed_in = datetime.now(UTC) - timedelta(hours=11, minutes=59)
    first, first_id = create_token(
        agency="street-outreach", role=Role.FIELD_WORKER, subject="w-17", ttl=timedelta(hours=12), now=signed_in
    )
    registered = register(client, key, first)
    assert registered.status_code == 201, registered.text
    body = registered.json()
    assert set(body) == {"device_id", "refresh_token", "refresh_expires_at", "expires_at"}
    assert registered.headers["cache-control"] == "no-store"
    assert abs(_moment(body["expires_at"]) - (signed_in + timedelta(days=30))) < timedelta(seconds=2)
    assert abs(_moment(body["refresh_expires_at"]) - (datetime.now(UTC) + timedelta(hours=72))) < timedelta(minutes=1)
    row = _device(server, body["device_id"])
    assert row["jwk_thumbprint"] == thumbprint(key.jwk) and row["public_jwk"] == key.jwk  # key_ops and ext dropped
    assert bytes(row["refresh_hash"]) == hashlib.sha256(body["refresh_token"].encode()).digest()  # never the token
    assert row["last_token_id"] == first_id

    # 2 a.m.: the access token expired (and is still sent, as a phone would).
    expired, _ = create_token(
        agency="street-outreach",
        role=Role.FIELD_WORKER,
        subject="w-17",
        ttl=timedelta(hours=12),
        now=datetime.now(UTC) - timedelta(hours=13),
    )
    assert client.get("/v1/me", headers=bearer(expired)).status_code == 401
    renewed = refresh(client, key, body["refresh_token"], headers=bearer(expired))
    assert renewed.status_code == 200, renewed.text
    answer = renewed.json()
    assert set(answer) == {"access_token", "token_type", "expires_at", "refresh_token", "refresh_expires_at"}
    assert answer["token_type"] == "Bearer" and answer["refresh_token"] != body["refresh_token"]
    assert renewed.headers["cache-control"] == "no-store"
    me = client.get("/v1/me", headers=bearer(answer["access_token"]))
    assert me.status_code == 200
    assert me.json() == {"subject": "w-17", "agency": "street-outreach", "role": "field_worker", "issuer": "fieldnav"}
    claims = jwt.decode(answer["access_token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 12 * 3600  # a shift
    assert claims["auth_time"] == int(signed_in.timestamp())  # the sign-in it comes from
    assert abs(_moment(answer["expires_at"]).timestamp() - claims["exp"]) < 1
    assert _device(server, body["device_id"])["last_token_id"] == claims["jti"]

    # And again with the new refresh token (rotation).
    again = refresh(client, key, answer["refresh_token"])
    assert again.status_code == 200 and again.json()["refresh_token"] != answer["refresh_token"]


def test_registering_the_same_key_again_replaces_the_refresh_token(client):
    key = DeviceKey()
    token = token_for(Role.SUPERVISOR, subject="sup-9")
    first, second = register(client, key, token).json(), register(client, key, token).json()
    assert first["device_id"] == second["device_id"] and first["refresh_token"] != second["refresh_token"]
    assert refresh(client, key, second["refresh_token"]).status_code == 200


def test_a_key_of_another_users_device_is_409(client):
    key = DeviceKey()
    assert register(client, key, token_for(Role.FIELD_WORKER, subject="owner")).status_code == 201
    taken = register(client, key, token_for(Role.FIELD_WORKER, subject="someone-else"))
    assert taken.status_code == 409 and taken.json()["type"].endswith("/device-key-in-use")


def test_a_renewed_token_cannot_move_the_absolute_expiry(client):
    key, other = DeviceKey(), DeviceKey()
    signed_in = datetime.now(UTC) - timedelta(days=10)
    token, _ = create_token(
        agency="agency-a", role=Role.FIELD_WORKER, subject="w-long", ttl=timedelta(days=11), now=signed_in
    )
    first = register(client, key, token).json()
    renewed = refresh(client, key, first["refresh_token"]).json()
    # Registering a fresh key with the renewed token keeps the end of the first sign-in.
    second = register(client, other, renewed["access_token"]).json()
    assert second["expires_at"] == first["expires_at"]
    assert abs(_moment(first["expires_at"]) - (signed_in + timedelta(days=30))) < timedelta(seconds=2)


def test_agency_identity_provider_tokens_renew_through_their_provider(client):
    claims = jwt_claims(iss=IDP_ISSUER, aud="fieldnav", agency="police-east")
    token = jwt.encode(claims, IDP_KEY, "RS256", headers={"kid": "police-1"})
    assert client.get("/v1/me", headers=bearer(token)).status_code == 200
    response = register(client, DeviceKey(), token)
    assert response.status_code == 403
    problem = response.json()
    assert problem["type"].endswith("/renew-with-identity-provider") and "identity provider" in problem["detail"]
    assert "OpenID Connect" in problem["detail"]


def test_registering_needs_a_proof_by_the_key_being_registered(client):
    key = DeviceKey()
    token = token_for(Role.FIELD_WORKER, subject="w-proof")
    body = {"public_jwk": key.jwk}
    url = _url(client, "/v1/auth/devices")
    cases = {
        "no proof": {},
        "another key's proof": {"DPoP": DeviceKey().proof(url)},
        "signed by another key": {"DPoP": key.proof(url, signer=ec.generate_private_key(ec.SECP256R1()))},
        "for refresh": {"DPoP": key.proof(_url(client, "/v1/auth/refresh"))},
        "too old": {"DPoP": key.proof(url, iat=time.time() - 600)},
    }
    for case, headers in cases.items():
        response = client.post("/v1/auth/devices", json=body, headers={**bearer(token), **headers})
        assert response.status_code == 400, case
        assert response.json()["type"].endswith("/invalid-dpop-proof"), case
    private = {**key.jwk, "d": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}
    refused = client.post(
        "/v1/auth/devices", json={"public_jwk": private}, headers={**bearer(token), "DPoP": key.proof(url)}
    )
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "body.public_jwk"
    assert client.post("/v1/auth/devices", json=body, headers={"DPoP": key.proof(url)}).status_code == 401


# --- proofs ------------------------------------------------------------------------------------


def test_proofs_by_another_key_or_for_another_request_are_refused(client):
    key = DeviceKey()
    device = register(client, key).json()
    token = device["refresh_token"]
    url = _url(client, "/v1/auth/refresh")
    other = DeviceKey()
    refusals = {
        "another key": refresh(client, other, token),
        "signed by another key than its jwk": refresh(client, key, token, signer=other.private),
        "another htu": refresh(client, key, token, htu=_url(client, "/v1/auth/devices")),
        "another host": refresh(client, key, token, htu=url.replace("127.0.0.1", "evil.example")),
        "another htm": refresh(client, key, token, htm="GET"),
        "too old": refresh(client, key, token, iat=time.time() - 120),
        "from the future": refresh(client, key, token, iat=time.time() + 120),
        "typ JWT": refresh(client, key, token, header={"typ": "JWT"}),
        "a private key in jwk": refresh(client, key, token, header={"jwk": {**key.jwk, "d": "AAAA"}}),
        "no jti": refresh(client, key, token, jti=None),
        "no proof": client.post("/v1/auth/refresh", json={"refresh_token": token}),
        "garbage proof": client.post("/v1/auth/refresh", json={"refresh_token": token}, headers={"DPoP": "a.b.c"}),
    }
    for case, response in refusals.items():
        assert response.status_code == 401, case
        _refused(response)
    # None of these was the device's own key with a spent token: it still works.
    assert refresh(client, key, token).status_code == 200


def test_proof_checks_in_detail():
    key = DeviceKey()
    url = "https://fieldnav.example/v1/auth/refresh"
    now = datetime.now(UTC)
    proof = verify_proof(
        key.proof(url + "?x=1#y", iat=now.timestamp() - 80),
        method="POST",
        url="HTTPS://FieldNav.example:443/v1/auth/refresh?q",
        now=now,
    )
    assert proof.thumbprint == thumbprint(key.jwk) and set(proof.jwk) == {"kty", "crv", "x", "y"}
    assert target_uri("http://h:80/p?q#f") == "http://h/p" and target_uri("http://h:8000") == "http://h:8000/"
    hs256 = jwt.encode(
        {"htm": "POST", "htu": url, "iat": int(now.timestamp()), "jti": "j"},
        "secret-that-is-long-enough-32b!!",
        algorithm="HS256",
        headers={"typ": "dpop+jwt", "jwk": key.jwk},
    )
    for bad in (hs256, key.proof(url, iat=now.timestamp() - 91), key.proof(url, iat="soon"), None, "x" * 5000):
        with pytest.raises(InvalidProof):
            verify_proof(bad, method="POST", url=url, now=now)
    # RFC 7638: SHA-256 of the required members, sorted, no whitespace (members such as kid ignored).
    ec_key = {
        "kty": "EC",
        "crv": "P-256",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
        "kid": "ignored",
    }
    canonical = b'{"crv":"P-256","kty":"EC","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}'
    assert thumbprint(ec_key) == jwt.utils.base64url_encode(hashlib.sha256(canonical).digest()).decode()


# --- reuse detection ---------------------------------------------------------------------------


def test_replaying_a_rotated_refresh_token_revokes_the_device(client, server):
    key = DeviceKey()
    device = register(client, key).json()
    spent = device["refresh_token"]
    renewed = refresh(client, key, spent).json()
    assert client.get("/v1/me", headers=bearer(renewed["access_token"])).status_code == 200
    # Past the minute a phone has to retry a refresh whose answer it lost:
    _sql(
        server,
        "UPDATE auth_device SET rotated_at = rotated_at - interval '2 minutes' WHERE id = :id",
        id=device["device_id"],
    )
    _refused(refresh(client, key, spent))  # the old one again: someone copied it
    row = _device(server, device["device_id"])
    assert row["revoked_at"] is not None and row["revoked_reason"] == "refresh token reused"
    # The legitimate holder's current refresh token is dead too, and so is its access token.
    _refused(refresh(client, key, renewed["refresh_token"]))
    assert client.get("/v1/me", headers=bearer(renewed["access_token"])).status_code == 401


def test_a_refresh_whose_answer_was_lost_may_be_sent_again_for_a_minute(client, server):
    """A weak signal: the server rotated the refresh token, the answer never reached the phone,
    and the phone sends the same refresh again. It gets new tokens (the lost ones are dead);
    the token of the lost answer is reuse, and so is the old one after the minute."""
    key = DeviceKey()
    device = register(client, key).json()
    held = device["refresh_token"]
    lost = refresh(client, key, held).json()  # the answer the phone never saw
    again = refresh(client, key, held)
    assert again.status_code == 200, again.text
    second = again.json()
    assert second["refresh_token"] not in (held, lost["refresh_token"])
    assert client.get("/v1/me", headers=bearer(second["access_token"])).status_code == 200
    assert client.get("/v1/me", headers=bearer(lost["access_token"])).status_code == 401
    # The answer was lost a second time: still the same minute, still fine.
    third = refresh(client, key, held).json()
    assert _device(server, device["device_id"])["revoked_at"] is None
    # Once the phone moves on, the normal rotation ends the old token's minute.
    fourth = refresh(client, key, third["refresh_token"]).json()
    _refused(refresh(client, key, held))
    assert _device(server, device["device_id"])["revoked_reason"] == "refresh token reused"
    _refused(refresh(client, key, fourth["refresh_token"]))


def test_the_token_of_a_lost_answer_is_reuse(client, server):
    key = DeviceKey()
    device = register(client, key).json()
    held = device["refresh_token"]
    lost = refresh(client, key, held).json()
    refresh(client, key, held).raise_for_status()  # the phone's retry
    _refused(refresh(client, key, lost["refresh_token"]))  # whoever caught the lost answer
    assert _device(server, device["device_id"])["revoked_reason"] == "refresh token reused"


# --- sign-out and admin ------------------------------------------------------------------------


def test_signing_out_revokes_the_device_and_its_access_token(client):
    key = DeviceKey()
    token = token_for(Role.FIELD_WORKER, subject="w-out")
    device = register(client, key, token).json()
    renewed = refresh(client, key, device["refresh_token"]).json()
    current = renewed["access_token"]
    path = f"/v1/auth/devices/{device['device_id']}"
    # Anyone else: 404, as if it did not exist (a colleague, or an admin on the user's route).
    for stranger in (
        token_for(Role.FIELD_WORKER, subject="w-other"),
        token_for(Role.ADMIN, subject="admin-1", agency="ops"),
    ):
        assert client.delete(path, headers=bearer(stranger)).status_code == 404
    assert client.delete(f"/v1/auth/devices/{uuid.uuid4()}", headers=bearer(current)).status_code == 404
    assert client.get("/v1/me", headers=bearer(current)).status_code == 200
    signed_out = client.delete(path, headers=bearer(current))
    assert signed_out.status_code == 204 and signed_out.content == b""
    assert client.get("/v1/me", headers=bearer(current)).status_code == 401
    _refused(refresh(client, key, renewed["refresh_token"]))
    assert client.delete(path, headers=bearer(token)).status_code == 204  # again: nothing more to do


def test_admins_list_and_revoke_devices(client):
    key = DeviceKey()
    subject = f"w-{uuid.uuid4().hex[:8]}"
    device = register(client, key, token_for(Role.FIELD_WORKER, agency="paramedics-west", subject=subject)).json()
    admin = bearer(token_for(Role.ADMIN, agency="ops", subject="admin-1"))
    listed = client.get("/v1/admin/devices", params={"subject": subject}, headers=admin)
    assert listed.status_code == 200
    [entry] = listed.json()["devices"]
    assert (
        entry["device_id"] == device["device_id"]
        and entry["state"] == "active"
        and entry["agency"] == "paramedics-west"
    )
    assert entry["jwk_thumbprint"] == thumbprint(key.jwk)
    assert "refresh_token" not in listed.text and device["refresh_token"] not in listed.text
    assert [
        d["device_id"]
        for d in client.get("/v1/admin/devices", params={"agency": "paramedics-west"}, headers=admin).json()["devices"]
    ] == [device["device_id"]]
    assert client.get("/v1/admin/devices", params={"agency": "nobody"}, headers=admin).json() == {"devices": []}

    path = f"/v1/admin/devices/{device['device_id']}/revoke"
    assert client.post(path, json={}, headers=admin).status_code == 422  # a reason is required
    assert client.post(path, json={"reason": "x"}, headers=bearer(token_for(Role.SUPERVISOR))).status_code == 403
    revoked = client.post(path, json={"reason": "phone stolen"}, headers=admin)
    assert revoked.status_code == 200
    assert revoked.json()["state"] == "revoked" and revoked.json()["revoked_reason"] == "phone stolen"
    _refused(refresh(client, key, device["refresh_token"]))
    assert client.post(path, json={"reason": "again"}, headers=admin).json()["revoked_reason"] == "phone stolen"
    assert (
        client.post(f"/v1/admin/devices/{uuid.uuid4()}/revoke", json={"reason": "x"}, headers=admin).status_code == 404
    )


# --- expiry ------------------------------------------------------------------------------------


def test_idle_and_absolute_expiry_over_http(client, server):
    idle_key, old_key = DeviceKey(), DeviceKey()
    idle = register(client, idle_key).json()
    _sql(
        server,
        "UPDATE auth_device SET refresh_expires_at = now() - interval '1 second' WHERE id = :id",
        id=idle["device_id"],
    )
    _refused(refresh(client, idle_key, idle["refresh_token"]))
    old = register(client, old_key).json()
    _sql(server, "UPDATE auth_device SET expires_at = now() - interval '1 second' WHERE id = :id", id=old["device_id"])
    _refused(refresh(client, old_key, old["refresh_token"]))
    # Neither was revoked: they simply ran out.
    assert _device(server, idle["device_id"])["revoked_at"] is None


def test_refresh_keeps_to_the_idle_and_absolute_limits(engine):
    key = DeviceKey()
    jwk = {k: key.jwk[k] for k in ("kty", "crv", "x", "y")}
    t0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    principal = Principal(subject="w-1", agency="agency-a", role=Role.FIELD_WORKER, token_id="jti-0", issuer="fieldnav")
    with engine.begin() as connection:
        registration = devices.register(connection, principal, jwk, thumbprint(jwk), signed_in_at=t0, now=t0)
    assert registration.expires_at == t0 + timedelta(days=30)
    assert registration.refresh_expires_at == t0 + timedelta(hours=72)

    # Used every 71 hours, the device renews until its absolute end, and never past it.
    token, now = registration.refresh_token, t0
    while now + timedelta(hours=71) < registration.expires_at:
        now += timedelta(hours=71)
        renewal = devices.refresh(engine, token, thumbprint(jwk), now=now)
        assert renewal.refresh_expires_at == min(now + timedelta(hours=72), registration.expires_at)
        assert renewal.access_expires_at == min(now + timedelta(hours=12), registration.expires_at)
        token = renewal.refresh_token
    last = devices.refresh(engine, token, thumbprint(jwk), now=registration.expires_at - timedelta(minutes=30))
    assert last.access_expires_at == registration.expires_at  # 30 minutes, not 12 h
    with pytest.raises(devices.RefreshRefused, match="absolute"):
        devices.refresh(engine, last.refresh_token, thumbprint(jwk), now=registration.expires_at)

    # Idle: 72 hours without a refresh and the device must sign in again.
    other = DeviceKey()
    jwk2 = {k: other.jwk[k] for k in ("kty", "crv", "x", "y")}
    with engine.begin() as connection:
        second = devices.register(connection, principal, jwk2, thumbprint(jwk2), signed_in_at=t0, now=t0)
    with pytest.raises(devices.RefreshRefused, match="idle"):
        devices.refresh(engine, second.refresh_token, thumbprint(jwk2), now=t0 + timedelta(hours=72))
    assert devices.refresh(engine, second.refresh_token, thumbprint(jwk2), now=t0 + timedelta(hours=71)).refresh_token

    # A sign-in older than the device lifetime registers nothing.
    with engine.begin() as connection, pytest.raises(devices.SignInTooOld):
        devices.register(connection, principal, jwk2, thumbprint(jwk2), signed_in_at=t0, now=t0 + timedelta(days=30))


# --- abuse and operations ----------------------------------------------------------------------


def test_refresh_is_rate_limited_by_address_and_logs_no_token(database_url):
    live = start_server(database_url, env={"FIELDNAV_LIMIT_REQUESTS_PER_MIN": "4", "FIELDNAV_LIMIT_WINDOW_S": "60"})
    try:
        if time.time() % 60 > 50:  # the refreshes below must fall in one window
            time.sleep(60 - time.time() % 60 + 0.1)
        with live.client() as client:
            key = DeviceKey()
            device = register(client, key).json()  # counted against the user, not the address
            assert refresh(client, key, device["refresh_token"]).status_code == 200
            _refused(refresh(client, key, "a-token-this-device-never-had"))  # not its token: the device is revoked
            statuses = [refresh(client, DeviceKey(), "not-a-token").status_code for _ in range(4)]
        assert statuses == [401, 401, 429, 429]
    finally:
        output = stop_server(live)
    assert "refresh refused: refresh token reused" in output and device["device_id"] in output
    assert device["refresh_token"] not in output


def test_cli_lists_and_revokes_devices(client, server):
    key = DeviceKey()
    subject = f"w-{uuid.uuid4().hex[:8]}"
    device = register(client, key, token_for(Role.FIELD_WORKER, agency="cli-agency", subject=subject)).json()
    listed = fieldnav(server.database_url, "token", "devices", "--subject", subject)
    assert listed.returncode == 0, listed.stderr
    assert device["device_id"] in listed.stdout and "active" in listed.stdout and "cli-agency" in listed.stdout
    assert device["device_id"] in fieldnav(server.database_url, "token", "devices", "--agency", "cli-agency").stdout
    assert fieldnav(server.database_url, "token", "devices", "--agency", "nobody").stdout.strip() == "no devices"
    assert (
        fieldnav(server.database_url, "token", "revoke-device", device["device_id"]).returncode != 0
    )  # --reason required
    revoked = fieldnav(server.database_url, "token", "revoke-device", device["device_id"], "--reason", "phone lost")
    assert revoked.returncode == 0 and "revoked" in revoked.stdout
    _refused(refresh(client, key, device["refresh_token"]))
    assert "revoked" in fieldnav(server.database_url, "token", "devices", "--subject", subject).stdout
    assert fieldnav(server.database_url, "token", "revoke-device", str(uuid.uuid4()), "--reason", "x").returncode != 0
