"""Shares: ``POST /v1/shares`` makes one; ``/s/{token}`` is its page for the person.

The rules (what may be shared, the hourly cap, the message queue, the audit) are in
service/shares/; this module parses, authorises, calls and shapes. Logs name the share id and
the delivery kind, never a recipient or a token.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import time
from datetime import UTC, datetime
from typing import Annotated

import orjson
from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy import Connection

from service.api.data_version import VersionUnknown
from service.api.dependencies import EngineDep, SharePagesDep, VersionTrackerDep
from service.api.errors import problem_response, problem_responses, request_language
from service.api.idempotent import IDEMPOTENCY_KEY_DOC, IdempotencyKey, idempotent_responses, outcome_response, run_once
from service.api.request_params import prefers_html
from service.api.responses import NO_STORE
from service.api.schemas_shares import ShareCreated
from service.api.security import PrincipalDep
from service.api.share_pages import CachedPage
from service.platform.settings import share_settings
from service.shares import commands, page, render, tokens
from service.shares.model import MAX_SERVICES, ShareCreate
from service.shares.qr import qr_svg

router = APIRouter(tags=["shares"])
log = logging.getLogger("fieldnav.shares")

HTML_MEDIA_TYPE = "text/html; charset=utf-8"
# The person's browser keeps the page five minutes (it is opened again on a weak signal);
# shared caches never keep it: the link is the key to it.
PAGE_CACHE_CONTROL = "private, max-age=300"
PAGE_HEADERS = {
    "Content-Security-Policy": render.CSP,
    # The link is the key: never sent on to a map site or anywhere else.
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
}

Token = Annotated[
    str,
    Path(
        description="The share's token, from its link (32 URL-safe characters).",
        examples=["Qm9vLXdob2VsbGl0dGxlZmlzaGJvbmVz"],
        max_length=64,
    ),
]


def _base_url(request: Request) -> str:
    return share_settings().public_url or str(request.base_url).rstrip("/")


@router.post(
    "/v1/shares",
    status_code=201,
    response_model=ShareCreated,
    summary="Give the person a list of services: a link, a printout, an SMS or an email (field worker, "
    "supervisor, navigator)",
    description=(
        f"Up to {MAX_SERVICES} services (`site_key` as results give it, or `service_id`: its first site) on a "
        "read-only page at an unguessable link (`/s/{token}`, 192 random bits) that opens without a token until "
        "FIELDNAV_SHARES_TTL_DAYS (7) have passed, then answers 410. The page shows, in the share's language, "
        "each service's name, address (never a confidential site's), phone, today's hours and a map link, and "
        "the 211 line; nothing about you or your agency. `print`: `print_url` opens it as one printed page with "
        "the link's QR code. `sms` and `email`: the server sends a short neutral text with the link (no service "
        "names) to `recipient` through its outbox, with retries; the recipient is encrypted at rest and cleared "
        "once delivered. Audited (who, when, how many services, delivery kind; never the recipient). At most "
        "FIELDNAV_SHARES_PER_HOUR (30) shares per person an hour (429 `too-many-shares`). Requires an "
        "`Idempotency-Key`: a phone sending a queued share again makes one share and one message."
    ),
    openapi_extra=IDEMPOTENCY_KEY_DOC,
    responses={
        201: {"headers": {"Location": {"description": "The share's page (`url`).", "schema": {"type": "string"}}}},
        **idempotent_responses("too-many-shares"),
    },
)
def create_share(
    request: Request,
    engine: EngineDep,
    principal: PrincipalDep,
    body: ShareCreate,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    base_url = _base_url(request)

    def work(connection: Connection):
        created = commands.create(connection, principal, body, base_url)
        return 201, created, {"Location": created["url"]}

    outcome = run_once(request, engine, principal, idempotency_key, body.model_dump(mode="json"), work)
    created = orjson.loads(outcome.response.body)
    log.info(
        "share %s made: %s, %d services%s",
        created["id"],
        created["delivery"],
        created["service_count"],
        " (replayed)" if outcome.replayed else "",
        extra={"event": "share.created", "share_id": created["id"]},
    )
    return outcome_response(outcome, NO_STORE)


def _notice(request: Request, language: str | None, gone: bool) -> Response:
    """410 for an expired link, 404 for one that opens nothing: a page for a person, a
    problem document for a program."""
    if prefers_html(request):
        body = render.notice(language or request_language(request), gone)
        headers = {**PAGE_HEADERS, "Cache-Control": NO_STORE, "Vary": "Accept, Accept-Language"}
        return HTMLResponse(body, status_code=410 if gone else 404, headers=headers)
    if gone:
        return problem_response(
            request,
            410,
            "share-expired",
            "This list of services has expired; lists are kept a few days only.",
            title="Share expired",
            headers={"Cache-Control": NO_STORE},
        )
    return problem_response(
        request,
        404,
        "not-found",
        "No list of services at this link.",
        detail_fr="Aucune liste de services à ce lien.",
        headers={"Cache-Control": NO_STORE},
    )


def _page_response(request: Request, cached: CachedPage) -> Response:
    headers = {**PAGE_HEADERS, "Cache-Control": PAGE_CACHE_CONTROL, "ETag": cached.etag, "Vary": "Accept-Encoding"}
    if request.headers.get("if-none-match") == cached.etag:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        # Compressed once, when the page was made (the GZip middleware leaves it as it is).
        headers["Content-Encoding"] = "gzip"
        return Response(cached.gzipped, media_type=HTML_MEDIA_TYPE, headers=headers)
    return Response(cached.body, media_type=HTML_MEDIA_TYPE, headers=headers)


@router.get(
    "/s/{token}",
    response_class=HTMLResponse,
    summary="A share's page, for the person (no token needed)",
    description=(
        "HTML: the chosen services as the directory has them now (name, address, phone, today's hours, map link) "
        "and the 211 line, in the share's language; small, no script but the print button, nothing loaded from "
        "elsewhere. It prints as one page with the link's QR code (`?print=1` opens the print dialog). 410 once "
        "expired, 404 for a link that opens nothing: a page for browsers, a problem document otherwise."
    ),
    responses={
        200: {"content": {"text/html": {"schema": {"type": "string"}}}, "description": "The page"},
        304: {"description": "Not Modified"},
        **problem_responses(404, 410, 429, 503, types=("share-expired",)),
    },
)
def share_page(
    request: Request,
    engine: EngineDep,
    versions: VersionTrackerDep,
    pages: SharePagesDep,
    token: Token,
    print_dialog: Annotated[
        bool, Query(alias="print", description="Open the print dialog as the page loads (its script reads it).")
    ] = False,
) -> Response:
    if not tokens.looks_like_token(token):
        return _notice(request, None, gone=False)
    now_s = time.time()
    try:
        version, _live = versions.get()
    except VersionUnknown:
        version = -1  # the database is down: nothing cached can match, the read below says 503
    key = pages.key(tokens.token_hash(token), version, now_s)
    cached = pages.get(key)
    if cached is None:
        with engine.connect() as connection:
            shared = page.load(connection, token)
        if shared is None:
            return _notice(request, None, gone=False)
        if shared.expires_at.timestamp() <= now_s:
            return _notice(request, shared.language, gone=True)
        body = render.page(shared, f"{_base_url(request)}/s/{token}", datetime.fromtimestamp(now_s, UTC))
        cached = CachedPage(
            body=body,
            gzipped=gzip.compress(body, compresslevel=9, mtime=0),
            etag=f'"{hashlib.sha256(body).hexdigest()[:32]}"',
            language=shared.language,
            expires_at_s=shared.expires_at.timestamp(),
        )
        pages.put(key, cached)
    elif cached.expires_at_s <= now_s:
        return _notice(request, cached.language, gone=True)
    return _page_response(request, cached)


@router.get(
    "/s/{token}/qr.svg",
    summary="The QR code of a share's link (SVG), to show on a screen",
    responses={
        200: {"content": {"image/svg+xml": {"schema": {"type": "string"}}}, "description": "The QR code"},
        **problem_responses(404, 410, 429, 503, types=("share-expired",)),
    },
)
def share_qr(request: Request, engine: EngineDep, token: Token) -> Response:
    if not tokens.looks_like_token(token):
        return _notice(request, None, gone=False)
    with engine.connect() as connection:
        shared = page.load(connection, token)
    if shared is None:
        return _notice(request, None, gone=False)
    if shared.expires_at.timestamp() <= time.time():
        return _notice(request, shared.language, gone=True)
    svg = qr_svg(f"{_base_url(request)}/s/{token}", scale=8)
    return Response(
        svg.encode(),
        media_type="image/svg+xml",
        headers={**PAGE_HEADERS, "Cache-Control": PAGE_CACHE_CONTROL},
    )
