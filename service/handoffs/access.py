"""Object-level rules: which handoffs a caller may see and act on.

- a field worker: the handoffs they created (same issuer and subject, same agency);
- a supervisor: every handoff created by their agency;
- a navigator: every handoff routed to their centre (the token's agency is the centre id);
- an admin: none (admins run the system: centres, audit, statistics; not cases).

A handoff outside these rules does not exist for the caller: 404, never 403, so ids do not
leak existence.
"""

from __future__ import annotations

from service.auth.principal import Principal, Role
from service.platform.problems import Problem

NOTHING: tuple[str, dict[str, object]] = ("false", {})


def visible(principal: Principal, alias: str = "h") -> tuple[str, dict]:
    """A SQL condition on handoff ``alias`` (and its bound parameters) true for the handoffs
    ``principal`` may see."""
    if principal.role is Role.FIELD_WORKER:
        return (
            f"({alias}.requesting_agency = :v_agency AND {alias}.requested_by_issuer = :v_issuer"
            f" AND {alias}.requested_by_subject = :v_subject)",
            {"v_agency": principal.agency, "v_issuer": principal.issuer, "v_subject": principal.subject},
        )
    if principal.role is Role.SUPERVISOR:
        return f"({alias}.requesting_agency = :v_agency)", {"v_agency": principal.agency}
    if principal.role is Role.NAVIGATOR:
        return f"({alias}.centre_id = :v_agency)", {"v_agency": principal.agency}
    return NOTHING


def not_found(handoff_id) -> Problem:
    return Problem(
        404,
        "not-found",
        f"No handoff with id {handoff_id}.",
        detail_fr=f"Aucun transfert ne porte l’identifiant {handoff_id}.",
    )
