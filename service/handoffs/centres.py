"""Navigator centres are data: loaded from a file, matched to a handoff by the area they serve.

A centres file is JSON (or YAML) holding a list of centres, or ``{"centres": [...]}``:

```json
{"centres": [{
  "id": "211-east",                               // a navigator token's agency is this id
  "name": {"en": "211 East", "fr": "211 Est"},
  "phone": "211",                                 // the navigator line: a number or a short code
  "hours": {"timezone": "America/Toronto", "weekly": {"mon": ["08:00-20:00"], ...}},   // or "24/7"
  "callback_within_h": {"routine": 24, "urgent": 2},   // in open hours
  "languages": ["en", "fr"],
  "webhook_url": "https://centre.example/fieldnav-events",     // optional
  "webhook_secret_env": "FIELDNAV_WEBHOOK_SECRET_211_EAST",    // name of an env var: never the secret
  "area": {"type": "MultiPolygon", "coordinates": [...]}       // GeoJSON geometry, Feature or FeatureCollection
}]}
```

Loading upserts every centre of the file in one transaction; a bad entry refuses the whole
file. A handoff goes to the smallest centre area that contains its location, else to
``FIELDNAV_HANDOFF_DEFAULT_CENTRE``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import orjson
import yaml
from sqlalchemy import Connection, Engine, text

from service.handoffs.callback import CentreHours, parse_hours
from service.handoffs.model import Urgency
from service.platform.phones import tel_uri
from service.platform.settings import handoff_settings

_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


class CentreFileError(ValueError):
    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Centre:
    id: str
    name_en: str
    name_fr: str
    phone: str
    tel_uri: str
    hours: CentreHours
    callback_within_h: dict[str, float]
    languages: list[str]
    webhook_url: str | None = None
    webhook_secret_env: str | None = None

    def summary(self) -> dict:
        """What the app shows: names, the line to call, hours. No configuration secrets."""
        return {
            "id": self.id,
            "name_en": self.name_en,
            "name_fr": self.name_fr,
            "phone": self.phone,
            "tel": self.tel_uri,
            "always_open": self.hours.always_open,
            "timezone": self.hours.timezone,
        }


@dataclass(frozen=True)
class CentreSpec:
    centre: Centre
    area_geojson: dict


# --------------------------------------------------------------------------- parsing


def _polygons(node, where: str) -> list:
    """Polygon coordinate lists of a GeoJSON geometry, Feature or FeatureCollection."""
    if not isinstance(node, dict):
        raise ValueError(f"{where} must be a GeoJSON object")
    kind = node.get("type")
    if kind == "FeatureCollection":
        return [p for i, f in enumerate(node.get("features") or []) for p in _polygons(f, f"{where}.features[{i}]")]
    if kind == "Feature":
        return _polygons(node.get("geometry"), f"{where}.geometry")
    if kind == "Polygon":
        return [node.get("coordinates")]
    if kind == "MultiPolygon":
        return list(node.get("coordinates") or [])
    if kind == "GeometryCollection":
        return [p for i, g in enumerate(node.get("geometries") or []) for p in _polygons(g, f"{where}.geometries[{i}]")]
    raise ValueError(f"{where}: only Polygon and MultiPolygon areas are accepted, not {kind!r}")


def _check_rings(polygons: list, where: str) -> None:
    if not polygons:
        raise ValueError(f"{where} holds no polygon")
    for p, polygon in enumerate(polygons):
        if not isinstance(polygon, list) or not polygon:
            raise ValueError(f"{where}: polygon {p} has no rings")
        for r, ring in enumerate(polygon):
            if not isinstance(ring, list) or len(ring) < 4:
                raise ValueError(f"{where}: polygon {p} ring {r} needs at least 4 positions")
            for position in ring:
                if (
                    not isinstance(position, list)
                    or len(position) < 2
                    or not all(isinstance(v, (int, float)) for v in position[:2])
                ):
                    raise ValueError(f"{where}: polygon {p} ring {r} has a position that is not [lon, lat]")
                lon, lat = position[0], position[1]
                if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                    raise ValueError(
                        f"{where}: polygon {p} ring {r} has a position outside lon/lat range ({lon}, {lat})"
                    )
            if ring[0][:2] != ring[-1][:2]:
                raise ValueError(f"{where}: polygon {p} ring {r} is not closed (first and last positions differ)")


def _webhook(entry: dict, where: str) -> tuple[str | None, str | None]:
    url, secret_env = entry.get("webhook_url"), entry.get("webhook_secret_env")
    if "webhook_secret" in entry:
        raise ValueError(
            f"{where}.webhook_secret: secrets never go in files; name an environment variable in webhook_secret_env"
        )
    if not url:
        return None, None
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"{where}.webhook_url must be an https:// URL")
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK_HOSTS:
        raise ValueError(f"{where}.webhook_url must use https (plain http only to localhost)")
    if not secret_env or not _ENV_NAME.match(secret_env):
        raise ValueError(f"{where}.webhook_secret_env must name the environment variable holding the signing secret")
    return url, secret_env


def parse_centre(entry, where: str) -> CentreSpec:
    if not isinstance(entry, dict):
        raise ValueError(f"{where} must be an object")
    centre_id = entry.get("id")
    if not isinstance(centre_id, str) or not _ID.match(centre_id):
        raise ValueError(
            f"{where}.id must be lowercase letters, digits, '.', '_' or '-' (it is the navigators' agency id)"
        )
    name = entry.get("name") or {}
    name_en, name_fr = (name.get("en"), name.get("fr")) if isinstance(name, dict) else (None, None)
    name_en, name_fr = name_en or entry.get("name_en"), name_fr or entry.get("name_fr")
    if not name_en or not name_fr:
        raise ValueError(f"{where}.name needs both en and fr")
    phone = str(entry.get("phone") or "")
    region = str(entry.get("phone_region") or handoff_settings().phone_region)
    tel = tel_uri(phone, region, short_codes=True, valid_only=True, separators=True)
    if tel is None:
        raise ValueError(f"{where}.phone is not a phone number or short code")
    try:
        hours = parse_hours(entry.get("hours", "24/7"))
    except ValueError as error:
        raise ValueError(f"{where}.{error}") from None
    within = entry.get("callback_within_h") or {"routine": 24, "urgent": 2}
    if (
        not isinstance(within, dict)
        or set(within) != {u.value for u in Urgency}
        or not all(isinstance(v, (int, float)) and 0 < v <= 24 * 14 for v in within.values())
    ):
        raise ValueError(f"{where}.callback_within_h needs routine and urgent, in hours (0 to 336)")
    languages = entry.get("languages") or ["en", "fr"]
    if not isinstance(languages, list) or not all(
        isinstance(c, str) and re.match(r"^[a-z]{2,3}$", c) for c in languages
    ):
        raise ValueError(f"{where}.languages must be ISO 639 codes")
    webhook_url, secret_env = _webhook(entry, where)
    polygons = _polygons(entry.get("area"), f"{where}.area")
    _check_rings(polygons, f"{where}.area")
    centre = Centre(
        centre_id,
        str(name_en),
        str(name_fr),
        phone,
        tel,
        hours,
        {k: float(v) for k, v in within.items()},
        languages,
        webhook_url,
        secret_env,
    )
    return CentreSpec(centre, {"type": "MultiPolygon", "coordinates": polygons})


def read_centres_file(path: Path) -> list[CentreSpec]:
    try:
        raw = path.read_text("utf-8")
    except OSError as error:
        raise CentreFileError([f"{path}: {error.strerror}"]) from None
    try:
        data = yaml.safe_load(raw) if path.suffix.lower() in (".yaml", ".yml") else json.loads(raw)
    except (ValueError, yaml.YAMLError) as error:
        raise CentreFileError(
            [f"{path}: not valid {'YAML' if path.suffix.lower() in ('.yaml', '.yml') else 'JSON'} ({error})"]
        ) from None
    entries = data.get("centres") if isinstance(data, dict) else data
    if not isinstance(entries, list) or not entries:
        raise CentreFileError([f'{path}: expected a list of centres or {{"centres": [...]}}'])
    specs, problems, seen = [], [], set()
    for index, entry in enumerate(entries):
        try:
            spec = parse_centre(entry, f"centres[{index}]")
        except ValueError as error:
            problems.append(str(error))
            continue
        if spec.centre.id in seen:
            problems.append(f"centres[{index}].id {spec.centre.id!r} appears twice")
        seen.add(spec.centre.id)
        specs.append(spec)
    if problems:
        raise CentreFileError(problems)
    return specs


# --------------------------------------------------------------------------- database

_UPSERT = text("""
    INSERT INTO navigator_centre (id, name_en, name_fr, phone, tel_uri, hours, callback_targets, languages, area,
                                  area_km2, webhook_url, webhook_secret_env, source, loaded_at)
    SELECT :id, :name_en, :name_fr, :phone, :tel_uri, CAST(:hours AS jsonb), CAST(:targets AS jsonb), :languages,
           g.area, ST_Area(g.area::geography) / 1e6, :webhook_url, :webhook_secret_env, :source, now()
    FROM (SELECT ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON(:area), 4326)) AS area) g
    ON CONFLICT (id) DO UPDATE SET
        name_en = EXCLUDED.name_en, name_fr = EXCLUDED.name_fr, phone = EXCLUDED.phone, tel_uri = EXCLUDED.tel_uri,
        hours = EXCLUDED.hours, callback_targets = EXCLUDED.callback_targets, languages = EXCLUDED.languages,
        area = EXCLUDED.area, area_km2 = EXCLUDED.area_km2, webhook_url = EXCLUDED.webhook_url,
        webhook_secret_env = EXCLUDED.webhook_secret_env, source = EXCLUDED.source, loaded_at = now()
    RETURNING (xmax = 0) AS inserted
""")


def load_centres(engine: Engine, path: Path) -> list[tuple[str, bool]]:
    """Upsert every centre of the file in one transaction: [(id, newly created)]. Raises
    CentreFileError (nothing changed) when any entry is bad, including invalid polygons."""
    specs = read_centres_file(path)
    results = []
    with engine.begin() as connection:
        for index, spec in enumerate(specs):
            area = orjson.dumps(spec.area_geojson).decode()
            valid, reason = connection.execute(
                text(
                    "SELECT ST_IsValid(g), ST_IsValidReason(g) FROM (SELECT ST_SetSRID(ST_GeomFromGeoJSON(:area), 4326) AS g) s"
                ),
                {"area": area},
            ).one()
            if not valid:
                raise CentreFileError([f"centres[{index}].area is not a valid polygon: {reason}"])
            c = spec.centre
            inserted = connection.execute(
                _UPSERT,
                {
                    "id": c.id,
                    "name_en": c.name_en,
                    "name_fr": c.name_fr,
                    "phone": c.phone,
                    "tel_uri": c.tel_uri,
                    "hours": orjson.dumps(c.hours.as_json()).decode(),
                    "targets": orjson.dumps(c.callback_within_h).decode(),
                    "languages": c.languages,
                    "area": area,
                    "webhook_url": c.webhook_url,
                    "webhook_secret_env": c.webhook_secret_env,
                    "source": path.name,
                },
            ).scalar_one()
            results.append((c.id, bool(inserted)))
    return results


_COLUMNS = "id, name_en, name_fr, phone, tel_uri, hours, callback_targets, languages, webhook_url, webhook_secret_env"


def _centre(row) -> Centre:
    return Centre(
        row.id,
        row.name_en,
        row.name_fr,
        row.phone,
        row.tel_uri,
        CentreHours.from_json(row.hours),
        dict(row.callback_targets),
        list(row.languages),
        row.webhook_url,
        row.webhook_secret_env,
    )


def get_centre(connection: Connection, centre_id: str) -> Centre | None:
    row = connection.execute(text(f"SELECT {_COLUMNS} FROM navigator_centre WHERE id = :id"), {"id": centre_id}).first()
    return _centre(row) if row else None


def route(connection: Connection, lat: float | None, lon: float | None) -> Centre | None:
    """The centre serving a point (the smallest area containing it), else the default centre."""
    if lat is not None and lon is not None:
        row = connection.execute(
            text(f"""
            SELECT {_COLUMNS} FROM navigator_centre
            WHERE ST_Covers(area, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))
            ORDER BY area_km2, id LIMIT 1
        """),
            {"lat": lat, "lon": lon},
        ).first()
        if row:
            return _centre(row)
    return get_centre(connection, handoff_settings().default_centre)


def list_centres(connection: Connection) -> list[dict]:
    rows = (
        connection.execute(
            text("""
        SELECT c.id, c.name_en, c.name_fr, c.phone, c.tel_uri, c.languages, round(c.area_km2::numeric, 1) AS area_km2,
               c.webhook_url IS NOT NULL AS has_webhook, c.source, c.loaded_at,
               (SELECT count(*) FROM handoff h WHERE h.centre_id = c.id AND h.status IN
                   ('requested', 'accepted', 'in-progress', 'on-hold')) AS open_handoffs
        FROM navigator_centre c ORDER BY c.id
    """)
        )
        .mappings()
        .all()
    )
    default = handoff_settings().default_centre
    return [
        {
            **row,
            "area_km2": float(row["area_km2"]),
            "loaded_at": row["loaded_at"].isoformat(),
            "default": row["id"] == default,
        }
        for row in rows
    ]
