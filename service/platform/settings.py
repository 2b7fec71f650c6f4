"""Settings from the environment (FIELDNAV_*), one class per concern.

Every variable is documented in README.md ("Configuration"); keep the two in step.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class DatabaseSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FIELDNAV_", extra="ignore")

    # Unset: fieldnav runs its own private cluster under FIELDNAV_HOME/db. The application's
    # role (API, worker, purge): owns nothing, has only the grants of service/platform/grants.py.
    database_url: str | None = None
    # The role that owns the schema (migrations, imports, demo data, centres); unset: the
    # role of FIELDNAV_DATABASE_URL does both, as on a server with a single fieldnav role.
    migration_database_url: str | None = None
    # A streaming replica for read-only queries (nearest, search, tiles, sync); unset: the
    # primary serves reads too.
    database_read_url: str | None = None
    pool_size: int = Field(default=10, ge=1, le=200)
    pool_timeout_s: float = Field(default=5.0, gt=0)
    statement_timeout_ms: int = Field(default=10_000, ge=100)


class PathSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FIELDNAV_", extra="ignore")

    # Where fieldnav keeps its private cluster and other local state.
    home: Path = PROJECT_ROOT / ".fieldnav"


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FIELDNAV_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    # Seconds the data version read from the database is reused before asking again.
    data_version_ttl_s: float = Field(default=1.0, ge=0)
    # Reverse proxies (comma-separated IPs or CIDRs) whose X-Forwarded-For / -Proto `fieldnav
    # serve` believes; empty: none, the client is the TCP peer (docs/deploy.md, "Security").
    trusted_proxies: str = ""

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_addresses(cls, value: str) -> str:
        for entry in (e.strip() for e in value.split(",")):
            if entry:
                try:
                    ipaddress.ip_network(entry)  # strict, as uvicorn reads it: 10.0.0.0/8, not 10.0.0.1/8
                except ValueError:
                    raise ValueError(
                        f"FIELDNAV_TRUSTED_PROXIES: {entry!r} is not an IP address or CIDR "
                        "(list proxies explicitly: 10.0.0.0/8, not *)"
                    ) from None
        return value

    def trusted_proxy_list(self) -> list[str]:
        return [e.strip() for e in self.trusted_proxies.split(",") if e.strip()]


class ImportSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FIELDNAV_", extra="ignore")

    # Time zone of opening hours when a schedule names none.
    default_timezone: str = "America/Toronto"
    # Bad rows listed in full in the import report (all are counted).
    max_reported_problems: int = Field(default=200, ge=0)
    # The HSDS APIs `fieldnav worker` pulls on a schedule (YAML; README, "Pulling from an
    # HSDS API"); unset: the worker pulls nothing.
    sources_file: Path | None = None


class PullSettings(BaseSettings):
    """`fieldnav import --from-api` and the worker's scheduled pulls (service/importer/remote.py)."""

    model_config = SettingsConfigDict(env_prefix="FIELDNAV_PULL_", extra="ignore")

    # One request: connect, and then each read of the answer.
    timeout_s: float = Field(default=30.0, gt=0)
    # Tries of one page (429, 5xx, timeouts, refused connections) before the pull fails.
    max_attempts: int = Field(default=5, ge=1, le=20)
    # First retry delay, doubling (with jitter) up to the cap; a Retry-After is honoured
    # up to the cap too.
    backoff_base_s: float = Field(default=1.0, ge=0)
    backoff_max_s: float = Field(default=60.0, ge=0)
    # Services (and organizations) asked for per page: 100 is what fieldnav's own HSDS API
    # (and many others) allow at most.
    page_size: int = Field(default=100, ge=1, le=10_000)
    # A remote that sends more pages or bytes than this is refused (a page loop, or a
    # catalogue far larger than any real one); nothing is imported.
    max_pages: int = Field(default=2_000, ge=1)
    # Services validated and written at a time (in the pull's one transaction): what bounds
    # the import step's memory (service/importer/chunked.py).
    chunk_services: int = Field(default=2_000, ge=1)
    max_bytes: int = Field(default=4 * 1024**3, ge=1024)
    # Sent with every request, e.g. "Authorization: Bearer ..." (a source's own header and
    # --header come after it).
    auth_header: str | None = None


class TileSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FIELDNAV_TILES_", extra="ignore")

    # From this zoom up, tiles hold one point per service location; below, H3 clusters.
    points_min_zoom: int = Field(default=13, ge=0, le=22)
    # From this zoom up, points carry their name and location id too. Below it a point has
    # only id, groups, open_24_7 and capacity: a z13 tile of a city centre holds 500+ points,
    # too many to label, and the two strings would double its bytes (bench/RESULTS.md, Tiles).
    labels_min_zoom: int = Field(default=14, ge=0, le=22)
    max_zoom: int = Field(default=18, ge=0, le=22)
    # Most features one tile may hold (points layer): bounds the size of a crowded tile.
    max_features: int = Field(default=2000, ge=1)
    # In-process tile cache per worker, in bytes (0 turns it off).
    cache_bytes: int = Field(default=64 * 1024 * 1024, ge=0)
    # Cache-Control max-age of unversioned tile URLs.
    max_age_s: int = Field(default=60, ge=0)


class PackSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FIELDNAV_PACKS_", extra="ignore")

    # Where offline pack archives are kept (default FIELDNAV_HOME/packs).
    dir: Path | None = None
    max_tiles: int = Field(default=20_000, ge=1)
    max_bytes: int = Field(default=50 * 1024 * 1024, ge=1)
    min_zoom: int = Field(default=0, ge=0, le=22)
    max_zoom: int = Field(default=16, ge=0, le=22)
    # Packs not downloaded for this long, or built for an older data version and older than
    # this, are removed by the garbage collector.
    keep_days: float = Field(default=14, gt=0)
    # Where new packs are kept (service/maps/packs/storage.py): "local", the folder above (one host
    # only), or "database", chunks in PostgreSQL that every host sharing it serves.
    storage: Literal["local", "database"] = "local"
    # The build queue (service/maps/packs/queue.py): builds running at once per worker process, and
    # in the whole deployment (advisory-lock slots in the database; 0: no such cap);
    max_concurrent_builds: int = Field(default=2, ge=1, le=64)
    max_concurrent_builds_total: int = Field(default=4, ge=0, le=1024)
    # builds waiting for a slot per worker, and for how long; over either: 503 pack-builds-busy;
    queue_size: int = Field(default=8, ge=0, le=1000)
    queue_wait_s: float = Field(default=30, gt=0)
    # a build running longer than this is stopped (503 pack-build-timeout);
    build_timeout_s: float = Field(default=120, gt=0)
    # connections of the packs' own pool per worker, never the requests' pool (a build holds
    # two; reads of packs stored in the database one, briefly). Unset: 2 x builds + 2.
    pool_size: int | None = Field(default=None, ge=2, le=200)

    def pack_pool_size(self) -> int:
        return self.pool_size or 2 * self.max_concurrent_builds + 2


class SyncSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FIELDNAV_SYNC_", extra="ignore")

    # Change log entries older than this are pruned; cursors from before get 410 Gone.
    retention_days: float = Field(default=30, gt=0)
    page_size: int = Field(default=500, ge=1, le=5000)


class BasemapSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FIELDNAV_BASEMAP_", extra="ignore", populate_by_name=True)

    # A PMTiles v3 archive (vector or raster) served at /v1/basemap/{z}/{x}/{y} and copied,
    # for the pack's area, into offline packs (service/maps/basemap.py). Unset: no basemap.
    basemap_pmtiles: Path | None = Field(default=None, validation_alias="FIELDNAV_BASEMAP_PMTILES")
    # A MapLibre style (style JSON URL) the field client draws under the services while online:
    # a street map. The default is OpenFreeMap's "Liberty" (free, no key; OpenStreetMap data,
    # attribution shown by the map). Empty: no style (the PMTiles basemap, else a plain background).
    style_url: str = Field(
        default="https://tiles.openfreemap.org/styles/liberty", validation_alias="FIELDNAV_BASEMAP_STYLE_URL"
    )

    @field_validator("style_url")
    @classmethod
    def _style_url_is_http(cls, value: str) -> str:
        value = value.strip()
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("FIELDNAV_BASEMAP_STYLE_URL must be an http(s) URL of a MapLibre style, or empty")
        return value

    @property
    def style(self) -> str | None:
        """The style URL, or None when it is turned off (an empty or blank value)."""
        return self.style_url or None


class AuthSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FIELDNAV_AUTH_", extra="ignore")

    # The issuer and audience of tokens fieldnav signs itself (`fieldnav token create`).
    issuer: str = "fieldnav"
    audience: str = "fieldnav-api"
    # PEM private key (Ed25519) fieldnav signs with; generated under FIELDNAV_HOME/keys
    # on first use when unset.
    signing_key_file: Path | None = None
    # JSON/YAML file listing the agencies' identity providers we trust:
    # [{issuer, audience, jwks_file | jwks_url, agencies: [..]}] (README, "Identity").
    issuers_file: Path | None = None
    # true: directory reads, tiles, packs and sync need no token (open deployments).
    public_reads: bool = False
    # Seconds a "not revoked" answer is reused before asking the database again, and a verified
    # token's signature before checking it again (service/auth/verified_tokens.py).
    revocation_cache_s: float = Field(default=5.0, ge=0)
    # Longest lifetime `fieldnav token create` accepts, in hours.
    max_token_ttl_h: float = Field(default=24 * 30, gt=0)
    # Clock skew tolerated on exp/nbf/iat, seconds.
    leeway_s: int = Field(default=30, ge=0, le=300)
    # Device-bound refresh (service/auth/devices.py, README "Staying signed in on a shift"):
    # lifetime of an access token issued by POST /v1/auth/refresh (a shift), hours;
    access_ttl_h: float = Field(default=12, gt=0)
    # a device not refreshed for this long must sign in again, hours;
    refresh_idle_h: float = Field(default=72, gt=0)
    # and every device signs in again this long after the sign-in it was registered from, days.
    device_max_days: float = Field(default=30, gt=0)


class LimitSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FIELDNAV_LIMIT_", extra="ignore")

    # Requests per window per principal (per client address when anonymous).
    requests_per_min: int = Field(default=600, ge=1)
    # Expensive operations (offline pack builds) per window per principal.
    expensive_per_min: int = Field(default=10, ge=1)
    # Length of a rate-limit window in seconds (the limits above are per window).
    window_s: int = Field(default=60, ge=1, le=3600)
    # Largest request body accepted, in bytes.
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    # Largest request head (request line and headers) `fieldnav serve` reads, in bytes, and
    # most header fields; over: 431 (414 for the request line), connection closed.
    max_header_bytes: int = Field(default=32 * 1024, ge=4096, le=1024 * 1024)
    max_headers: int = Field(default=100, ge=16, le=1000)
    # Origins allowed by CORS (comma-separated); empty: no cross-origin browser access.
    cors_origins: str = ""


class HandoffSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FIELDNAV_HANDOFF_", extra="ignore")

    # Fernet keys for personal data at rest, comma-separated, the first one active (encrypts);
    # the others only decrypt (key rotation, README "Handoffs"). Unset: a key file.
    keys: str | None = None
    # Key file used when FIELDNAV_HANDOFF_KEYS is unset (one key a line, first active);
    # default FIELDNAV_HOME/keys/handoff-fernet.keys, created 0600 on first use.
    key_file: Path | None = None
    # Centre a handoff goes to when no centre's area contains its location.
    default_centre: str = "211-ontario"
    # Region used to read callback phone numbers written without a country code.
    phone_region: str = Field(default="CA", min_length=2, max_length=2)
    # Hours an Idempotency-Key (and the response it replays) is kept.
    idempotency_ttl_h: float = Field(default=24, gt=0, le=24 * 30)
    # Days after a handoff closes before `fieldnav purge` removes its personal data.
    retention_days: float = Field(default=30, ge=0)
    # k-anonymity of GET /v1/stats/handoffs: groups counting fewer handoffs are suppressed.
    stats_min_count: int = Field(default=10, ge=1)
    # Webhooks (`fieldnav worker`): attempts before an event is dead-lettered, exponential
    # backoff (base doubling up to the cap, "equal jitter"), per-request timeout, polling interval.
    webhook_max_attempts: int = Field(default=10, ge=1, le=100)
    webhook_backoff_base_s: float = Field(default=5.0, gt=0)
    webhook_backoff_max_s: float = Field(default=3600.0, gt=0)
    webhook_timeout_s: float = Field(default=10.0, gt=0, le=120)
    worker_poll_s: float = Field(default=2.0, gt=0)
    worker_batch_size: int = Field(default=20, ge=1, le=1000)
    # Time zone of statistics weeks (Monday to Sunday, local).
    stats_timezone: str = "America/Toronto"


class CapacitySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FIELDNAV_CAPACITY_", extra="ignore")

    # A count older than this is "stale": shown greyed with its age, never counted as free.
    stale_after_h: float = Field(default=12, gt=0, le=24 * 30)
    # Seconds an update waits for an import holding the directory lock before a 503.
    lock_timeout_s: float = Field(default=5, gt=0, le=60)
    # Services in one POST /v1/capacity. 300 items with a time each is ~45 KB, inside
    # FIELDNAV_LIMIT_MAX_BODY_BYTES (64 KiB); raise both together.
    max_bulk_items: int = Field(default=300, ge=1, le=5000)


class ShareSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FIELDNAV_SHARES_", extra="ignore")

    # Days a share's link opens its page; after, 410 Gone.
    ttl_days: float = Field(default=7, gt=0, le=90)
    # Days after expiry before `fieldnav purge` deletes a share (its link then answers 404).
    gone_days: float = Field(default=30, ge=0, le=365)
    # Shares one person may make in an hour (beyond the per-minute request limit).
    per_hour: int = Field(default=30, ge=1, le=1000)
    # Hours an SMS or email recipient is kept when the message cannot be delivered; a
    # delivered message's recipient is cleared at once.
    recipient_retention_h: float = Field(default=72, gt=0, le=24 * 30)
    # The base of share links (https://fieldnav.example.org); unset: the address the request
    # came to (behind a proxy, FIELDNAV_TRUSTED_PROXIES makes that the public one).
    public_url: str | None = None
    # Where a service's "Map" link goes; {lat} and {lon} are filled in.
    map_link: str = "https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=17/{lat}/{lon}"
    # Delivery (`fieldnav worker`): attempts before a message is dead-lettered, backoff, timeout.
    max_attempts: int = Field(default=8, ge=1, le=100)
    backoff_base_s: float = Field(default=30.0, gt=0)
    backoff_max_s: float = Field(default=1800.0, gt=0)
    timeout_s: float = Field(default=10.0, gt=0, le=120)

    @field_validator("public_url")
    @classmethod
    def _public_url_is_http(cls, value: str | None) -> str | None:
        value = (value or "").strip().rstrip("/")
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("FIELDNAV_SHARES_PUBLIC_URL must be an http(s) URL, or unset")
        return value or None


class SmsSettings(BaseSettings):
    """An SMS provider's HTTP API, in Twilio's format (service/shares/sms.py): a form POST of
    To, From and Body with HTTP Basic auth (account, token). Unset URL: SMS shares are refused."""

    model_config = SettingsConfigDict(env_prefix="FIELDNAV_SMS_", extra="ignore", populate_by_name=True)

    # {account} is filled in: https://api.twilio.com/2010-04-01/Accounts/{account}/Messages.json
    url: str | None = None
    account: str | None = None
    token: SecretStr | None = None
    sender: str | None = Field(default=None, validation_alias=AliasChoices("FIELDNAV_SMS_FROM", "sender"))


class SmtpSettings(BaseSettings):
    """The mail server share emails go through. Unset host: email shares are refused."""

    model_config = SettingsConfigDict(env_prefix="FIELDNAV_SMTP_", extra="ignore", populate_by_name=True)

    host: str | None = None
    port: int = Field(default=587, ge=1, le=65535)
    # "starttls" (port 587), "tls" (implicit TLS, port 465) or "none" (a relay on the host).
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    sender: str | None = Field(default=None, validation_alias=AliasChoices("FIELDNAV_SMTP_FROM", "sender"))
    timeout_s: float = Field(default=10.0, gt=0, le=120)


class ReportSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FIELDNAV_REPORTS_", extra="ignore")

    # Reports one person may make in an hour (beyond the per-minute request limit).
    per_hour: int = Field(default=20, ge=1, le=1000)
    # Days a resolved report is kept before `fieldnav purge` deletes it.
    retention_days: float = Field(default=365, ge=0)


class GeocoderSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FIELDNAV_GEOCODER_", extra="ignore")

    # An external geocoder GET /v1/places asks first (service/places/geocoder.py): its base URL,
    # e.g. https://nominatim.example.org. Unset: the embedded gazetteer alone answers.
    url: str | None = None
    # "nominatim": {url}/search?format=jsonv2; "pelias": {url}/v1/search?text=.
    kind: Literal["nominatim", "pelias"] = "nominatim"
    # The whole exchange, connect to last byte; past it the gazetteer answers instead.
    timeout_s: float = Field(default=1.5, gt=0, le=10)
    # ISO 3166-1 alpha-2 codes (comma-separated) the geocoder's answers are limited to; empty: none.
    countries: str = "ca"

    @field_validator("url")
    @classmethod
    def _url_is_http(cls, value: str | None) -> str | None:
        value = (value or "").strip().rstrip("/")
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("FIELDNAV_GEOCODER_URL must be an http(s) URL, or unset")
        return value or None


@lru_cache(maxsize=1)
def capacity_settings() -> CapacitySettings:
    return CapacitySettings()


@lru_cache(maxsize=1)
def report_settings() -> ReportSettings:
    return ReportSettings()


@lru_cache(maxsize=1)
def share_settings() -> ShareSettings:
    return ShareSettings()


@lru_cache(maxsize=1)
def sms_settings() -> SmsSettings:
    return SmsSettings()


@lru_cache(maxsize=1)
def smtp_settings() -> SmtpSettings:
    return SmtpSettings()


@lru_cache(maxsize=1)
def auth_settings() -> AuthSettings:
    return AuthSettings()


@lru_cache(maxsize=1)
def limit_settings() -> LimitSettings:
    return LimitSettings()


@lru_cache(maxsize=1)
def tile_settings() -> TileSettings:
    return TileSettings()


@lru_cache(maxsize=1)
def pack_settings() -> PackSettings:
    return PackSettings()


@lru_cache(maxsize=1)
def sync_settings() -> SyncSettings:
    return SyncSettings()


@lru_cache(maxsize=1)
def database_settings() -> DatabaseSettings:
    return DatabaseSettings()


@lru_cache(maxsize=1)
def path_settings() -> PathSettings:
    return PathSettings()


@lru_cache(maxsize=1)
def api_settings() -> ApiSettings:
    return ApiSettings()


@lru_cache(maxsize=1)
def import_settings() -> ImportSettings:
    return ImportSettings()


@lru_cache(maxsize=1)
def pull_settings() -> PullSettings:
    return PullSettings()


@lru_cache(maxsize=1)
def handoff_settings() -> HandoffSettings:
    return HandoffSettings()


@lru_cache(maxsize=1)
def basemap_settings() -> BasemapSettings:
    return BasemapSettings()


@lru_cache(maxsize=1)
def geocoder_settings() -> GeocoderSettings:
    return GeocoderSettings()
