"""Who may call what: one table for every route, enforced by one dependency (security.py).

A route missing from this table is refused to everyone (and fails the test suite, which
walks the app's routes), so a new endpoint cannot ship unprotected by accident.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.auth.principal import Role

ALL_ROLES = frozenset(Role)


@dataclass(frozen=True)
class Policy:
    # None: no token needed at all (health checks, the contract itself).
    roles: frozenset[Role] | None
    # Directory reads may be opened to the public by FIELDNAV_AUTH_PUBLIC_READS.
    directory_read: bool = False
    # Counts against the stricter per-minute limit for expensive operations.
    expensive: bool = False


PUBLIC = Policy(roles=None)
DIRECTORY = Policy(roles=ALL_ROLES, directory_read=True)
ANY_USER = Policy(roles=ALL_ROLES)
HANDOFF_CREATE = Policy(roles=frozenset({Role.FIELD_WORKER, Role.SUPERVISOR}))
HANDOFF_READ = Policy(roles=frozenset({Role.FIELD_WORKER, Role.SUPERVISOR, Role.NAVIGATOR, Role.ADMIN}))
NAVIGATOR = Policy(roles=frozenset({Role.NAVIGATOR}))
ADMIN = Policy(roles=frozenset({Role.ADMIN}))

POLICIES: dict[tuple[str, str], Policy] = {
    ("GET", "/"): PUBLIC,
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,  # restricted to the monitoring network at the load balancer
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
    ("GET", "/v1/me"): ANY_USER,
    ("GET", "/v1/services/nearest"): DIRECTORY,
    ("GET", "/v1/services"): DIRECTORY,
    ("GET", "/v1/services/{service_id}"): DIRECTORY,
    ("GET", "/v1/categories"): DIRECTORY,
    ("GET", "/v1/tiles/{z}/{x}/{y}.mvt"): DIRECTORY,
    ("GET", "/v1/tiles.json"): DIRECTORY,
    ("POST", "/v1/offline/packs"): Policy(roles=ALL_ROLES, directory_read=True, expensive=True),
    ("GET", "/v1/offline/packs/{pack_id}"): DIRECTORY,
    ("GET", "/v1/offline/packs/{pack_id}.pmtiles"): DIRECTORY,
    ("GET", "/v1/offline/packs/{pack_id}/services.json"): DIRECTORY,
    ("GET", "/v1/sync/services"): DIRECTORY,
}


def policy_for(method: str, path: str) -> Policy | None:
    if method == "HEAD":
        method = "GET"
    return POLICIES.get((method, path))
