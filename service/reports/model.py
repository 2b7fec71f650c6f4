"""Request bodies of the field report routes (POST /v1/services/{id}/reports and
POST /v1/admin/reports/{id}/resolve). What needs no database is checked here; commands.py
checks the rest (the service exists, one open report per person and kind, the hourly cap)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, WithJsonSchema, field_validator

from service.platform.problem_texts import field_error

KINDS = ("closed_permanently", "closed_today", "full", "wrong_phone", "wrong_address", "wrong_hours", "moved", "other")
NOTE_MAX_CHARS = 500
RESOLUTION_NOTE_MAX_CHARS = 1000

# A kind, documented as the list of kinds; checked below with a message naming them.
ReportKind = Annotated[str, WithJsonSchema({"type": "string", "enum": list(KINDS), "examples": ["closed_today"]})]


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise field_error("unknown_report_kind", choices=", ".join(KINDS))
    return kind


class _Strict(BaseModel):
    # A misspelt field is refused, not silently dropped; text is stripped before its length counts.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ReporterLocation(_Strict):
    lat: StrictFloat = Field(ge=-90, le=90, allow_inf_nan=False, examples=[43.6534])
    lon: StrictFloat = Field(ge=-180, le=180, allow_inf_nan=False, examples=[-79.3839])


class ReportCreate(_Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "closed_today",
                    "note": "Sign on the door: closed for a water leak.",
                    "location": {"lat": 43.6534, "lon": -79.3839},
                },
            ]
        }
    )

    kind: ReportKind = Field(
        description=(
            "What is wrong: closed_permanently, closed_today, full, wrong_phone, wrong_address, wrong_hours, moved or other."
        )
    )
    note: str | None = Field(
        default=None,
        max_length=NOTE_MAX_CHARS,
        description=(
            "What you saw, for the 211 centre (at most 500 characters; blank is none). Shown to the centre's navigators "
            "and admins only, never in results. Write no names or details of the people you serve."
        ),
    )
    location: ReporterLocation | None = Field(
        default=None,
        description=(
            "Where you are (WGS84): picks the service's site you report about (the nearest) and is kept for the centre. "
            "Never kept for a confidential service (the answer's `location_kept` says so)."
        ),
    )

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        return check_kind(kind)

    @field_validator("note")
    @classmethod
    def _blank_is_none(cls, note: str | None) -> str | None:
        return note or None


class ResolveRequest(_Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"resolution_note": "Called the shelter: closed tonight only; the record is right."},
            ]
        }
    )

    resolution_note: str = Field(
        min_length=1,
        max_length=RESOLUTION_NOTE_MAX_CHARS,
        description=(
            'What the centre found and did (1 to 1,000 characters), e.g. "Called: the number changed; record updated."'
        ),
    )
