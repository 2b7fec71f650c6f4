"""Phone numbers: callback numbers normalised to E.164, navigator lines as RFC 3966 ``tel:`` URIs."""

from __future__ import annotations

import re

import phonenumbers

_SHORT_CODE = re.compile(r"^\d{3,6}$")


class InvalidPhone(ValueError):
    """The text is not a dialable phone number. The message never repeats the number."""


def normalise_phone(raw: str, region: str) -> str:
    """E.164 (``+16135550123``) for a number as a person types it; ``region`` (ISO 3166
    alpha-2) reads numbers written without a country code."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise InvalidPhone("is not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone("is not a valid phone number for its country")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def line_tel_uri(line: str, region: str) -> str:
    """``tel:`` URI of a navigator line: a full number (``tel:+1-877-330-3213``) or a short
    code such as 211, which RFC 3966 writes as a local number with its country as context
    (``tel:211;phone-context=+1``)."""
    compact = re.sub(r"[\s().-]", "", line)
    if _SHORT_CODE.match(compact):
        country_code = phonenumbers.country_code_for_region(region)
        return f"tel:{compact};phone-context=+{country_code}"
    number = phonenumbers.parse(normalise_phone(line, region), None)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.RFC3966)
