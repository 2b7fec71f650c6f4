"""Phone numbers: RFC 3966 ``tel:`` URIs for the directory's phones and the navigator lines,
and callback numbers normalised to E.164."""

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


def tel_uri(
    number: str,
    region: str,
    *,
    extension: str | None = None,
    short_codes: bool = False,
    valid_only: bool = False,
    separators: bool = False,
) -> str | None:
    """RFC 3966 ``tel:`` URI of a phone number as it was written, or None when it is not dialable.

    ``region`` (ISO 3166 alpha-2) reads numbers written without a country code. A number is
    dialable when it has a possible length for its country, or with ``valid_only`` when it is a
    valid number there. It is written in E.164 (``tel:+18773303213``), or with ``separators``
    with RFC 3966's visual separators (``tel:+1-877-330-3213``); an extension (``extension``,
    else one written in the text) follows as ``;ext=``. With ``short_codes``, a service code of
    3 to 6 digits such as 211 is a local number with its country as context
    (``tel:211;phone-context=+1``).
    """
    if short_codes:
        compact = re.sub(r"[\s().-]", "", number)
        if _SHORT_CODE.match(compact):
            return f"tel:{compact};phone-context=+{phonenumbers.country_code_for_region(region)}"
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return None
    if not (phonenumbers.is_valid_number(parsed) if valid_only else phonenumbers.is_possible_number(parsed)):
        return None
    ext = extension or parsed.extension
    parsed.extension = None
    if separators:
        uri = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.RFC3966)
    else:
        uri = "tel:" + phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return f"{uri};ext={ext}" if ext else uri
