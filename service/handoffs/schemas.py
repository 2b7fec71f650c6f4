"""Response shapes of the handoff API, for the OpenAPI contract (mobile_api_spec/openapi.yaml).

The routes build plain dicts (service/handoffs/commands.py and queries.py); these models
document them. Fields that only the navigator view carries are marked so.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field


class CentreSummary(BaseModel):
    id: str = Field(examples=["211-ontario"])
    name_en: str = Field(examples=["211 Ontario"])
    name_fr: str = Field(examples=["211 Ontario"])
    phone: str = Field(examples=["211"])
    tel: str = Field(description="RFC 3966 tel: URI of the navigator line.", examples=["tel:211;phone-context=+1"])
    always_open: bool | None = None
    timezone: str | None = Field(default=None, examples=["America/Toronto"])


class CallbackWindow(BaseModel):
    earliest: str = Field(
        description="ISO 8601: when a call may come from (now, or the line's next opening).",
        examples=["2026-11-25T14:03:11-05:00"],
    )
    latest: str = Field(
        examples=["2026-11-25T15:03:11-05:00"], description="ISO 8601: the call should have come by then."
    )
    within_open_hours_h: float | None = Field(
        examples=[1], default=None, description="The centre's target, in open hours."
    )


class Bilingual(BaseModel):
    en: str = Field(examples=["A 211 navigator will call you back within the hour."])
    fr: str = Field(examples=["Un ou une intervenante du 211 vous rappellera d'ici une heure."])


class Emergency(Bilingual):
    tel: str = Field(examples=["tel:911"])


class CreatedContact(BaseModel):
    method: str = Field(description="phone | do_not_contact | none", examples=["phone"])
    phone_kept: bool = Field(description="false when no `contact` consent was given: the number was not stored.")
    anonymous: bool


class CreatedLocation(BaseModel):
    precision: str = Field(
        examples=["cell"], description="none | cell (H3 r7, ~5 km²) | exact (consented, navigator must attend)"
    )


# The handoff's reference code (service/handoffs/reference.py), in every view of it.
Reference = Annotated[
    str,
    Field(
        description="A short code to read out on the phone (no look-alike characters): the navigator finds the handoff "
        "with GET /v1/navigator/queue?reference=.",
        pattern=r"^[2-9A-HJKMNP-TV-Z]{3}-[2-9A-HJKMNP-TV-Z]{3}$",
        examples=["K7M-4QX"],
    ),
]


class HandoffCreated(BaseModel):
    """The answer to one tap. It holds no personal data (it is stored for Idempotency-Key replays)."""

    id: str = Field(examples=["5b0e3c1e-8a4f-4b6e-9d2a-1f3c5e7a9b0d"])
    reference: Reference
    status: str = Field(examples=["requested"])
    urgency: str = Field(examples=["urgent"])
    created_at: str = Field(examples=["2026-11-25T14:03:11-05:00"])
    centre: CentreSummary
    navigator_line: str = Field(
        description="tel: URI to call the centre serving the area.", examples=["tel:211;phone-context=+1"]
    )
    callback_window: CallbackWindow | None = Field(
        description="Expected callback; null when there is nobody to call back."
    )
    contact: CreatedContact
    location: CreatedLocation
    next_steps: Bilingual
    emergency: Emergency = Field(description="Imminent danger is 911, not a callback.")
    links: dict[str, str]


class HistoryActor(BaseModel):
    role: str = Field(examples=["field_worker"])
    agency: str = Field(examples=["toronto-police"])
    subject: str | None = Field(examples=["nav-17"], default=None, description="Navigator view only.")


class HistoryEntry(BaseModel):
    type: str = Field(examples=["status"], description="status | owner (owner changes: navigator view only)")
    status: str = Field(examples=["accepted"])
    from_: str | None = Field(default=None, alias="from")
    at: str = Field(examples=["2026-11-25T14:03:11-05:00"])
    by: HistoryActor
    reason: str | None = Field(default=None, examples=["Called back; bed found."])
    owner: str | None = Field(
        examples=["nav-17"], default=None, description="Navigator view only: who took the handoff."
    )


class Requester(BaseModel):
    agency: str = Field(examples=["toronto-police"])
    role: str | None = Field(default=None, examples=["field_worker"])
    subject: str | None = Field(default=None, examples=["badge-4411"])


class HandoffNeeds(BaseModel):
    groups: list[str] = Field(examples=[["shelter", "mental_health"]])
    has_note: bool | None = Field(default=None, description="Referrer view and queue: whether a note was sent.")
    note: str | None = Field(examples=["Needs a bed tonight."], default=None, description="Navigator view only.")


class HandoffContact(BaseModel):
    method: str = Field(examples=["phone"])
    callback_window: CallbackWindow | None = None
    phone: str | None = Field(examples=["+14165550199"], default=None, description="Navigator view only (E.164).")
    tel: str | None = Field(examples=["tel:+14165550199"], default=None, description="Navigator view only.")
    safe_times: list[dict] | None = Field(
        examples=[[{"days": ["mon"], "start": "09:00:00", "end": "17:00:00"}]],
        default=None,
        description="Navigator view only.",
    )
    voicemail_ok: bool | None = Field(default=None, description="Navigator view only.")
    alternative: str | None = Field(
        examples=["Through the shelter's front desk."], default=None, description="Navigator view only."
    )


class HandoffLocation(BaseModel):
    precision: str = Field(examples=["cell"])
    cell: str | None = Field(examples=["872b9bc9bffffff"], default=None, description="Navigator view: H3 r7 cell.")
    lat: float | None = Field(
        examples=[43.6534], default=None, description="Navigator view, consented exact location only."
    )
    lon: float | None = Field(default=None, examples=[-79.3839])


class Owner(BaseModel):
    centre_id: str | None = Field(default=None, examples=["211-ontario"])
    claimed: bool | None = Field(default=None, description="Referrer view.")
    navigator: str | None = Field(examples=["nav-17"], default=None, description="Navigator view.")
    mine: bool | None = Field(default=None, description="Navigator view.")


class Person(BaseModel):
    name: str | None = Field(default=None, examples=["Sam"])
    language: str = Field(examples=["fr"])
    interpreter_needed: bool


class NavigatorNote(BaseModel):
    id: str = Field(examples=["c4d5e6f7-0819-4a2b-9c3d-4e5f6a7b8c9d"])
    at: str = Field(examples=["2026-11-25T14:03:11-05:00"])
    author: str = Field(examples=["nav-17"])
    text: str = Field(examples=["Called back at 14:10; bed held at Seaton House."])


class Handoff(BaseModel):
    """One handoff. The referrer view has no personal data and no navigator notes; the
    navigator view adds `person`, the contact details, the exact location and `notes`."""

    id: str = Field(examples=["5b0e3c1e-8a4f-4b6e-9d2a-1f3c5e7a9b0d"])
    reference: Reference
    version: int = Field(examples=[3])
    status: str = Field(examples=["accepted"])
    urgency: str = Field(examples=["urgent"])
    language: str = Field(examples=["fr"])
    interpreter_needed: bool
    centre: CentreSummary
    requester: Requester
    consent: dict | None = Field(
        examples=[
            {
                "type": "verbal",
                "scope": ["contact"],
                "script_version": "on-211-2026.1",
                "recorded_by": "badge-4411",
                "recorded_at": "2026-11-25T14:03:11-05:00",
            }
        ]
    )
    suggested_services: list[str] = Field(examples=[["9c1d7e2a-3b4f-4c5d-8e6f-7a8b9c0d1e2f"]])
    created_at: str = Field(examples=["2026-11-25T14:03:11-05:00"])
    updated_at: str = Field(examples=["2026-11-25T14:10:42-05:00"])
    closed_at: str | None = Field(examples=[None])
    purged: bool = Field(description="Personal data removed after the retention period.")
    needs: HandoffNeeds
    owner: Owner
    contact: HandoffContact
    location: HandoffLocation
    history: list[HistoryEntry]
    person: Person | None = Field(default=None, description="Navigator view only.")
    notes: list[NavigatorNote] | None = Field(examples=[[]], default=None, description="Navigator view only.")
    links: dict[str, str]


class HandoffPage(BaseModel):
    handoffs: list[Handoff]
    next_cursor: str | None = Field(
        examples=[None], description="Pass as `cursor` for the next page; null on the last page."
    )
    sync_from: str | None = Field(
        examples=["2026-11-25T14:10:42-05:00"],
        description="On the last page: pass as `updated_after` next time "
        "(it overlaps a little; de-duplicate by id and version).",
    )


class QueueItem(BaseModel):
    id: str = Field(examples=["5b0e3c1e-8a4f-4b6e-9d2a-1f3c5e7a9b0d"])
    reference: Reference
    version: int = Field(examples=[1])
    status: str = Field(examples=["requested"])
    urgency: str = Field(examples=["urgent"])
    needs: HandoffNeeds
    language: str = Field(examples=["fr"])
    interpreter_needed: bool
    contact_method: str = Field(examples=["phone"])
    callback_window: CallbackWindow | None
    location: HandoffLocation
    owner: Owner
    requester: Requester
    created_at: str = Field(examples=["2026-11-25T14:03:11-05:00"])
    updated_at: str = Field(examples=["2026-11-25T14:03:11-05:00"])
    links: dict[str, str]


class QueuePage(BaseModel):
    handoffs: list[QueueItem]
    next_cursor: str | None = Field(examples=[None])


class StatusChange(BaseModel):
    id: str = Field(examples=["5b0e3c1e-8a4f-4b6e-9d2a-1f3c5e7a9b0d"])
    status: str = Field(examples=["in-progress"])
    previous_status: str = Field(examples=["accepted"])
    changed: bool
    version: int = Field(examples=[4])
    updated_at: str = Field(examples=["2026-11-25T14:03:11-05:00"])
    closed_at: str | None = Field(examples=[None])
    links: dict[str, str]


class NoteCreated(BaseModel):
    id: str = Field(examples=["c4d5e6f7-0819-4a2b-9c3d-4e5f6a7b8c9d"])
    handoff_id: str = Field(examples=["5b0e3c1e-8a4f-4b6e-9d2a-1f3c5e7a9b0d"])
    created_at: str = Field(examples=["2026-11-25T14:03:11-05:00"])
    links: dict[str, str]


class StatsGroup(BaseModel):
    need: str = Field(examples=["shelter"])
    week: str = Field(examples=["2026-11-23"], description="Monday of the week (local time).")
    cell: str | None = Field(
        examples=["872b9bc9bffffff"], description="H3 cell of resolution 7; null: no location given."
    )
    count: int = Field(examples=[14])


class HandoffStats(BaseModel):
    k: int = Field(examples=[10], description="Groups counting fewer handoffs than this are suppressed.")
    resolution: int = Field(examples=[7], description="H3 resolution of the cells: always 7.")
    since: str = Field(examples=["2026-09-01"])
    until: str = Field(examples=["2026-11-30"])
    groups: list[StatsGroup]
    suppressed_groups: int = Field(examples=[3])


class AuditEntry(BaseModel):
    id: int = Field(examples=[1042])
    at: str = Field(examples=["2026-11-25T14:03:11-05:00"])
    actor_issuer: str = Field(examples=["fieldnav"])
    actor_subject: str = Field(examples=["nav-17"])
    actor_agency: str = Field(examples=["211-ontario"])
    actor_role: str = Field(examples=["navigator"])
    action: str = Field(examples=["read"])
    handoff_id: str | None = Field(examples=["5b0e3c1e-8a4f-4b6e-9d2a-1f3c5e7a9b0d"])
    fields: list[str] = Field(examples=[["phone", "name", "note"]])
    purpose: str = Field(examples=["navigator opens the handoff to call back"])
    detail: dict | None = Field(examples=[None])


class AuditPage(BaseModel):
    entries: list[AuditEntry]
    next_after_id: int | None = Field(examples=[None])


class CentreInfo(BaseModel):
    id: str = Field(examples=["211-ontario"])
    name_en: str = Field(examples=["211 Ontario"])
    name_fr: str = Field(examples=["211 Ontario"])
    phone: str = Field(examples=["211"])
    tel_uri: str = Field(examples=["tel:211;phone-context=+1"])
    languages: list[str] = Field(examples=[["en", "fr"]])
    area_km2: float = Field(examples=[1076395.0])
    has_webhook: bool
    source: str = Field(examples=["service/data/centres/ontario.json"])
    loaded_at: str = Field(examples=["2026-11-25T14:03:11-05:00"])
    open_handoffs: int = Field(examples=[12])
    default: bool


class CentreList(BaseModel):
    centres: list[CentreInfo]


class Delivery(BaseModel):
    event_id: str = Field(examples=["c4d5e6f7-0819-4a2b-9c3d-4e5f6a7b8c9d"])
    event_type: str = Field(examples=["handoff.created"])
    handoff_id: str | None = Field(
        examples=["5b0e3c1e-8a4f-4b6e-9d2a-1f3c5e7a9b0d"],
        description="The handoff of a handoff.* event (null for a report event).",
    )
    report_id: str | None = Field(
        default=None, examples=[None], description="The field report of a report.* event (null for a handoff event)."
    )
    centre_id: str = Field(examples=["211-east"])
    state: str = Field(examples=["dead"])
    attempts: int = Field(examples=[8])
    created_at: str = Field(examples=["2026-11-25T14:03:11-05:00"])
    last_attempt_at: str | None = Field(examples=["2026-11-26T02:03:11-05:00"])
    next_attempt_at: str = Field(examples=["2026-11-26T02:03:11-05:00"])
    delivered_at: str | None = Field(examples=[None])
    last_error: str | None = Field(examples=["HTTP 503 from the centre's webhook"])


class DeliveryList(BaseModel):
    deliveries: list[Delivery]
