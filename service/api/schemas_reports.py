"""Response shapes of the field report routes (service/api/routes/reports.py), for the contract."""

from __future__ import annotations

from pydantic import BaseModel, Field

from service.reports.model import KINDS

_REPORT_ID = "4b8e2f0a-1c3d-4e5f-8a9b-0c1d2e3f4a5b"
_SERVICE_ID = "9c1d7e2a-3b4f-4c5d-8e6f-7a8b9c0d1e2f"


class ReportLinks(BaseModel):
    self: str = Field(
        examples=[f"/v1/admin/reports/{_REPORT_ID}"],
        description=("The report on the 211 centre's desk (navigators of its centre and admins may read it)."),
    )


class ReportCreated(BaseModel):
    id: str = Field(examples=[_REPORT_ID])
    service_id: str = Field(examples=[_SERVICE_ID])
    kind: str = Field(examples=["closed_today"], description=", ".join(KINDS) + ".")
    status: str = Field(examples=["open"], description="open until the 211 centre resolves it.")
    created_at: str = Field(examples=["2026-12-04T21:40:00.512000+00:00"])
    centre_id: str | None = Field(
        examples=["211-east"],
        description=(
            "The 211 centre the report went to (the area holding the service's site); null when no centre serves it "
            "and none is the default."
        ),
    )
    location_kept: bool = Field(
        examples=[True],
        description=(
            "Whether your location was kept with the report. Never for a confidential service (it would place it)."
        ),
    )
    links: ReportLinks


class ReportPoint(BaseModel):
    lat: float = Field(examples=[45.42153], description="WGS84, 5 decimals.")
    lon: float = Field(examples=[-75.69719])


class ReportActor(BaseModel):
    role: str = Field(examples=["field_worker"])
    agency: str = Field(examples=["ottawa-paramedics"])


class ReportItemLinks(ReportLinks):
    service: str = Field(examples=[f"/v1/services/{_SERVICE_ID}"])


class Report(BaseModel):
    id: str = Field(examples=[_REPORT_ID])
    service_id: str = Field(examples=[_SERVICE_ID])
    service_name: str | None = Field(
        examples=["Shepherds of Good Hope Shelter"], description=("Null when an import has since removed the service.")
    )
    kind: str = Field(examples=["closed_today"], description=", ".join(KINDS) + ".")
    note: str | None = Field(
        examples=["Sign on the door: closed for a water leak."],
        description=("The reporter's words (may be personal data: reading it is audited)."),
    )
    location: ReportPoint | None = Field(
        description="Where the reporter stood; null when not sent, or for a confidential service (never kept)."
    )
    centre_id: str | None = Field(examples=["211-east"])
    reporter: ReportActor = Field(description="Role and agency of the reporter; never their account.")
    created_at: str = Field(examples=["2026-12-04T21:40:00.512000+00:00"])
    status: str = Field(examples=["resolved"], description="open or resolved.")
    resolved_at: str | None = Field(examples=["2026-12-05T09:12:30.004000+00:00"])
    resolved_by: ReportActor | None = Field(description="Role and agency of who resolved it.")
    resolution_note: str | None = Field(examples=["Called the shelter: closed tonight only; the record is right."])
    links: ReportItemLinks


class ReportPage(BaseModel):
    """The HSDS Page envelope (as GET /v1/services), newest report first."""

    total_items: int = Field(examples=[37])
    total_pages: int = Field(examples=[2])
    page_number: int = Field(examples=[1])
    size: int = Field(examples=[20])
    first_page: bool
    last_page: bool
    empty: bool
    contents: list[Report]
