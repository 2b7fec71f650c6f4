"""Response shape of ``POST /v1/shares`` (service/api/routes/shares.py), for the contract."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

_URL = "https://fieldnav.example.org/s/Qm9vLXdob2VsbGl0dGxlZmlzaGJvbmVz"


class ShareCreated(BaseModel):
    id: str = Field(examples=["0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"], description="The share's id (audit log).")
    url: str = Field(
        examples=[_URL],
        description="The page: anyone with this link opens it, without a token, until `expires_at` (then 410).",
    )
    print_url: str = Field(
        examples=[f"{_URL}?print=1"], description="The same page, opening the print dialog: one page with a QR code."
    )
    qr_url: str = Field(examples=[f"{_URL}/qr.svg"], description="The QR code of `url`, SVG, to show on a screen.")
    expires_at: str = Field(examples=["2026-12-12T02:14:00.512000Z"])
    language: Literal["en", "fr"]
    delivery: Literal["link", "print", "sms", "email"]
    service_count: int = Field(examples=[3], description="Services on the page (repeats counted once).")
    delivery_state: Literal["queued", "none"] = Field(
        description="`queued`: the SMS or email is in the server's outbox and goes out within moments "
        "(retried when the provider fails); `none` for link and print."
    )
    text: str = Field(
        examples=[f"The services you asked about: {_URL} (until Dec 12). Help 24/7: call or text 211."],
        description="The short text with the link, as an SMS says it: for the phone's own share sheet.",
    )
