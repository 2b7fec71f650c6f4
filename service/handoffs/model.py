"""What a handoff is: statuses, urgencies, and the request bodies the API accepts.

A handoff follows FHIR's ServiceRequest + Task as the Gravity Project's SDOH referral
pattern uses them: *what* is needed (``needs``: category groups and a short note), *for whom*
(the person, possibly anonymous, with a language), *requested by* (worker and agency),
*owned by* a navigator centre (and, once claimed, a navigator), and a Task-like ``status``
with its history.

Personal fields (callback phone, name, note, contact details, exact location) are validated
here and encrypted before they reach the database; they never appear in logs or in error
messages (validators never echo input).
"""

from __future__ import annotations

import re
from datetime import time
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from service.directory.categories import category_codes
from service.platform import moments
from service.platform.phones import InvalidPhone, normalise_phone
from service.platform.problem_texts import field_error
from service.platform.settings import handoff_settings


class Status(StrEnum):
    """FHIR Task statuses fieldnav uses (``draft``, ``received`` and ``ready`` are not needed)."""

    REQUESTED = "requested"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    IN_PROGRESS = "in-progress"
    ON_HOLD = "on-hold"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    ENTERED_IN_ERROR = "entered-in-error"


FINAL_STATUSES = frozenset(
    {Status.REJECTED, Status.COMPLETED, Status.FAILED, Status.CANCELLED, Status.ENTERED_IN_ERROR}
)
OPEN_STATUSES = tuple(s for s in Status if s not in FINAL_STATUSES)


class Urgency(StrEnum):
    ROUTINE = "routine"
    URGENT = "urgent"


class ConsentScope(StrEnum):
    CONTACT = "contact"  # keep the callback phone, name and contact details; call back
    LOCATION = "location"  # keep the exact location (only when a navigator must go there)


class ContactMethod(StrEnum):
    PHONE = "phone"
    DO_NOT_CONTACT = "do_not_contact"
    NONE = "none"  # anonymous: nothing kept to reach the person


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


# A category group code, documented as the list of codes (validated below, with a better message).
CategoryCode = Annotated[str, WithJsonSchema({"type": "string", "enum": list(category_codes())})]


def _not_a_number(value):
    # Pydantic would read a number as a Unix timestamp; the contract says ISO 8601 text.
    if isinstance(value, (int, float)):
        raise field_error("not_a_number_time")
    return value


_LOCAL_TIME = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"


def _local_time_text(value):
    # Pydantic would also read a number (seconds since midnight) or a time with an offset.
    if not isinstance(value, time) and not (isinstance(value, str) and re.fullmatch(_LOCAL_TIME, value)):
        raise field_error("local_time_invalid")
    return value


LocalTime = Annotated[
    time,
    BeforeValidator(_local_time_text),
    WithJsonSchema({"type": "string", "pattern": _LOCAL_TIME, "examples": ["09:30"]}),
]


class _Strict(BaseModel):
    # A typo in a consent or contact field must not be silently dropped, nor a number or a
    # string taken for a yes/no (StrictBool) or a string for a coordinate (StrictFloat).
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Needs(_Strict):
    groups: list[CategoryCode] = Field(
        min_length=1,
        max_length=10,
        description="Category group codes (GET /v1/categories).",
        examples=[["shelter", "mental_health"]],
    )
    note: str | None = Field(
        default=None,
        max_length=500,
        description="A short note for the navigator. Personal data: encrypted at rest, "
        "shown to the navigator only, purged after the handoff closes.",
    )

    @field_validator("groups")
    @classmethod
    def _known_groups(cls, groups: list[str]) -> list[str]:
        codes = [g.strip() for g in groups]
        unknown = sorted({c for c in codes if c not in category_codes()})
        if unknown:
            raise field_error("unknown_need_group", codes=unknown)
        return list(dict.fromkeys(codes))

    @field_validator("note")
    @classmethod
    def _blank_is_none(cls, note: str | None) -> str | None:
        return note or None


class Consent(_Strict):
    """What the person agreed to, as the worker recorded it (FHIR Consent, reduced)."""

    type: Literal["verbal", "written", "electronic"]
    scope: list[ConsentScope] = Field(
        min_length=1, description="`contact`: keep a way to call back; `location`: keep the exact location."
    )
    script_version: str = Field(
        min_length=1, max_length=40, description="Version of the consent script read out.", examples=["on-211-2026.1"]
    )
    recorded_by: str | None = Field(
        default=None, max_length=200, description="Who recorded it (a worker id); default: the caller."
    )
    recorded_at: Annotated[AwareDatetime, BeforeValidator(_not_a_number), AfterValidator(moments.bounded)] | None = (
        Field(default=None, description="When; default: when the server receives it.")
    )

    @field_validator("scope")
    @classmethod
    def _dedupe(cls, scope: list[ConsentScope]) -> list[ConsentScope]:
        return list(dict.fromkeys(scope))


class SafeTime(_Strict):
    days: list[Weekday] = Field(min_length=1, max_length=7, examples=[["mon", "tue", "wed"]])
    start: LocalTime = Field(description="Local time (the centre's time zone), HH:MM.")
    end: LocalTime = Field(description="Local time (the centre's time zone), HH:MM.")


class Contact(_Strict):
    phone: str | None = Field(
        default=None,
        max_length=40,
        description="Callback number; normalised to E.164. Kept only with `contact` consent.",
    )
    name: str | None = Field(
        default=None, max_length=100, description="What to call the person. Kept only with consent."
    )
    safe_times: list[SafeTime] = Field(default_factory=list, max_length=14, description="When it is safe to call.")
    voicemail_ok: StrictBool = False
    do_not_contact: StrictBool = Field(default=False, description="The person must not be contacted; say how instead.")
    alternative: str | None = Field(
        default=None, max_length=300, description="With `do_not_contact`: how the navigator may follow up instead."
    )

    @field_validator("phone")
    @classmethod
    def _e164(cls, phone: str | None) -> str | None:
        if not phone:
            return None
        try:
            return normalise_phone(phone, handoff_settings().phone_region)
        except InvalidPhone:
            raise field_error("phone_invalid") from None  # the message never contains the number

    @model_validator(mode="after")
    def _one_way_to_follow_up(self) -> Contact:
        if self.do_not_contact and self.phone:
            raise field_error("do_not_contact_with_phone")
        if self.do_not_contact and not self.alternative:
            raise field_error("do_not_contact_needs_alternative")
        return self


class Location(_Strict):
    lat: StrictFloat = Field(ge=-90, le=90, examples=[43.6534])
    lon: StrictFloat = Field(ge=-180, le=180, examples=[-79.3839])
    navigator_must_attend: StrictBool = Field(
        default=False,
        description="A navigator must go there in person. The exact "
        "point is kept only then, and only with `location` consent.",
    )


class HandoffCreate(_Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "needs": {
                        "groups": ["shelter", "mental_health"],
                        "note": "Needs a bed tonight; anxious in crowds.",
                    },
                    "urgency": "urgent",
                    "language": "fr",
                    "interpreter_needed": False,
                    "consent": {"type": "verbal", "scope": ["contact"], "script_version": "on-211-2026.1"},
                    "contact": {
                        "phone": "+1 416 555 0199",
                        "name": "Sam",
                        "safe_times": [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"}],
                        "voicemail_ok": False,
                    },
                    "location": {"lat": 43.6534, "lon": -79.3839, "navigator_must_attend": False},
                    "suggested_services": ["5b0e3c1e-8a4f-4b6e-9d2a-1f3c5e7a9b0d"],
                }
            ]
        }
    )

    needs: Needs
    urgency: Urgency = Urgency.ROUTINE
    language: str = Field(default="en", pattern=r"^[a-z]{2,3}$", description="ISO 639 code of the preferred language.")
    interpreter_needed: StrictBool = False
    consent: Consent | None = Field(
        default=None,
        description="Without consent the handoff is anonymous: no phone, "
        "name, contact details or exact location are kept.",
    )
    contact: Contact | None = None
    location: Location | None = Field(
        default=None, description="Kept as a coarse H3 cell (resolution 7, ~5 km²) by default."
    )
    suggested_services: list[UUID] = Field(
        default_factory=list, max_length=10, description="Directory service ids the worker suggests."
    )

    def has_scope(self, scope: ConsentScope) -> bool:
        return self.consent is not None and scope in self.consent.scope


class TransitionRequest(_Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"status": "cancelled", "reason": "The person found a bed with family."},
                {"status": "in-progress"},
            ]
        }
    )

    status: Status
    reason: str | None = Field(
        default=None,
        max_length=500,
        description="Required for rejected, on-hold, failed and cancelled. Encrypted at rest.",
    )

    @field_validator("reason")
    @classmethod
    def _blank_is_none(cls, reason: str | None) -> str | None:
        return reason or None


class ClaimRequest(_Strict):
    model_config = ConfigDict(json_schema_extra={"examples": [{"take_over": False}]})

    take_over: StrictBool = Field(
        default=False, description="Take the handoff over from another navigator of the centre."
    )


class NoteRequest(_Strict):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"text": "Called back at 14:10; bed held at Seaton House."}]}
    )

    text: str = Field(
        min_length=1, max_length=2000, description="Seen by the centre's navigators only. Encrypted at rest."
    )
