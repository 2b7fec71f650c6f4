"""The handoff state machine: which status changes exist, who may make each, which need a reason.

Two kinds of actor change a handoff:

- the *requester*: the field worker who created it, or a supervisor of the same agency;
- the *navigator*: a navigator of the centre that owns it (once it is accepted, the
  navigator who claimed it; others take it over first).

```
requested    -> accepted (N), rejected (N, reason), cancelled (R, reason), entered-in-error (R)
accepted     -> in-progress (N), on-hold (N, reason), failed (N, reason), cancelled (R, reason), entered-in-error (R)
in-progress  -> on-hold (N, reason), completed (N), failed (N, reason), cancelled (R, reason), entered-in-error (R)
on-hold      -> in-progress (N), failed (N, reason), cancelled (R, reason), entered-in-error (R)
rejected, completed, failed, cancelled -> entered-in-error (R)
entered-in-error -> (nothing)
```

Pure: no database, no HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from service.auth.principal import Role
from service.handoffs.model import FINAL_STATUSES, Status
from service.platform.problem_texts import status_fr


class Actor(StrEnum):
    REQUESTER = "requester"
    NAVIGATOR = "navigator"


ACTOR_OF_ROLE = {Role.FIELD_WORKER: Actor.REQUESTER, Role.SUPERVISOR: Actor.REQUESTER, Role.NAVIGATOR: Actor.NAVIGATOR}

REASON_REQUIRED = frozenset({Status.REJECTED, Status.ON_HOLD, Status.FAILED, Status.CANCELLED})

S, R, N = Status, Actor.REQUESTER, Actor.NAVIGATOR
TRANSITIONS: dict[tuple[Status, Status], Actor] = {
    (S.REQUESTED, S.ACCEPTED): N,
    (S.REQUESTED, S.REJECTED): N,
    (S.REQUESTED, S.CANCELLED): R,
    (S.ACCEPTED, S.IN_PROGRESS): N,
    (S.ACCEPTED, S.ON_HOLD): N,
    (S.ACCEPTED, S.FAILED): N,
    (S.ACCEPTED, S.CANCELLED): R,
    (S.IN_PROGRESS, S.ON_HOLD): N,
    (S.IN_PROGRESS, S.COMPLETED): N,
    (S.IN_PROGRESS, S.FAILED): N,
    (S.IN_PROGRESS, S.CANCELLED): R,
    (S.ON_HOLD, S.IN_PROGRESS): N,
    (S.ON_HOLD, S.FAILED): N,
    (S.ON_HOLD, S.CANCELLED): R,
    # The requester may always withdraw a record made by mistake (FHIR: entered-in-error).
    **{(status, S.ENTERED_IN_ERROR): R for status in Status if status is not S.ENTERED_IN_ERROR},
}
del S, R, N


class Refusal(StrEnum):
    NO_SUCH_TRANSITION = "invalid-transition"  # 409: not in the state machine at all
    NOT_YOURS_TO_MAKE = "transition-forbidden"  # 403: exists, but another actor makes it
    REASON_MISSING = "reason-required"  # 422


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    refusal: Refusal | None = None
    detail: str = ""
    detail_fr: str = ""


def check(current: Status, target: Status, actor: Actor, reason: str | None) -> Verdict:
    """May ``actor`` move a handoff from ``current`` to ``target`` (with ``reason``)?"""
    allowed_actor = TRANSITIONS.get((current, target))
    if allowed_actor is None:
        if current in FINAL_STATUSES:
            detail = f"The handoff is {current} (closed); it cannot become {target}."
            detail_fr = f"Ce transfert est {status_fr(current)} (fermé) ; il ne peut plus passer à {status_fr(target)}."
        else:
            reachable = targets(current)
            detail = (
                f"A handoff cannot go from {current} to {target}. From {current}: {', '.join(reachable) or 'nothing'}."
            )
            detail_fr = (
                f"Un transfert ne peut pas passer de {status_fr(current)} à {status_fr(target)}. "
                f"À partir de {status_fr(current)} : {', '.join(map(status_fr, reachable)) or 'aucun changement'}."
            )
        return Verdict(False, Refusal.NO_SUCH_TRANSITION, detail, detail_fr)
    if allowed_actor is not actor:
        who = "the requesting agency" if allowed_actor is Actor.REQUESTER else "the navigator centre"
        who_fr = "l’organisme demandeur" if allowed_actor is Actor.REQUESTER else "le centre du 211"
        return Verdict(
            False,
            Refusal.NOT_YOURS_TO_MAKE,
            f"Only {who} may move a handoff from {current} to {target}.",
            f"Seul {who_fr} peut faire passer un transfert de {status_fr(current)} à {status_fr(target)}.",
        )
    if target in REASON_REQUIRED and not reason:
        return Verdict(
            False,
            Refusal.REASON_MISSING,
            f"A reason is required to make a handoff {target}.",
            f"Indiquez un motif pour faire passer le transfert à {status_fr(target)}.",
        )
    return Verdict(True)


def targets(current: Status, actor: Actor | None = None) -> list[Status]:
    """Statuses reachable from ``current`` (by ``actor`` when given), in status order."""
    return [to for (frm, to), who in TRANSITIONS.items() if frm is current and (actor is None or who is actor)]


def is_final(status: Status) -> bool:
    return status in FINAL_STATUSES
