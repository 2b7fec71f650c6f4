"""Which services a provider account may read and update: those of the HSDS organizations
an admin granted it (``fieldnav provider grant``, ``PUT /v1/admin/providers/...``).

A grant names the account by issuer and subject (``Principal.key``): the same subject from
another identity provider is another person. Outside its grants a provider is told "no such
service" (404), never "forbidden" (403): which services exist is not its business.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Connection, text

from service.auth.principal import Principal, Role
from service.platform.problems import Problem


def principal_key(issuer: str, subject: str) -> str:
    return f"{issuer}|{subject}"


def service_not_found(service_id: uuid.UUID | str) -> Problem:
    return Problem(
        404,
        "not-found",
        f"No service with id {service_id}.",
        detail_fr=f"Aucun service ne porte l’identifiant {service_id}.",
    )


_IN_SCOPE = text("""
SELECT s.id FROM service s
WHERE s.id = ANY(:ids) AND (NOT :provider OR EXISTS (
    SELECT 1 FROM provider_grant g WHERE g.principal_key = :key AND g.organization_id = s.organization_id))
""")


def in_scope(connection: Connection, principal: Principal | None, service_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Those of ``service_ids`` that exist and that ``principal`` may see as a provider
    (every existing one for other roles)."""
    provider = principal is not None and principal.role is Role.PROVIDER
    key = principal.key if principal is not None else ""
    return set(connection.execute(_IN_SCOPE, {"ids": list(service_ids), "provider": provider, "key": key}).scalars())


def require(connection: Connection, principal: Principal | None, service_id: uuid.UUID) -> None:
    """404 unless the service exists and is the provider's."""
    if service_id not in in_scope(connection, principal, [service_id]):
        raise service_not_found(service_id)


_SERVICES_OF = text("""
SELECT s.id, s.name, s.status, o.id AS organization_id, o.name AS organization_name
FROM provider_grant g
JOIN organization o ON o.id = g.organization_id
JOIN service s ON s.organization_id = o.id
WHERE g.principal_key = :key
ORDER BY o.name, s.name, s.id
""")


def services_of(connection: Connection, principal: Principal) -> list[dict]:
    return [dict(row._mapping) for row in connection.execute(_SERVICES_OF, {"key": principal.key})]


class UnknownOrganization(LookupError):
    pass


def grant(connection: Connection, *, issuer: str, subject: str, organization_id: uuid.UUID, granted_by: str) -> bool:
    """Grant the organization's services; True when the grant is new. Raises
    UnknownOrganization when no imported organization has this id."""
    if connection.execute(text("SELECT 1 FROM organization WHERE id = :id"), {"id": organization_id}).first() is None:
        raise UnknownOrganization(str(organization_id))
    row = connection.execute(
        text("""
        INSERT INTO provider_grant (principal_key, organization_id, granted_by) VALUES (:key, :org, :by)
        ON CONFLICT DO NOTHING RETURNING 1
    """),
        {"key": principal_key(issuer, subject), "org": organization_id, "by": granted_by},
    ).first()
    return row is not None


def revoke(connection: Connection, *, issuer: str, subject: str, organization_id: uuid.UUID) -> bool:
    """True when a grant was removed."""
    return (
        connection.execute(
            text("DELETE FROM provider_grant WHERE principal_key = :key AND organization_id = :org"),
            {"key": principal_key(issuer, subject), "org": organization_id},
        ).rowcount
        == 1
    )


def list_grants(connection: Connection) -> list[dict]:
    """Every provider account with its organizations (name, service count)."""
    rows = connection.execute(
        text("""
        SELECT g.principal_key, g.organization_id, g.granted_by, g.granted_at, o.name AS organization_name,
               (SELECT count(*) FROM service s WHERE s.organization_id = g.organization_id) AS service_count
        FROM provider_grant g LEFT JOIN organization o ON o.id = g.organization_id
        ORDER BY g.principal_key, o.name, g.organization_id
    """)
    )
    accounts: dict[str, dict] = {}
    for row in rows:
        issuer, _, subject = row.principal_key.partition("|")
        account = accounts.setdefault(row.principal_key, {"issuer": issuer, "subject": subject, "organizations": []})
        account["organizations"].append(
            {
                "id": str(row.organization_id),
                "name": row.organization_name,
                "service_count": int(row.service_count),
                "granted_by": row.granted_by,
                "granted_at": row.granted_at.isoformat(),
            }
        )
    return list(accounts.values())
