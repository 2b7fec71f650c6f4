"""The `fieldnav` command as a user runs it, pointed at a server by FIELDNAV_DATABASE_URL."""

from __future__ import annotations

import csv
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from service.cli import MALLOC_ARENA_MAX
from tests.support.cli import fieldnav
from tests.support.servers import start_server, stop_server

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def test_import_prints_problems_and_a_summary(database_url, shared_data):
    result = fieldnav(
        database_url, "import", str(shared_data / "hsds-miami-2019/open211-miami-hsds1.zip"), "--source", "miami"
    )
    assert result.returncode == 0, result.stderr
    assert "imported miami (hsds-1-tabular): 4089 services, 4089 locations (2260 on the map)" in result.stdout
    assert "eligibility.csv row 2, service_id: missing" in result.stderr


def test_strict_import_exits_2_and_writes_nothing(database_url, tmp_path):
    folder = tmp_path / "pkg"
    folder.mkdir()
    with (folder / "services.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "name", "status", "minimum_age"])
        writer.writerow(["s1", "Good", "active", ""])
        writer.writerow(["s2", "Bad", "active", "twelve"])
    result = fieldnav(database_url, "import", str(folder), "--strict")
    assert result.returncode == 2
    assert "services.csv row 3, minimum_age" in result.stderr and "nothing was imported" in result.stderr
    engine = create_engine(database_url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM service")).scalar_one() == 0
    engine.dispose()


def test_demo_data_loads_only_when_empty(database_url):
    first = fieldnav(database_url, "demo-data", "--services", "200", "--seed", "3", "--if-empty")
    assert first.returncode == 0 and "imported demo (hsds-3-json): 200 services" in first.stdout
    second = fieldnav(database_url, "demo-data", "--services", "200", "--if-empty")
    assert second.returncode == 0 and "already holds services" in second.stdout


def test_db_commands_with_an_external_server(database_url):
    status = fieldnav(database_url, "db", "status")
    assert status.returncode == 0 and "PostGIS" in status.stdout
    assert fieldnav(database_url, "db", "url").stdout.strip().startswith("postgresql+psycopg://")
    start = fieldnav(database_url, "db", "start")
    assert start.returncode == 0 and "does not run its own" in start.stderr
    migrate = fieldnav(database_url, "db", "migrate")
    assert migrate.returncode == 0, migrate.stderr


def _children(pid: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                children.append(int(entry.name))
    return children


def test_serve_workers_keep_to_two_malloc_arenas(database_url):
    """Several workers: each is a fresh process, so glibc reads MALLOC_ARENA_MAX (service/cli.py)."""
    server = start_server(database_url, workers=2)
    try:
        workers = []
        deadline_s = time.monotonic() + 20
        while len(workers) < 2 and time.monotonic() < deadline_s:
            workers = [
                pid
                for pid in _children(server.process.pid)
                if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
            ]
            time.sleep(0.2)
        assert len(workers) == 2
        for pid in workers:
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            assert f"MALLOC_ARENA_MAX={MALLOC_ARENA_MAX}".encode() in environ
    finally:
        stop_server(server)
