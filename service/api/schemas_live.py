"""Response shapes of the live-data routes (capacity, providers), for the contract."""

from __future__ import annotations

from pydantic import BaseModel, Field

from service.api.schemas import Capacity, OpenReport


class ServiceCapacity(BaseModel):
    service_id: str = Field(examples=["9c1d7e2a-3b4f-4c5d-8e6f-7a8b9c0d1e2f"])
    capacities: list[Capacity]


class CapacityWritten(ServiceCapacity):
    data_version: int = Field(examples=[412], description="The data version the update made (tile URLs move to it).")


class BulkCapacityWritten(BaseModel):
    data_version: int = Field(examples=[412])
    items: list[ServiceCapacity]


class CountValues(BaseModel):
    available: float
    maximum: float | None = None
    as_of: str


class Actor(BaseModel):
    subject: str = Field(examples=["front-desk-1"])
    role: str = Field(examples=["provider"])
    agency: str = Field(examples=["scarborough-shelter"])


class CapacityChange(BaseModel):
    unit: str = Field(examples=["beds"])
    old: CountValues | None = Field(description="What the service showed before (null: no count).")
    new: CountValues
    by: Actor
    via: str = Field(description="single (PUT) or bulk (POST /v1/capacity).", examples=["single"])
    recorded_at: str


class CapacityDetail(ServiceCapacity):
    name: str = Field(examples=["Scarborough Emergency Shelter"])
    organization_name: str | None = None
    units: list[str] = Field(description="The units a count may be given in.", examples=[["beds", "cots", "rooms"]])
    stale_after_s: int = Field(examples=[43200], description="A count older than this is stale.")
    history: list[CapacityChange] = Field(description="The last 20 changes, newest first.")


class ProviderService(ServiceCapacity):
    name: str
    status: str = Field(examples=["active"])
    organization_id: str
    organization_name: str | None = None
    open_reports: list[OpenReport] = Field(description="Unresolved field reports about the service.")


class ProviderServiceList(BaseModel):
    services: list[ProviderService]
    units: list[str] = Field(examples=[["beds", "cots", "rooms", "spaces", "appointments", "meals"]])
    stale_after_s: int = Field(examples=[43200])


class ProviderOrganization(BaseModel):
    id: str
    name: str | None = Field(description="Null when no imported organization has this id any more.")
    service_count: int
    granted_by: str
    granted_at: str


class ProviderAccount(BaseModel):
    issuer: str = Field(examples=["fieldnav"])
    subject: str = Field(examples=["front-desk-1"])
    organizations: list[ProviderOrganization]


class ProviderAccountList(BaseModel):
    providers: list[ProviderAccount]


class ProviderGrant(BaseModel):
    issuer: str
    subject: str
    organization_id: str
    created: bool = Field(description="False when the account already had this organization.")
