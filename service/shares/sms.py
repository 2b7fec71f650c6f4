"""SMS through a provider's HTTP API, in Twilio's format (one real provider's, documented in
the README; others with the same shape work too, e.g. SignalWire's compatibility API):

    POST {FIELDNAV_SMS_URL with {account} filled in}
    Authorization: Basic base64(FIELDNAV_SMS_ACCOUNT:FIELDNAV_SMS_TOKEN)
    Content-Type: application/x-www-form-urlencoded
    To=+14165550123&From=FIELDNAV_SMS_FROM&Body=...

A 2xx answer (Twilio: 201) is delivered to the provider. 400, 404 and 422 say the message
can never go (Twilio's 400: an invalid or unreachable number): dead at once. Anything else
(401 while a key is renewed, 429, 5xx, no answer) is tried again. Redirects are not followed
and answers are not read beyond a few bytes, never logged.
"""

from __future__ import annotations

from urllib.parse import quote

import httpx

from service import __version__
from service.platform.settings import SmsSettings
from service.shares.sending import DELIVERED, Attempt

PERMANENT_STATUSES = frozenset({400, 404, 422})


def send(to: str, body: str, settings: SmsSettings, timeout_s: float) -> Attempt:
    if not (settings.url and settings.account and settings.sender):
        return Attempt("SMS is not configured (FIELDNAV_SMS_URL, _ACCOUNT, _FROM)")
    url = settings.url.replace("{account}", quote(settings.account, safe=""))
    token = settings.token.get_secret_value() if settings.token else ""
    try:
        response = httpx.post(
            url,
            data={"To": to, "From": settings.sender, "Body": body},
            auth=(settings.account, token),
            headers={"User-Agent": f"fieldnav-shares/{__version__}"},
            timeout=timeout_s,
            follow_redirects=False,
        )
    except httpx.HTTPError as error:
        return Attempt(type(error).__name__)
    if 200 <= response.status_code < 300:
        return DELIVERED
    return Attempt(f"HTTP {response.status_code}", permanent=response.status_code in PERMANENT_STATUSES)
