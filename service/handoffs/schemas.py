"""Response shapes of the handoff API, for the OpenAPI contract (mobile_api_spec/openapi.yaml).

The routes build plain dicts (service/handoffs/commands.py and queries.py); these models
document them. Fields that only the navigator view carries are marked so.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class CentreSummary(BaseModel):
    id: str = Field(examples=["211-ontario"])
    name_en: str = Field(examples=["211 Ontario"])
    name_fr: str = Field(examples=["211 Ontario"])
    phone: str = Field(examples=["211"])
    tel: str = Field(description="RFC 3966 tel: URI of the navigator line.", examples=["tel:211;phone-context=+1"])
    always_open: bool | None = None
    timezone: str | None = None


class CallbackWindow(BaseModel):
    earliest: str = Field(description="ISO 8601: when a call may come from (now, or the line's next opening).")
    latest: str = Field(description="ISO 8601: the call should have come by then.")
    within_open_hours_h: float | None = Field(default=None, description="The centre's target, in open hours.")


class Bilingual(BaseModel):
    en: str
    fr: str


class Emergency(Bilingual):
    tel: str = Field(examples=["tel:911"])


class CreatedContact(BaseModel):
    method: str = Field(description="phone | do_not_contact | none", examples=["phone"])
    phone_kept: bool = Field(description="false when no `contact` consent was given: the number was not stored.")
    anonymous: bool


class CreatedLocation(BaseModel):
    precision: str = Field(description="none | cell (H3 r7, ~5 km²) | exact (consented, navigator must attend)")


class HandoffCreated(BaseModel):
    """The answer to one tap. It holds no personal data (it is stored for Idempotency-Key replays)."""

    id: str
    status: str = Field(examples=["requested"])
    urgency: str = Field(examples=["urgent"])
    created_at: str
    centre: CentreSummary
    navigator_line: str = Field(description="tel: URI to call the centre serving the area.", examples=["tel:211;phone-context=+1"])
    callback_window: CallbackWindow | None = Field(description="Expected callback; null when there is nobody to call back.")
    contact: CreatedContact
    location: CreatedLocation
    next_steps: Bilingual
    emergency: Emergency = Field(description="Imminent danger is 911, not a callback.")
    links: dict[str, str]


class HistoryActor(BaseModel):
    role: str
    agency: str
    subject: str | None = Field(default=None, description="Navigator view only.")


class HistoryEntry(BaseModel):
    type: str = Field(description="status | owner (owner changes: navigator view only)")
    status: str
    from_: str | None = Field(default=None, alias="from")
    at: str
    by: HistoryActor
    reason: str | None = None
    owner: str | None = Field(default=None, description="Navigator view only: who took the handoff.")


class Requester(BaseModel):
    agency: str
    role: str | None = None
    subject: str | None = None


class HandoffNeeds(BaseModel):
    groups: list[str]
    has_note: bool | None = Field(default=None, description="Referrer view and queue: whether a note was sent.")
    note: str | None = Field(default=None, description="Navigator view only.")


class HandoffContact(BaseModel):
    method: str
    callback_window: CallbackWindow | None = None
    phone: str | None = Field(default=None, description="Navigator view only (E.164).")
    tel: str | None = Field(default=None, description="Navigator view only.")
    safe_times: list[dict] | None = Field(default=None, description="Navigator view only.")
    voicemail_ok: bool | None = Field(default=None, description="Navigator view only.")
    alternative: str | None = Field(default=None, description="Navigator view only.")


class HandoffLocation(BaseModel):
    precision: str
    cell: str | None = Field(default=None, description="Navigator view: H3 r7 cell.")
    lat: float | None = Field(default=None, description="Navigator view, consented exact location only.")
    lon: float | None = None


class Owner(BaseModel):
    centre_id: str | None = None
    claimed: bool | None = Field(default=None, description="Referrer view.")
    navigator: str | None = Field(default=None, description="Navigator view.")
    mine: bool | None = Field(default=None, description="Navigator view.")


class Person(BaseModel):
    name: str | None = None
    language: str
    interpreter_needed: bool


class NavigatorNote(BaseModel):
    id: str
    at: str
    author: str
    text: str


class Handoff(BaseModel):
    """One handoff. The referrer view has no personal data and no navigator notes; the
    navigator view adds `person`, the contact details, the exact location and `notes`."""

    id: str
    version: int
    status: str
    urgency: str
    language: str
    interpreter_needed: bool
    centre: CentreSummary
    requester: Requester
    consent: dict | None
    suggested_services: list[str]
    created_at: str
    updated_at: str
    closed_at: str | None
    purged: bool = Field(description="Personal data removed after the retention period.")
    needs: HandoffNeeds
    owner: Owner
    contact: HandoffContact
    location: HandoffLocation
    history: list[HistoryEntry]
    person: Person | None = Field(default=None, description="Navigator view only.")
    notes: list[NavigatorNote] | None = Field(default=None, description="Navigator view only.")
    links: dict[str, str]


class HandoffPage(BaseModel):
    handoffs: list[Handoff]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")
    sync_from: str | None = Field(description="On the last page: pass as `updated_after` next time "
                                              "(it overlaps a little; de-duplicate by id and version).")


class QueueItem(BaseModel):
    id: str
    version: int
    status: str
    urgency: str
    needs: HandoffNeeds
    language: str
    interpreter_needed: bool
    contact_method: str
    callback_window: CallbackWindow | None
    location: HandoffLocation
    owner: Owner
    requester: Requester
    created_at: str
    updated_at: str
    links: dict[str, str]


class QueuePage(BaseModel):
    handoffs: list[QueueItem]
    next_cursor: str | None


class StatusChange(BaseModel):
    id: str
    status: str
    previous_status: str
    changed: bool
    version: int
    updated_at: str
    closed_at: str | None
    links: dict[str, str]


class NoteCreated(BaseModel):
    id: str
    handoff_id: str
    created_at: str
    links: dict[str, str]


class StatsGroup(BaseModel):
    need: str
    week: str = Field(description="Monday of the week (local time).")
    cell: str | None = Field(description="H3 cell at the requested resolution; null: no location given.")
    count: int


class HandoffStats(BaseModel):
    k: int = Field(description="Groups counting fewer handoffs than this are suppressed.")
    resolution: int
    since: str
    until: str
    groups: list[StatsGroup]
    suppressed_groups: int


class AuditEntry(BaseModel):
    id: int
    at: str
    actor_issuer: str
    actor_subject: str
    actor_agency: str
    actor_role: str
    action: str
    handoff_id: str | None
    fields: list[str]
    purpose: str
    detail: dict | None


class AuditPage(BaseModel):
    entries: list[AuditEntry]
    next_after_id: int | None


class CentreInfo(BaseModel):
    id: str
    name_en: str
    name_fr: str
    phone: str
    tel_uri: str
    languages: list[str]
    area_km2: float
    has_webhook: bool
    source: str
    loaded_at: str
    open_handoffs: int
    default: bool


class CentreList(BaseModel):
    centres: list[CentreInfo]


class Delivery(BaseModel):
    event_id: str
    event_type: str
    handoff_id: str
    centre_id: str
    state: str
    attempts: int
    created_at: str
    last_attempt_at: str | None
    next_attempt_at: str
    delivered_at: str | None
    last_error: str | None


class DeliveryList(BaseModel):
    deliveries: list[Delivery]
