"""The peer of bench/tiles.py: developmentseed/tipg, in its own virtualenv, serving the same
points as fieldnav's raw `services` layer from a view in schema ``tipg_peer``.

tipg pins its own FastAPI/starlette, so it never goes into fieldnav's ``.venv``: it lives in
``.fieldnav/bench-tipg-venv`` (installed once, reused). It is given the same HTTP stack as
fieldnav (``uvicorn[standard]``: uvloop + httptools, as fieldnav's venv has them), the same
worker count, no access log, and fieldnav's MVT settings (extent 4096, buffer 64, at most
2,000 features per tile). Only 127.0.0.1 is used.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import orjson
from sqlalchemy import make_url, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common
from common import log

from service.maps.tiles import NAME_MAX_CHARS
from service.platform.db import make_engine
from service.platform.settings import tile_settings
from spatial.tiles import BUFFER, EXTENT

TIPG_VENV = common.PROJECT_DIR / ".fieldnav" / "bench-tipg-venv"
TIPG_PACKAGES = ["tipg", "uvicorn[standard]"]
PEER_SCHEMA = "tipg_peer"
PEER_VIEW = "service_points"
COLLECTION_ID = f"{PEER_SCHEMA}.{PEER_VIEW}"
TILE_PATH = "/collections/" + COLLECTION_ID + "/tiles/WebMercatorQuad/{z}/{x}/{y}"

# The same rows and the same properties as fieldnav's points layer (service/maps/tiles.py,
# POINTS_SQL): public, active, located sites. `id` is the site key, fieldnav's feature id;
# tipg takes it as the feature key (its fallback key names include "id") and orders by it.
# (Dropped first: a view's columns cannot change in place.)
VIEW_SQL = f"""
DROP VIEW IF EXISTS {PEER_SCHEMA}.{PEER_VIEW};
CREATE VIEW {PEER_SCHEMA}.{PEER_VIEW} AS
SELECT s.site_key AS id,
       left(s.card ->> 'name', {NAME_MAX_CHARS}) AS name,
       array_to_string(s.category_groups, ',') AS groups,
       coalesce(s.card -> 'week_intervals' = '[[0, 10080]]'::jsonb, false) AS open_24_7,
       CASE WHEN s.capacity_available IS NULL THEN 'none'
            WHEN s.capacity_available > 0 THEN 'available' ELSE 'full' END AS capacity,
       s.geom
FROM public.service_site s
WHERE NOT s.is_private AND s.status = 'active' AND s.geom IS NOT NULL
"""


def tipg_python() -> Path:
    return TIPG_VENV / "bin" / "python"


def ensure_tipg_venv() -> str:
    """Create .fieldnav/bench-tipg-venv with tipg and uvicorn[standard] unless present;
    return tipg's version."""
    python = tipg_python()
    probe = [str(python), "-c", "import tipg, uvicorn, uvloop, httptools; print(tipg.__version__)"]
    if python.exists():
        result = subprocess.run(probe, capture_output=True, text=True, timeout=120)
        if result.returncode == 0:
            return result.stdout.strip()
    log(f"installing tipg into {TIPG_VENV} (pip, PyPI)")
    subprocess.run([shutil.which("python3") or "python3", "-m", "venv", str(TIPG_VENV)], check=True, timeout=300)
    subprocess.run([str(TIPG_VENV / "bin" / "pip"), "install", "--quiet", *TIPG_PACKAGES], check=True, timeout=900)
    result = subprocess.run(probe, capture_output=True, text=True, timeout=120, check=True)
    return result.stdout.strip()


def create_peer_view(url: str) -> int:
    """The view tipg publishes (schema tipg_peer); returns its row count."""
    engine = make_engine(url, pool_size=1)
    try:
        with engine.begin() as connection:
            connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {PEER_SCHEMA}"))
            connection.execute(text(VIEW_SQL))
        with engine.connect() as connection:
            return connection.execute(text(f"SELECT count(*) FROM {PEER_SCHEMA}.{PEER_VIEW}")).scalar_one()
    finally:
        engine.dispose()


def tipg_env(database_url: str) -> dict[str, str]:
    url = make_url(database_url)
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    max_features = tile_settings().max_features
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TIPG_", "POSTGRES_", "FIELDNAV_"))}
    env.update(
        {
            "DATABASE_URL": dsn,
            "TIPG_NAME": "fieldnav bench peer",
            "TIPG_DB_SCHEMAS": orjson.dumps([PEER_SCHEMA]).decode(),
            "TIPG_DB_TABLES": orjson.dumps([COLLECTION_ID]).decode(),
            "TIPG_DB_ONLY_SPATIAL_TABLES": "true",
            "TIPG_DB_EXCLUDE_FUNCTION_SCHEMAS": orjson.dumps([PEER_SCHEMA, "public"]).decode(),
            # fieldnav's MVT parameters: extent, buffer, feature cap.
            "TIPG_TILE_RESOLUTION": str(EXTENT),
            "TIPG_TILE_BUFFER": str(BUFFER),
            "TIPG_MAX_FEATURES_PER_TILE": str(max_features),
            "TIPG_DEBUG": "false",
        }
    )
    return env


@contextlib.contextmanager
def tipg_server(
    database_url: str, *, workers: int, label: str, ready_timeout_s: float = 90.0
) -> Iterator[common.Server]:
    """`uvicorn tipg.main:app --workers N` on a free loopback port, ready when /healthz is 200
    and the collection is listed. Runs from bench/out so no stray .env is read."""
    port = common.free_port()
    common.BENCH_OUT_DIR.mkdir(parents=True, exist_ok=True)
    log_path = common.BENCH_OUT_DIR / f"server-tipg-{label}.log"
    command = [
        str(TIPG_VENV / "bin" / "uvicorn"),
        "tipg.main:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            command,
            env=tipg_env(database_url),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=common.BENCH_OUT_DIR,
        )
    server = common.Server(f"http://127.0.0.1:{port}", process, log_path)
    try:
        _wait_tipg_ready(server, ready_timeout_s)
        yield server
    finally:
        common._stop(process)


def _wait_tipg_ready(server: common.Server, timeout_s: float) -> None:
    deadline_s = time.monotonic() + timeout_s
    last = ""
    while time.monotonic() < deadline_s:
        if server.process.poll() is not None:
            raise RuntimeError(f"tipg exited with {server.process.returncode}; see {server.log_path}")
        try:
            with urllib.request.urlopen(f"{server.base_url}/collections/{COLLECTION_ID}", timeout=5) as response:
                if response.status == 200:
                    return
        except urllib.error.HTTPError as error:
            last = f"{error.code} {error.read()[:300]!r}"
        except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
            last = str(error)
        time.sleep(0.3)
    raise RuntimeError(f"tipg not ready after {timeout_s:.0f} s ({last}); see {server.log_path}")


def tipg_tile_path(z: int, x: int, y: int) -> str:
    return TILE_PATH.format(z=z, x=x, y=y)
