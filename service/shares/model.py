"""The body of ``POST /v1/shares``: what to share, in which language, delivered how."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationInfo, field_validator, model_validator

from service.platform.phones import InvalidPhone, normalise_phone
from service.platform.problem_texts import field_error
from service.platform.settings import handoff_settings

MAX_SERVICES = 10

Delivery = Literal["link", "print", "sms", "email"]
# Deliveries that send a message to the person, and so need their number or address.
MESSAGE_DELIVERIES = ("sms", "email")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ShareItem(_Strict):
    """One service: a site (``site_key``, as results give it) or a service (``service_id``: its
    first site by location id)."""

    site_key: StrictInt | None = Field(default=None, ge=1, le=2_147_483_647, examples=[4711])
    service_id: UUID | None = Field(default=None, examples=["5b0e3c1e-8a4f-4b6e-9d2a-1f3c5e7a9b0d"])

    @model_validator(mode="after")
    def _exactly_one(self) -> ShareItem:
        if (self.site_key is None) == (self.service_id is None):
            raise field_error("share_item_one_of")
        return self


class ShareCreate(_Strict):
    services: list[ShareItem] = Field(
        min_length=1,
        max_length=MAX_SERVICES,
        description=f"1 to {MAX_SERVICES} services, in the order the page lists them (repeats are listed once).",
    )
    language: Literal["en", "fr"] = Field(description="The page's and the message's language.")
    delivery: Delivery = Field(
        description="`link` (the answer's `url`), `print` (its `print_url`: one printed page with a QR code), "
        "`sms` or `email` (sent to `recipient` by the server)."
    )
    recipient: str | None = Field(
        default=None,
        max_length=254,
        validate_default=True,
        description="For `sms` a phone number (E.164, or as written in Canada), for `email` an address; "
        "absent otherwise. Encrypted at rest, cleared once delivered; never in the answer or the logs.",
        examples=["+1 416 555 0123"],
    )

    @field_validator("recipient")
    @classmethod
    def _recipient_fits_delivery(cls, recipient: str | None, info: ValidationInfo) -> str | None:
        delivery = info.data.get("delivery")
        recipient = (recipient or "").strip() or None
        if delivery not in MESSAGE_DELIVERIES:
            if recipient is not None:
                raise field_error("share_recipient_not_allowed")
            return None
        if recipient is None:
            raise field_error("share_recipient_missing_sms" if delivery == "sms" else "share_recipient_missing_email")
        if delivery == "sms":
            try:
                return normalise_phone(recipient, handoff_settings().phone_region)
            except InvalidPhone:
                raise field_error("share_phone_invalid") from None  # the message never repeats the number
        try:
            return validate_email(recipient, check_deliverability=False).normalized
        except EmailNotValidError:
            raise field_error("email_invalid") from None
