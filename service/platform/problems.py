"""The one exception that becomes an RFC 9457 problem response (see service/api/errors.py).

It lives outside the API package so domain modules can refuse bad input without importing
FastAPI.
"""

from __future__ import annotations

from http import HTTPStatus


class Problem(Exception):
    """Raise from anywhere below a route to answer with a problem document.

    The answer is in the request's language (service/api/errors.py): ``detail`` and ``title``
    in English, ``detail_fr`` and ``title_fr`` in French. Give ``detail_fr`` where ``detail``
    carries values (ids, limits, counts); without it a French answer says the type's default
    (service/platform/problem_texts.py), as it does for a missing ``title_fr``. ``errors`` items are
    ``service.platform.problem_texts.field_problem(field, code, **ctx)``: their messages are written
    in the request's language from their ``code``.
    """

    def __init__(
        self,
        status: int,
        slug: str,
        detail: str,
        *,
        title: str | None = None,
        headers: dict | None = None,
        detail_fr: str | None = None,
        title_fr: str | None = None,
        **extra,
    ):
        super().__init__(detail)
        self.status, self.slug, self.detail, self.detail_fr = status, slug, detail, detail_fr
        self.title = title or HTTPStatus(status).phrase
        self.title_fr = title_fr
        self.headers, self.extra = headers or {}, extra


class ProblemType:
    """One documented problem type: its usual status, title and what a client should do."""

    __slots__ = ("example", "meaning", "slug", "status", "title")

    def __init__(self, slug: str, status: int, title: str, meaning: str, example: str):
        self.slug, self.status, self.title, self.meaning, self.example = slug, status, title, meaning, example


# Every ``type`` fieldnav answers with (the slug after tag:fieldnav.org,2026:problem/). The spec's
# Problem schema lists them (service/api/openapi_doc.py) and tests/test_schemathesis.py checks
# that the code raises no other. Add a type here in the same change that first raises it.
PROBLEM_TYPES: dict[str, ProblemType] = {
    t.slug: t
    for t in (
        # --- the request itself
        ProblemType(
            "bad-request",
            400,
            "Bad Request",
            "The request cannot be read: a query string that is not UTF-8 or holds a NUL character, a path "
            "that holds one.",
            "The query string holds a NUL character.",
        ),
        ProblemType(
            "validation-error",
            422,
            "Invalid request",
            "A parameter or body field is invalid; `errors` names each field. Fix the request; do not retry it as is.",
            "query.lat: The value must be 90 or less.",
        ),
        ProblemType(
            "unknown-category",
            422,
            "Unknown category",
            "A category group code that does not exist; the detail lists the codes (also GET /v1/categories).",
            "Unknown category shelters; use one of: shelter, housing, food, mental_health, crisis.",
        ),
        ProblemType(
            "bbox-too-large",
            422,
            "Area too large",
            "A search area larger than the server searches at once; search a smaller area.",
            "bbox covers more than 100 square degrees; zoom in or use near=.",
        ),
        ProblemType(
            "pack-too-large",
            422,
            "Pack too large",
            "An offline pack over the size cap; the detail says how to shrink it (smaller area, lower max_zoom, fewer categories).",
            "This pack would hold 31,200 tiles (at most 20,000): lower max_zoom to 15 or choose a smaller area.",
        ),
        ProblemType(
            "payload-too-large",
            413,
            "Content Too Large",
            "The request body is larger than the server accepts (FIELDNAV_LIMIT_MAX_BODY_BYTES).",
            "Request bodies are limited to 65536 bytes.",
        ),
        ProblemType(
            "headers-too-large",
            431,
            "Request Header Fields Too Large",
            "The request's headers are larger than the server reads (FIELDNAV_LIMIT_MAX_HEADER_BYTES, "
            "FIELDNAV_LIMIT_MAX_HEADERS fields); the connection is closed. Send fewer or shorter headers.",
            "Request headers are limited to 32768 bytes and 100 fields.",
        ),
        ProblemType(
            "uri-too-long",
            414,
            "URI Too Long",
            "The request line is longer than the server reads (FIELDNAV_LIMIT_MAX_HEADER_BYTES); the connection "
            "is closed. Send fewer or shorter query parameters.",
            "The request line is limited to 32768 bytes.",
        ),
        ProblemType(
            "unsupported-media-type",
            415,
            "Unsupported Media Type",
            "The body's Content-Type is not one the operation reads (application/json).",
            "Unsupported Media Type",
        ),
        ProblemType(
            "not-acceptable",
            406,
            "Not Acceptable",
            "None of the media types in Accept can be produced.",
            "Not Acceptable",
        ),
        ProblemType(
            "method-not-allowed",
            405,
            "Method Not Allowed",
            "The path exists but not with this method; `Allow` lists the methods it has.",
            "Method Not Allowed",
        ),
        # --- identity and limits
        ProblemType(
            "unauthorized",
            401,
            "Unauthorized",
            "No bearer token, or one that is invalid, expired or revoked (the detail never says which). Sign in again.",
            "A bearer token is required.",
        ),
        ProblemType(
            "forbidden",
            403,
            "Forbidden",
            "The caller's role (or agency) may not do this.",
            "The navigator role may not do this.",
        ),
        ProblemType(
            "invalid-dpop-proof",
            400,
            "Invalid DPoP proof",
            "Registering a device needs a `DPoP` header: a fresh RFC 9449 proof (ES256, `htm`, `htu`, `iat`, `jti`) "
            "signed with the key being registered. Sign a new proof for this request.",
            "The DPoP proof is missing or invalid: sign a new proof for this request with the key being registered.",
        ),
        ProblemType(
            "renew-with-identity-provider",
            403,
            "Renew through your identity provider",
            "Tokens of an agency identity provider cannot register devices: renew them through that provider "
            "(OpenID Connect refresh).",
            "Your token comes from your agency's identity provider: renew it through that provider (OpenID Connect refresh), not through fieldnav.",
        ),
        ProblemType(
            "device-key-in-use",
            409,
            "Device key in use",
            "The device key is registered to another user: make a new key pair and register that.",
            "This key belongs to another user's device: make a new key pair.",
        ),
        ProblemType(
            "rate-limited",
            429,
            "Too Many Requests",
            "Too many requests in the window; wait `Retry-After` seconds.",
            "Too many requests: at most 600 every 60 s. Try again in 12 s.",
        ),
        # --- resources
        ProblemType(
            "not-found",
            404,
            "Not Found",
            "Nothing with this id (or nothing the caller may see: handoffs of others are 404 too).",
            "No service with id 6f1c2b9e-0d4a-4f5e-9b1a-3c2d1e0f9a8b.",
        ),
        ProblemType(
            "basemap-not-configured",
            404,
            "No basemap",
            "This server has no basemap (FIELDNAV_BASEMAP_PMTILES unset); draw services over a plain background.",
            "This server has no basemap.",
        ),
        ProblemType(
            "range-not-satisfiable",
            416,
            "Range Not Satisfiable",
            "A byte range that starts past the end of the file; `Content-Range: bytes */size` says its size.",
            "The file has 2411520 bytes; ask for a range that starts within it.",
        ),
        ProblemType(
            "invalid-cursor",
            400,
            "Invalid cursor",
            "A sync cursor this server did not issue; send next_cursor back exactly, or start over without one.",
            "The cursor is not one this server issued; send back next_cursor exactly as received, or start over without a cursor.",
        ),
        ProblemType(
            "cursor-expired",
            410,
            "Cursor expired",
            "A sync cursor older than the change history kept; download a fresh offline pack and restart sync without a cursor.",
            "This cursor is older than the change history the server keeps. Download a fresh offline pack for your area, then restart sync without a cursor.",
        ),
        # --- handoffs
        ProblemType(
            "idempotency-key-missing",
            400,
            "Idempotency-Key missing",
            "A POST that changes a handoff needs an Idempotency-Key header (a fresh UUID per user action).",
            "This request needs an Idempotency-Key header (a fresh UUID per user action, reused on retries).",
        ),
        ProblemType(
            "idempotency-key-invalid",
            400,
            "Idempotency-Key invalid",
            "The Idempotency-Key is not 1 to 255 visible ASCII characters (optionally in double quotes).",
            "Idempotency-Key must be 1 to 255 visible ASCII characters.",
        ),
        ProblemType(
            "idempotency-key-reused",
            422,
            "Unprocessable Entity",
            "The Idempotency-Key was used for another request (another body or endpoint); use a new key for a new action.",
            "This Idempotency-Key was already used for a different request; use a new key for a new action.",
        ),
        ProblemType(
            "request-in-progress",
            409,
            "Conflict",
            "A request with this Idempotency-Key is still running; retry after `Retry-After` seconds for its answer.",
            "A request with this Idempotency-Key is still being processed; retry shortly for its response.",
        ),
        ProblemType(
            "invalid-transition",
            409,
            "Conflict",
            "The handoff's state machine has no such change from its current status (`current_status`).",
            "A handoff cannot go from requested to completed. From requested: accepted, rejected, cancelled, entered-in-error.",
        ),
        ProblemType(
            "transition-forbidden",
            403,
            "Forbidden",
            "The change exists but is the other side's to make (navigators accept and complete; referrers cancel).",
            "Only the navigator centre may move a handoff from requested to accepted.",
        ),
        ProblemType(
            "reason-required",
            422,
            "Unprocessable Entity",
            "This change needs a `reason` (rejected, on-hold, failed, cancelled).",
            "A reason is required to make a handoff cancelled.",
        ),
        ProblemType(
            "claimed-by-another",
            409,
            "Claimed by another navigator",
            "Another navigator of the centre owns the handoff; claim it with `take_over: true` to act on it.",
            "Handoff 6f1c2b9e-0d4a-4f5e-9b1a-3c2d1e0f9a8b is claimed by another navigator; claim it with take_over to act on it.",
        ),
        ProblemType(
            "purged",
            409,
            "Conflict",
            "The handoff's personal data was purged after it closed; nothing can be added to it.",
            "This handoff's personal data was purged after it closed; notes can no longer be added.",
        ),
        ProblemType(
            "conflict", 409, "Conflict", "The request conflicts with the resource's current state.", "Conflict"
        ),
        # --- live data
        ProblemType(
            "capacity-outdated",
            409,
            "Count older than the one shown",
            "The count's `updated` time is older than the count the service already shows for that unit (a later "
            "update, or a newer import); nothing was changed. Send the current count with a later time, or no time.",
            "The beds count of 2026-12-04T21:00:00-05:00 is older than the one shown (2026-12-04T21:30:00-05:00).",
        ),
        ProblemType(
            "report-exists",
            409,
            "Already reported",
            "You already have an open report of this kind about this service; `report_id` names it. It stays until "
            "the 211 centre resolves it.",
            "You already reported this service as closed today; the 211 centre has your report.",
        ),
        ProblemType(
            "report-resolved",
            409,
            "Report already resolved",
            "The report was already resolved (`resolved_at`); a resolution is not changed afterwards.",
            "Report 4b8e2f0a-1c3d-4e5f-8a9b-0c1d2e3f4a5b was already resolved.",
        ),
        ProblemType(
            "too-many-reports",
            429,
            "Too many reports",
            "More reports in the last hour than one person may make (FIELDNAV_REPORTS_PER_HOUR); retry after "
            "`Retry-After` seconds.",
            "You made 20 reports in the last hour, the most allowed; try again in 25 min.",
        ),
        # --- shares
        ProblemType(
            "too-many-shares",
            429,
            "Too many shares",
            "More shares in the last hour than one person may make (FIELDNAV_SHARES_PER_HOUR); retry after "
            "`Retry-After` seconds.",
            "You made 30 shares in the last hour, the most allowed; try again in 12 min.",
        ),
        ProblemType(
            "share-expired",
            410,
            "Share expired",
            "The share's link has expired (FIELDNAV_SHARES_TTL_DAYS after it was made); the list is gone for good.",
            "This list of services has expired; lists are kept a few days only.",
        ),
        ProblemType("gone", 410, "Gone", "The resource existed and is gone for good.", "Gone"),
        # --- the server
        ProblemType(
            "unavailable",
            503,
            "Service Unavailable",
            "The database (or basemap) cannot be reached right now; retry after `Retry-After` seconds. "
            "Cached directory reads go on where they can.",
            "The directory database is not reachable right now; try again shortly.",
        ),
        ProblemType(
            "query-timeout",
            503,
            "Service Unavailable",
            "The query ran past the statement timeout and was stopped; retry, or narrow the request.",
            "The query took too long and was stopped; try again, or narrow it.",
        ),
        ProblemType(
            "directory-busy",
            503,
            "Directory busy",
            "An import holds the directory for a few more seconds; send the same request again (same "
            "Idempotency-Key) after `Retry-After` seconds.",
            "The directory is being updated by an import; send the same request again in a few seconds.",
        ),
        ProblemType(
            "pack-builds-busy",
            503,
            "Pack builds busy",
            "Every offline pack build slot is taken and the queue is full (or the wait ran out); retry after "
            "`Retry-After` seconds. Packs already built are still served.",
            "The server is building as many offline packs as it can; try again in 15 s.",
        ),
        ProblemType(
            "pack-build-timeout",
            503,
            "Pack build too slow",
            "Building the pack took longer than the server allows (FIELDNAV_PACKS_BUILD_TIMEOUT_S) and was stopped; "
            "retry later, or ask for a smaller area or a lower max_zoom.",
            "Building this pack took longer than 120 s and was stopped; try again later, or ask for a smaller area.",
        ),
        ProblemType(
            "pack-storage-not-shared",
            503,
            "Pack on another server",
            "The pack's files are in another server's local folder (FIELDNAV_PACKS_STORAGE=local on several hosts); "
            "retry (another server may answer), and operators should set FIELDNAV_PACKS_STORAGE=database.",
            "This offline pack is kept on another server; try again shortly.",
        ),
        ProblemType(
            "migrations-pending",
            503,
            "Service Unavailable",
            "The database schema is not current (readiness only); an operator must run `fieldnav db migrate`.",
            "The database schema is not current: run `fieldnav db migrate`.",
        ),
        ProblemType(
            "no-navigator-centre",
            503,
            "Service Unavailable",
            "No navigator centre serves the area and the default centre is not loaded; an administrator must load centres.",
            "No navigator centre serves this area and the default centre is not loaded; an administrator must run `fieldnav centres load`.",
        ),
        ProblemType(
            "app-not-built",
            503,
            "Field client not built",
            "The field client (/app/) is not built on this server.",
            "The field client is not built on this server: run `make web`, then reload.",
        ),
        ProblemType(
            "internal-error",
            500,
            "Internal Server Error",
            "A bug on the server's side; it has been logged. Retrying may not help.",
            "Something went wrong on our side; it has been logged.",
        ),
        ProblemType(
            "http-error",
            400,
            "Bad Request",
            "Any other HTTP error without a type of its own; `status` says which.",
            "Bad Request",
        ),
    )
}
