"""What a delivery attempt tells the outbox: delivered, worth another try, or never going to
work (a number the provider refuses, an address the mail server rejects)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Attempt:
    error: str | None = None  # a short label, never a response body, a number or an address
    permanent: bool = False

    @property
    def delivered(self) -> bool:
        return self.error is None


DELIVERED = Attempt()
