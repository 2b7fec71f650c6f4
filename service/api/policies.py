"""Who may call what: one table for every route, enforced by one dependency (security.py).

A route missing from this table is refused to everyone (and fails the test suite, which
walks the app's routes), so a new endpoint cannot ship unprotected by accident.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.auth.principal import Role

ALL_ROLES = frozenset(Role)
# Everyone but providers, who see only their own services (service/capacity/grants.py).
STAFF_ROLES = ALL_ROLES - {Role.PROVIDER}


@dataclass(frozen=True)
class Policy:
    # None: no token needed at all (health checks, the contract itself).
    roles: frozenset[Role] | None
    # Directory reads may be opened to the public by FIELDNAV_AUTH_PUBLIC_READS.
    directory_read: bool = False
    # Counts against the stricter per-minute limit for expensive operations.
    expensive: bool = False
    # With no token needed: counted against the caller's address all the same.
    limited_by_address: bool = False


PUBLIC = Policy(roles=None)
DIRECTORY = Policy(roles=STAFF_ROLES, directory_read=True)
ANY_USER = Policy(roles=ALL_ROLES)
HANDOFF_CREATE = Policy(roles=frozenset({Role.FIELD_WORKER, Role.SUPERVISOR}))
NAVIGATOR = Policy(roles=frozenset({Role.NAVIGATOR}))
ADMIN = Policy(roles=frozenset({Role.ADMIN}))
# The requesting side follows its own handoffs (object-level rules in service/handoffs/access.py).
HANDOFF_REFERRER = Policy(roles=frozenset({Role.FIELD_WORKER, Role.SUPERVISOR}))
# Planners: anonymous, k-suppressed statistics (supervisors: their agency's; admins: all).
PLANNER = Policy(roles=frozenset({Role.SUPERVISOR, Role.ADMIN}))
# Live counts: a provider for the services it is granted (404 for any other), an admin for all.
CAPACITY = Policy(roles=frozenset({Role.PROVIDER, Role.ADMIN}))
PROVIDER = Policy(roles=frozenset({Role.PROVIDER}))
# Wrong data reported from the field; the 211 centre's navigators (their centre's reports)
# and admins (all) work the list.
REPORTER = Policy(roles=frozenset({Role.FIELD_WORKER, Role.SUPERVISOR, Role.NAVIGATOR}))
REPORT_DESK = Policy(roles=frozenset({Role.NAVIGATOR, Role.ADMIN}))
# A list of services left with the person (service/shares/): made by whoever is with them;
# its page is opened by anyone with the link, counted against their address.
SHARER = Policy(roles=frozenset({Role.FIELD_WORKER, Role.SUPERVISOR, Role.NAVIGATOR}))
SHARE_PAGE = Policy(roles=None, limited_by_address=True)
# Renewing an access token through a registered device (service/auth/devices.py) needs no
# bearer token, which may have expired: the refresh token and the device key's DPoP proof are
# the credentials. The route counts it against the caller's address, as anonymous requests are.
TOKEN_REFRESH = Policy(roles=None)

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
    # Device-bound refresh: any signed-in user registers and signs out their own devices.
    ("POST", "/v1/auth/devices"): ANY_USER,
    ("DELETE", "/v1/auth/devices/{device_id}"): ANY_USER,
    ("POST", "/v1/auth/refresh"): TOKEN_REFRESH,
    ("GET", "/v1/services/nearest"): DIRECTORY,
    ("GET", "/v1/services"): DIRECTORY,
    # Providers read their own services here too (404 for any other).
    ("GET", "/v1/services/{service_id}"): Policy(roles=ALL_ROLES, directory_read=True),
    ("GET", "/v1/services/{service_id}/capacity"): CAPACITY,
    ("PUT", "/v1/services/{service_id}/capacity"): CAPACITY,
    ("POST", "/v1/capacity"): CAPACITY,
    ("GET", "/v1/provider/services"): PROVIDER,
    ("POST", "/v1/services/{service_id}/reports"): REPORTER,
    ("POST", "/v1/shares"): SHARER,
    ("GET", "/s/{token}"): SHARE_PAGE,
    ("GET", "/s/{token}/qr.svg"): SHARE_PAGE,
    ("GET", "/v1/admin/reports"): REPORT_DESK,
    ("GET", "/v1/admin/reports.csv"): REPORT_DESK,
    ("GET", "/v1/admin/reports/{report_id}"): REPORT_DESK,
    ("POST", "/v1/admin/reports/{report_id}/resolve"): REPORT_DESK,
    ("GET", "/v1/admin/providers"): ADMIN,
    ("PUT", "/v1/admin/providers/{subject}/organizations/{organization_id}"): ADMIN,
    ("DELETE", "/v1/admin/providers/{subject}/organizations/{organization_id}"): ADMIN,
    ("GET", "/v1/categories"): DIRECTORY,
    # Finding a place by name, postal code or address (service/places/): read like the directory.
    ("GET", "/v1/places"): DIRECTORY,
    # The HSDS 3.0 API (service/api/routes/hsds.py): read like the directory, confidential rule included.
    ("GET", "/hsds/"): DIRECTORY,
    ("GET", "/hsds/services"): DIRECTORY,
    ("GET", "/hsds/services/{id}"): DIRECTORY,
    ("GET", "/hsds/organizations"): DIRECTORY,
    ("GET", "/hsds/organizations/{id}"): DIRECTORY,
    ("GET", "/hsds/taxonomies"): DIRECTORY,
    ("GET", "/hsds/taxonomies/{id}"): DIRECTORY,
    ("GET", "/hsds/taxonomy_terms"): DIRECTORY,
    ("GET", "/hsds/taxonomy_terms/{id}"): DIRECTORY,
    ("GET", "/hsds/service_at_locations"): DIRECTORY,
    ("GET", "/hsds/service_at_locations/{id}"): DIRECTORY,
    ("GET", "/v1/tiles/{z}/{x}/{y}.mvt"): DIRECTORY,
    ("GET", "/v1/tiles.json"): DIRECTORY,
    ("POST", "/v1/offline/packs"): Policy(roles=STAFF_ROLES, directory_read=True, expensive=True),
    ("GET", "/v1/offline/packs/{pack_id}"): DIRECTORY,
    ("GET", "/v1/offline/packs/{pack_id}.pmtiles"): DIRECTORY,
    ("GET", "/v1/offline/packs/{pack_id}/services.json"): DIRECTORY,
    ("GET", "/v1/sync/services"): DIRECTORY,
    # Handoffs to 211 navigators. Admins read no cases: they run centres, audit and statistics.
    ("POST", "/v1/handoffs"): HANDOFF_CREATE,
    ("GET", "/v1/handoffs"): HANDOFF_REFERRER,
    ("GET", "/v1/handoffs/{handoff_id}"): HANDOFF_REFERRER,
    ("POST", "/v1/handoffs/{handoff_id}/transitions"): HANDOFF_REFERRER,
    ("GET", "/v1/navigator/queue"): NAVIGATOR,
    ("GET", "/v1/navigator/handoffs/{handoff_id}"): NAVIGATOR,
    ("POST", "/v1/navigator/handoffs/{handoff_id}/claim"): NAVIGATOR,
    ("POST", "/v1/navigator/handoffs/{handoff_id}/transitions"): NAVIGATOR,
    ("POST", "/v1/navigator/handoffs/{handoff_id}/notes"): NAVIGATOR,
    ("GET", "/v1/stats/handoffs"): PLANNER,
    ("GET", "/v1/audit"): ADMIN,
    ("GET", "/v1/admin/centres"): ADMIN,
    ("GET", "/v1/admin/webhook-deliveries"): ADMIN,
    ("GET", "/v1/admin/sources"): ADMIN,  # HSDS API pulls (service/api/routes/sources.py)
    ("GET", "/v1/admin/devices"): ADMIN,
    ("POST", "/v1/admin/devices/{device_id}/revoke"): ADMIN,
    # The optional basemap (service/maps/basemap.py) is read like the directory's own tiles.
    ("GET", "/v1/basemap.json"): DIRECTORY,
    ("GET", "/v1/basemap/{z}/{x}/{y}"): DIRECTORY,
    ("GET", "/v1/offline/packs/{pack_id}/basemap.pmtiles"): DIRECTORY,
    # The field client's files (web/, service/api/routes/app_static.py): the app asks for a token itself.
    ("GET", "/app"): PUBLIC,
    ("GET", "/app/"): PUBLIC,
    ("GET", "/app/{path:path}"): PUBLIC,
}


def policy_for(method: str, path: str) -> Policy | None:
    if method == "HEAD":
        method = "GET"
    return POLICIES.get((method, path))
