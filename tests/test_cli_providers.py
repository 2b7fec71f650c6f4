"""`fieldnav provider grant|revoke|list` as an operator runs them, and what a grant gives: a
provider token can update the organization's services, and no other."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import create_engine, text

from service.auth.principal import Role
from service.auth.tokens import create_token
from tests.support.cli import fieldnav
from tests.support.servers import start_server, stop_server


def _two_organizations(database_url: str) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID, uuid.UUID]:
    """(organization A, one of its services, organization B, one of its services)."""
    engine = create_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(
            text("""
            SELECT DISTINCT ON (s.organization_id) s.organization_id, s.id FROM service s
            JOIN service_site ss ON ss.service_id = s.id
            WHERE s.organization_id IS NOT NULL ORDER BY s.organization_id, s.id LIMIT 2
        """)
        ).all()
    engine.dispose()
    (org_a, service_a), (org_b, service_b) = rows
    return org_a, service_a, org_b, service_b


def test_grant_list_revoke_and_what_the_grant_allows(database_url):
    loaded = fieldnav(database_url, "demo-data", "--services", "60", "--seed", "5")
    assert loaded.returncode == 0, loaded.stderr
    org_a, service_a, _org_b, service_b = _two_organizations(database_url)

    unknown = fieldnav(database_url, "provider", "grant", "--subject", "desk-1", "--organization", str(uuid.uuid4()))
    assert unknown.returncode == 1 and "no organization with id" in unknown.stderr
    granted = fieldnav(database_url, "provider", "grant", "--subject", "desk-1", "--organization", str(org_a))
    assert granted.returncode == 0 and "granted organization" in granted.stdout, granted.stderr
    again = fieldnav(database_url, "provider", "grant", "--subject", "desk-1", "--organization", str(org_a))
    assert "already granted" in again.stdout
    listed = fieldnav(database_url, "provider", "list")
    assert listed.returncode == 0 and "desk-1 (fieldnav)" in listed.stdout and str(org_a) in listed.stdout

    token, _ = create_token(agency="shelter", role=Role.PROVIDER, subject="desk-1", ttl=timedelta(hours=1))
    server = start_server(database_url)
    try:
        with server.client() as client:
            headers = {"Authorization": f"Bearer {token}"}
            body = {"capacities": [{"unit": "beds", "available": 4, "maximum": 20}]}
            own = client.put(
                f"/v1/services/{service_a}/capacity",
                json=body,
                headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
            )
            assert own.status_code == 200, own.text
            other = client.put(
                f"/v1/services/{service_b}/capacity",
                json=body,
                headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
            )
            assert other.status_code == 404 and other.headers["content-type"] == "application/problem+json"

            revoked = fieldnav(database_url, "provider", "revoke", "--subject", "desk-1", "--organization", str(org_a))
            assert revoked.returncode == 0 and "revoked" in revoked.stdout
            after = client.get(f"/v1/services/{service_a}/capacity", headers=headers)
            assert after.status_code == 404
    finally:
        stop_server(server)
    twice = fieldnav(database_url, "provider", "revoke", "--subject", "desk-1", "--organization", str(org_a))
    assert twice.returncode == 1 and "has no grant" in twice.stderr
