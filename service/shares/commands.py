"""Make a share: resolve the chosen services, keep the list, queue its message, audit it.

Runs in the idempotency layer's transaction: the share, its message, the audit entry and the
stored answer commit together, so a retried request (the same ``Idempotency-Key``) gets the
same link and sends one message.

Rules:

- every service must be in the directory now: an unknown one is a 422 naming it, and no
  share is made (a list with a hole would send the person to nothing);
- at most FIELDNAV_SHARES_PER_HOUR shares per person in any hour: beyond, 429
  ``too-many-shares`` with ``Retry-After`` (a message sender must not become a spam cannon);
- SMS and email need their delivery configured (FIELDNAV_SMS_URL, FIELDNAV_SMTP_HOST): else
  422 on ``delivery``, before anything is kept.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import Connection, text

from service.auth.principal import Principal
from service.handoffs import audit
from service.platform.hourly_cap import HourlyCap
from service.platform.problem_texts import field_problem
from service.platform.problems import Problem
from service.platform.settings import import_settings, share_settings, sms_settings, smtp_settings
from service.shares import outbox, texts, tokens
from service.shares.model import ShareCreate, ShareItem

AUDIT_PURPOSE = "information: a list of services given to the person"

# A site by its key; a service by its first site (public ones first, then by location id).
_BY_SITE_KEY = text("""
    SELECT site_key, service_id, location_id FROM service_site WHERE site_key = ANY(CAST(:keys AS bigint[]))
""")
_BY_SERVICE = text("""
    SELECT DISTINCT ON (service_id) service_id, location_id FROM service_site
    WHERE service_id = ANY(CAST(:ids AS uuid[]))
    ORDER BY service_id, is_private, location_id
""")
_INSERT = text("""
    INSERT INTO share (id, token_sha256, language, delivery, sites, creator_key, created_at, expires_at)
    VALUES (:id, :token_sha256, :language, :delivery, CAST(:sites AS jsonb), :creator_key, :created_at, :expires_at)
""")
_LAST_HOUR = text("""
    SELECT count(*) AS made, ceil(extract(epoch FROM min(created_at) + interval '1 hour' - now())) AS wait_s
    FROM share WHERE creator_key = :creator_key AND created_at > now() - interval '1 hour'
""")


def _resolve(connection: Connection, items: list[ShareItem]) -> list[dict]:
    """The sites, in the order asked, each once; 422 naming every unknown item."""
    keys = [item.site_key for item in items if item.site_key is not None]
    ids = [str(item.service_id) for item in items if item.service_id is not None]
    by_key = {row.site_key: row for row in connection.execute(_BY_SITE_KEY, {"keys": keys})} if keys else {}
    by_id = {str(row.service_id): row for row in connection.execute(_BY_SERVICE, {"ids": ids})} if ids else {}
    sites: dict[tuple[str, str], dict] = {}
    unknown = []
    for index, item in enumerate(items):
        row = by_key.get(item.site_key) if item.site_key is not None else by_id.get(str(item.service_id))
        if row is None:
            field = "site_key" if item.site_key is not None else "service_id"
            unknown.append(field_problem(f"body.services.{index}.{field}", "share_service_unknown"))
            continue
        site = {"service_id": str(row.service_id), "location_id": str(row.location_id)}
        sites.setdefault((site["service_id"], site["location_id"]), site)
    if unknown:
        raise Problem(
            422,
            "validation-error",
            f"{len(unknown)} of the services chosen are not in the directory (any more); nothing was shared.",
            detail_fr=f"{len(unknown)} des services choisis ne sont pas (ou plus) dans le répertoire ; "
            "rien n’a été partagé.",
            title="Invalid request",
            errors=unknown,
        )
    return list(sites.values())


def _require_delivery_configured(delivery: str) -> None:
    configured = {
        "sms": lambda: bool(sms_settings().url and sms_settings().account and sms_settings().sender),
        "email": lambda: bool(smtp_settings().host and smtp_settings().sender),
    }
    if delivery in configured and not configured[delivery]():
        raise Problem(
            422,
            "validation-error",
            f"This server does not send {delivery} messages; share the link, print it or use the phone's own share.",
            detail_fr="Ce serveur n’envoie pas ce type de message ; partagez le lien, imprimez-le ou utilisez le "
            "partage du téléphone.",
            title="Invalid request",
            errors=[field_problem("body.delivery", "share_delivery_not_configured")],
        )


_CAP = HourlyCap("too-many-shares", "shares", "partages", "Too many shares", "Trop de partages")


def share_url(base_url: str, token: str) -> str:
    return f"{base_url}/s/{token}"


def create(connection: Connection, principal: Principal, request: ShareCreate, base_url: str) -> dict:
    """Make the share; returns the answer (stored for replays: the link, never the recipient)."""
    _require_delivery_configured(request.delivery)
    sites = _resolve(connection, request.services)
    settings = share_settings()
    token = tokens.new_token()
    share_id = uuid.uuid4()
    created_at = datetime.now(UTC)
    expires_at = created_at + timedelta(days=settings.ttl_days)
    connection.execute(
        _INSERT,
        {
            "id": share_id,
            "token_sha256": tokens.token_hash(token),
            "language": request.language,
            "delivery": request.delivery,
            "sites": orjson.dumps(sites).decode(),
            "creator_key": principal.key,
            "created_at": created_at,
            "expires_at": expires_at,
        },
    )
    _CAP.check(connection, _LAST_HOUR, {"creator_key": principal.key}, share_settings().per_hour)
    url = share_url(base_url, token)
    until = expires_at.astimezone(ZoneInfo(import_settings().default_timezone)).date()
    message = texts.SMS[request.language].format(url=url, until=texts.short_date(until, request.language))
    if request.delivery == "sms":
        assert request.recipient is not None  # the model requires it
        outbox.enqueue(connection, share_id, "sms", request.recipient, None, message)
    elif request.delivery == "email":
        assert request.recipient is not None
        body = texts.EMAIL_BODY[request.language].format(url=url, until=texts.long_date(until, request.language))
        outbox.enqueue(connection, share_id, "email", request.recipient, texts.EMAIL_SUBJECT[request.language], body)
    audit.record(
        connection,
        audit.Actor.of(principal),
        [
            audit.Entry(
                "share-create",
                AUDIT_PURPOSE,
                detail={
                    "share_id": str(share_id),
                    "services": len(sites),
                    "delivery": request.delivery,
                    "language": request.language,
                },
            )
        ],
    )
    return {
        "id": str(share_id),
        "url": url,
        "print_url": f"{url}?print=1",
        "qr_url": f"{url}/qr.svg",
        "expires_at": expires_at.isoformat().replace("+00:00", "Z"),
        "language": request.language,
        "delivery": request.delivery,
        "service_count": len(sites),
        "delivery_state": "queued" if request.delivery in ("sms", "email") else "none",
        "text": message,
    }
