"""`fieldnav import --from-api`: pulling another directory's HSDS 3 API into a source, on a
real PostGIS and over real HTTP (tests/support/hsds_remote.py): full and incremental pulls,
tombstones after the next full pull, a remote that fails half-way changing nothing, the
worker's scheduled pulls and GET /v1/admin/sources."""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text

from service.auth.principal import Role
from service.importer import ImportRefused, import_path
from service.importer.pull import pull
from service.importer.remote import RemoteFailed
from service.platform.settings import PullSettings
from tests.support import PROJECT_ROOT
from tests.support.cli import fieldnav
from tests.support.hsds_remote import Misbehaviour, RemoteDirectory, serve_remote
from tests.support.hsds_services import PLACES, service_json
from tests.support.servers import start_server, stop_server
from tests.support.tokens import auth

OLD = "2025-01-10T09:00:00+00:00"
ORGANIZATION = {"id": "5d3f8a8e-6f0e-4b8e-9b1a-0c7e4a3f2b10", "name": "East End Community Services"}

# Everything an import may touch, to prove "left exactly as it was".
SNAPSHOT_SQL = """
SELECT (SELECT version FROM data_version),
       (SELECT count(*) FROM change_log),
       (SELECT coalesce(string_agg(id::text || content_hash || name, ',' ORDER BY id), '') FROM service),
       (SELECT count(*) FROM location), (SELECT count(*) FROM service_site), (SELECT count(*) FROM import_run)
"""


def catalogue(count: int = 7) -> list[dict]:
    """The HSDS 3.0 example service (every table) and ``count - 1`` small services, all
    under one organization, last modified long ago."""
    example = json.loads((PROJECT_ROOT / "tests/data/hsds-3.0/examples/service_full.json").read_text())
    services = [example]
    places = list(PLACES.values())
    for i in range(count - 1):
        lon, lat = places[i % len(places)]
        service = service_json(f"Pull test service {i}", lon + i / 1000, lat)
        service.update(organization=dict(ORGANIZATION), last_modified=OLD)
        services.append(service)
    return services


def organizations_of(services: list[dict]) -> list[dict]:
    found: dict[str, dict] = {}
    for service in services:
        if isinstance(service.get("organization"), dict):
            found.setdefault(service["organization"]["id"], service["organization"])
    return list(found.values())


def settings(**overrides) -> PullSettings:
    # Two services a page and a chunk: every pull spans several of both.
    values = {
        "page_size": 2,
        "chunk_services": 2,
        "timeout_s": 5,
        "max_attempts": 3,
        "backoff_base_s": 0.01,
        "backoff_max_s": 2,
    }
    return PullSettings(**{**values, **overrides})


def snapshot(engine) -> tuple:
    with engine.connect() as connection:
        return tuple(connection.execute(text(SNAPSHOT_SQL)).one())


def rows(engine, query: str, **params) -> list:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(query), params)]


def source_state(engine, name: str) -> dict:
    with engine.connect() as connection:
        return dict(connection.execute(text("SELECT * FROM hsds_source WHERE name = :n"), {"n": name}).one()._mapping)


def test_full_pull_imports_what_a_file_import_of_the_same_data_does(engine, tmp_path):
    services = catalogue()
    path = tmp_path / "same.json"
    path.write_text(json.dumps(services))
    file_report = import_path(engine, path, source="east")
    before = snapshot(engine)
    tables = rows(engine, "SELECT count(*) FROM schedule UNION ALL SELECT count(*) FROM phone")

    with serve_remote(RemoteDirectory(services, organizations_of(services))) as remote:
        report = pull(engine, remote.base_url, source="east", settings=settings())
    # The same content, hash for hash: nothing to change, nothing to tombstone.
    assert report.mode == "full"
    assert (
        report.spooled.services == len(services) and report.spooled.pages == 1 + 4
    )  # 2 organizations, 7 services; 2 a page
    assert report.imported is not None
    assert (report.imported.upserted, report.imported.deleted) == (0, 0)
    assert report.imported.counts["service"] == file_report.counts["service"] == len(services)
    assert len(report.imported.problems) == len(file_report.problems)
    after = snapshot(engine)
    assert after[0] == before[0] and after[2:5] == before[2:5]  # data version, services, locations, sites
    assert rows(engine, "SELECT count(*) FROM schedule UNION ALL SELECT count(*) FROM phone") == tables
    # Every page was asked for with full=true.
    assert all(query.get("full") == "true" for query in remote.asked("/services"))
    assert [q["page"] for q in remote.asked("/services")] == ["1", "2", "3", "4"]
    state = source_state(engine, "east")
    assert state["last_mode"] == "full" and state["last_error"] is None and state["last_success_at"] is not None


def test_ndjson_pull_and_auth_header(engine):
    services = catalogue(4)
    remote_directory = RemoteDirectory(services, organizations_of(services), required_headers={"X-Api-Key": "k1"})
    with serve_remote(remote_directory) as remote:
        with pytest.raises(RemoteFailed, match=r"/organizations page 1: HTTP 401 .*not retried"):
            pull(engine, remote.base_url, source="nd", settings=settings())
        report = pull(
            engine, remote.base_url, source="nd", settings=settings(), headers={"X-Api-Key": "k1"}, ndjson=True
        )
    assert report.spooled.services == 4 and report.imported is not None
    assert report.imported.added == 4
    assert remote.asked("/services")[-1]["format"] == "ndjson"
    assert rows(engine, "SELECT count(*) FROM service WHERE source = 'nd'") == [(4,)]


def test_bad_rows_are_reported_by_page_and_skipped(engine):
    services = catalogue()
    services[3]["status"] = "bogus"  # /services page 2 (2 a page), its second service
    with serve_remote(RemoteDirectory(services, organizations_of(services))) as remote:
        report = pull(engine, remote.base_url, source="east", settings=settings())
        assert report.imported is not None
        problems = [str(p) for p in report.imported.problems]
        assert any(p.startswith("/services page 2 row 2, service.status: 'bogus' is not one of") for p in problems)
        # Every problem names its page and row there (the example on page 1 has its own).
        assert {p.split(",")[0] for p in problems} == {"/services page 1 row 1", "/services page 2 row 2"}
        assert rows(engine, "SELECT count(*) FROM service WHERE source = 'east'") == [(len(services) - 1,)]
        assert source_state(engine, "east")["problem_count"] == len(problems)
        with pytest.raises(ImportRefused, match="--strict is set; nothing was imported") as refused:
            pull(engine, remote.base_url, source="east", settings=settings(), force_full=True, strict=True)
    assert "/services page 2 row 2" in {str(p).split(",")[0] for p in refused.value.problems}
    assert "--strict" in source_state(engine, "east")["last_error"]


def test_incremental_pull_sends_modified_after_and_brings_only_what_changed(engine):
    services = catalogue()
    remote_directory = RemoteDirectory(services, organizations_of(services))
    with serve_remote(remote_directory) as remote:
        first = pull(engine, remote.base_url, source="east", settings=settings(), full_every=2)
        first_success = source_state(engine, "east")["last_success_at"]
        now = datetime.now(UTC).isoformat()
        changed, gone = services[1], services[2]
        changed.update(name="Renamed upstream", last_modified=now)
        added = service_json("Pull test new service", *PLACES["kanata"])
        added.update(organization=dict(ORGANIZATION), last_modified=now)
        remote_directory.services = [s for s in services if s is not gone] + [added]
        log_before = rows(engine, "SELECT count(*) FROM change_log")[0][0]

        second = pull(engine, remote.base_url, source="east", settings=settings(), full_every=2)
        asked = remote.asked("/services")[-1]
        # Only the two changed services came over, and only they reached the change log.
        assert second.mode == "incremental"
        assert datetime.fromisoformat(asked["modified_after"]) < first_success
        assert datetime.fromisoformat(asked["modified_after"]) > first_success - timedelta(minutes=10)
        assert second.spooled.services == 2 and second.imported is not None
        assert (second.imported.added, second.imported.upserted, second.imported.deleted) == (1, 2, 0)
        assert rows(engine, "SELECT name FROM service WHERE id = :i", i=changed["id"]) == [("Renamed upstream",)]
        new_log = rows(engine, "SELECT service_id::text, op FROM change_log ORDER BY seq OFFSET :n", n=log_before)
        assert sorted(new_log) == sorted([(changed["id"], "upsert"), (added["id"], "upsert")])
        # Deleted upstream, still here: an incremental pull does not tombstone.
        assert rows(engine, "SELECT count(*) FROM service WHERE id = :i", i=gone["id"]) == [(1,)]
        assert rows(engine, "SELECT count(*) FROM service_site WHERE service_id = :i", i=added["id"]) == [(1,)]
        state = source_state(engine, "east")
        assert (state["services_added"], state["services_updated"], state["pulls_since_full"]) == (1, 1, 1)

        # Nothing changed since: the two come again (modified_after keeps a margin for the
        # remote's clock) but the same content changes nothing, and the data version stays.
        version = snapshot(engine)[0]
        third = pull(engine, remote.base_url, source="east", settings=settings(), full_every=2)
        assert third.mode == "incremental" and third.imported is not None
        assert (third.imported.upserted, third.imported.deleted, snapshot(engine)[0]) == (0, 0, version)
        remote_directory.services = []  # nothing at all since: nothing to write
        assert pull(engine, remote.base_url, source="east", settings=settings(), full_every=5).imported is None
        remote_directory.services = [s for s in services if s is not gone] + [added]

        # The next full pull (every 2 incremental ones here) finds the deletion: a tombstone.
        fourth = pull(engine, remote.base_url, source="east", settings=settings(), full_every=2)
    assert first.mode == "full" and fourth.mode == "full"
    assert fourth.imported is not None and fourth.imported.deleted == 1
    assert rows(engine, "SELECT count(*) FROM service WHERE id = :i", i=gone["id"]) == [(0,)]
    assert rows(engine, "SELECT op FROM change_log WHERE service_id = :i ORDER BY seq DESC LIMIT 1", i=gone["id"]) == [
        ("delete",)
    ]
    assert source_state(engine, "east")["services_removed"] == 1


def test_incremental_pull_removes_what_a_changed_service_no_longer_lists(engine):
    services = catalogue(3)
    example = services[0]
    assert example["phones"] and example["service_at_locations"]
    remote_directory = RemoteDirectory(services, organizations_of(services))
    with serve_remote(remote_directory) as remote:
        pull(engine, remote.base_url, source="east", settings=settings())
        trimmed = copy.deepcopy(example)
        trimmed.update(phones=[], service_at_locations=[], last_modified=datetime.now(UTC).isoformat())
        remote_directory.services = [trimmed, *services[1:]]
        report = pull(engine, remote.base_url, source="east", settings=settings())
    assert report.mode == "incremental"
    assert rows(engine, "SELECT count(*) FROM phone WHERE service_id = :i", i=example["id"]) == [(0,)]
    assert rows(engine, "SELECT count(*) FROM service_at_location WHERE service_id = :i", i=example["id"]) == [(0,)]
    assert rows(engine, "SELECT count(*) FROM service_site WHERE service_id = :i", i=example["id"]) == [(0,)]


FAILURES = {
    "a byte cap": (Misbehaviour(), {"max_bytes": 6000}, r"page \d: the remote sent more than FIELDNAV_PULL_MAX_BYTES"),
    "500 on page 3": (Misbehaviour(pages={3: "500"}), {}, r"/services page 3: HTTP 500 after 3 attempts"),
    "timeout": (
        Misbehaviour(pages={2: "stall"}, stall_s=2.5),
        {"timeout_s": 0.5, "max_attempts": 2},
        r"/services page 2: timed out \(FIELDNAV_PULL_TIMEOUT_S=0.5 s\) after 2 attempts",
    ),
    "invalid JSON": (Misbehaviour(pages={2: "invalid-json"}), {}, r"/services page 2: not valid JSON"),
    "the same page again": (Misbehaviour(paging="same-page"), {}, r"/services page 2: the same contents as page 1"),
    "page 1 whatever is asked": (
        Misbehaviour(paging="page-one"),
        {},
        r"/services page 2: the remote answered page 1 \(a page loop\)",
    ),
    "more pages than total_pages": (
        Misbehaviour(paging="growing"),
        {},
        r"/services page 2: says another page follows, but total_pages \(2\)",
    ),
    "a next page that never ends": (
        Misbehaviour(paging="endless"),
        {"max_pages": 6},
        r"/services page 7: more than FIELDNAV_PULL_MAX_PAGES \(6\) pages",
    ),
}


@pytest.mark.parametrize("case", list(FAILURES))
def test_a_remote_that_fails_half_way_changes_nothing_and_says_why(engine, case):
    misbehaviour, overrides, message = FAILURES[case]
    services = catalogue()
    remote_directory = RemoteDirectory(services, organizations_of(services))
    with serve_remote(remote_directory) as remote:
        pull(engine, remote.base_url, source="east", settings=settings())
        success = source_state(engine, "east")["last_success_at"]
        # Upstream changed everything, then broke while we read it.
        for service in services:
            service.update(name=service["name"] + " (new)", last_modified=datetime.now(UTC).isoformat())
        remote_directory.misbehaviour = misbehaviour
        before = snapshot(engine)
        with pytest.raises(RemoteFailed, match=message) as failed:
            pull(engine, remote.base_url, source="east", settings=settings(**overrides), force_full=True)
    assert "nothing was imported" in str(failed.value)
    assert snapshot(engine) == before
    assert rows(engine, "SELECT count(*) FROM service WHERE name LIKE '%(new)'") == [(0,)]
    state = source_state(engine, "east")
    assert state["last_success_at"] == success and state["last_attempt_at"] > success
    assert state["last_error"] == str(failed.value)
    if case == "500 on page 3":  # retried, then given up
        assert [q["page"] for q in remote_directory.asked("/services")].count("3") == 1 + 3


def test_a_remote_that_is_not_there_is_retried_then_reported(engine):
    with serve_remote(RemoteDirectory([])) as remote:
        gone_url = remote.base_url
    with pytest.raises(
        RemoteFailed, match=r"/organizations page 1: connection failed \(ConnectError: .*after 3 attempts"
    ):
        pull(engine, gone_url, source="east", settings=settings())
    assert source_state(engine, "east")["last_success_at"] is None


def test_429_waits_for_retry_after_then_succeeds(engine):
    services = catalogue(4)
    misbehaviour = Misbehaviour(pages={2: "429"})
    with serve_remote(RemoteDirectory(services, organizations_of(services), misbehaviour)) as remote:
        started = time.monotonic()
        report = pull(engine, remote.base_url, source="east", settings=settings())
    assert time.monotonic() - started >= 0.9  # Retry-After: 1, not the 0.01 s backoff
    assert report.imported is not None and report.imported.added == 4


def test_cli_pull_failure_exits_1_with_the_page_and_cause(database_url, engine):
    services = catalogue()
    with serve_remote(RemoteDirectory(services, organizations_of(services))) as remote:
        ok = fieldnav(database_url, "import", "--from-api", remote.base_url, "--source", "east", "--header", "X-A: b")
        assert ok.returncode == 0, ok.stderr
        assert "pulled east from" in ok.stdout and "7 added" in ok.stdout
        before = snapshot(engine)
        remote.misbehaviour = Misbehaviour(pages={1: "invalid-json"})
        failed = fieldnav(database_url, "import", "--from-api", remote.base_url, "--source", "east", "--full")
    assert failed.returncode == 1
    assert "/services page 1: not valid JSON" in failed.stderr and "nothing was imported" in failed.stderr
    assert snapshot(engine) == before
    both = fieldnav(database_url, "import", "x.json", "--from-api", "http://127.0.0.1:9")
    assert both.returncode == 2 and "either PATH or --from-api" in both.stderr


def test_worker_pulls_on_schedule_and_admins_see_it(database_url, engine, tmp_path):
    services = catalogue(4)
    remote_directory = RemoteDirectory(
        services, organizations_of(services), required_headers={"Authorization": "Bearer s3"}
    )
    with serve_remote(remote_directory) as remote:
        sources_file = tmp_path / "sources.yaml"
        sources_file.write_text(
            f"sources:\n  - name: east\n    url: {remote.base_url}\n    interval_s: 3600\n"
            "    auth_value_env: EAST_AUTH\n    full_every: 5\n"
        )
        env = {
            **os.environ,
            "FIELDNAV_DATABASE_URL": database_url,
            "FIELDNAV_SOURCES_FILE": str(sources_file),
            "EAST_AUTH": "Bearer s3",
            "FIELDNAV_HANDOFF_WORKER_POLL_S": "0.2",
        }
        worker = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "worker"],
            env=env,
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            deadline_s = time.monotonic() + 60
            while time.monotonic() < deadline_s:
                found = rows(engine, "SELECT last_success_at FROM hsds_source WHERE name = 'east'")
                if found and found[0][0] is not None:
                    break
                time.sleep(0.2)
        finally:
            worker.send_signal(signal.SIGTERM)
            output, _ = worker.communicate(timeout=30)
    assert worker.returncode == 0, output
    assert "pulled east" in output, output
    assert rows(engine, "SELECT count(*) FROM service WHERE source = 'east'") == [(4,)]
    assert "Bearer s3" not in output

    server = start_server(database_url)
    try:
        with server.client() as client:
            answer = client.get("/v1/admin/sources", headers=auth(Role.ADMIN, key=False))
            assert answer.status_code == 200, answer.text
            (source,) = answer.json()["sources"]
            assert source["name"] == "east" and source["url"] == remote.base_url
            assert source["last_mode"] == "full" and source["last_error"] is None
            assert source["last_success_at"] and source["last_attempt_at"]
            assert source["services"] == {"added": 4, "updated": 0, "removed": 0}
            denied = client.get("/v1/admin/sources", headers=auth(Role.FIELD_WORKER, key=False))
            assert denied.status_code == 403
            assert denied.headers["content-type"].startswith("application/problem+json")
            assert client.get("/v1/admin/sources").status_code == 401
    finally:
        stop_server(server)


COMPARE_SQL = {
    "services": "SELECT id::text, content_hash, name FROM service ORDER BY id",
    "locations": "SELECT id::text, name, latitude, longitude FROM location ORDER BY id",
    "schedules": "SELECT id::text, service_id::text, byday, opens_at, closes_at, timezone FROM schedule ORDER BY id",
    "phones": "SELECT id::text, number FROM phone ORDER BY id",
    "sites": "SELECT service_id::text, location_id::text, card FROM service_site ORDER BY 1, 2",
}


def test_pull_of_fieldnavs_own_hsds_api_gives_the_same_services(pg_server, template_db, database_url, engine, tmp_path):
    services = catalogue()
    path = tmp_path / "origin.json"
    path.write_text(json.dumps(services))
    import_path(engine, path, source="origin")
    copy_name = f"fieldnav_pull_{os.getpid()}_{time.monotonic_ns() % 10**9}"
    copy_url = pg_server.create_database(copy_name, template=template_db)
    copy_engine = create_engine(copy_url)
    server = start_server(database_url)  # the directory's reads are public in tests
    try:
        report = pull(copy_engine, f"{server.base_url}/hsds", source="origin", settings=settings(page_size=3))
        assert report.imported is not None and report.imported.added == len(services)
        for name, query in COMPARE_SQL.items():
            assert rows(copy_engine, query) == rows(engine, query), name
        # Pulled again: nothing changes.
        again = pull(copy_engine, f"{server.base_url}/hsds", source="origin", settings=settings(), force_full=True)
        assert again.imported is not None and (again.imported.upserted, again.imported.deleted) == (0, 0)
    finally:
        stop_server(server)
        copy_engine.dispose()
        pg_server.drop_database(copy_name)


def test_worker_once_runs_the_due_pulls_and_records_a_missing_secret(database_url, engine, tmp_path):
    services = catalogue(3)
    with serve_remote(RemoteDirectory(services, organizations_of(services))) as remote:
        sources_file = tmp_path / "sources.yaml"
        sources_file.write_text(
            f"sources:\n  - name: east\n    url: {remote.base_url}\n"
            f"  - name: west\n    url: {remote.base_url}\n    auth_value_env: WEST_AUTH_NOT_SET\n"
        )
        env = {"FIELDNAV_SOURCES_FILE": str(sources_file)}
        done = fieldnav_with_env(database_url, env, "worker", "--once")
        assert done.returncode == 0, done.stderr
        assert rows(engine, "SELECT count(*) FROM service WHERE source = 'east'") == [(3,)]
        west = source_state(engine, "west")
        assert west["last_success_at"] is None and "WEST_AUTH_NOT_SET is not set" in west["last_error"]
        # Not due again within its interval: nothing asked.
        asked = len(remote.requests)
        assert fieldnav_with_env(database_url, env, "worker", "--once").returncode == 0
        assert len(remote.requests) == asked
    sources_file.write_text("sources:\n  - name: East Side\n    url: ftp://x\n")
    refused = fieldnav_with_env(database_url, {"FIELDNAV_SOURCES_FILE": str(sources_file)}, "worker", "--once")
    assert refused.returncode == 2 and "FIELDNAV_SOURCES_FILE" in refused.stderr


def fieldnav_with_env(database_url: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        env={**os.environ, "FIELDNAV_DATABASE_URL": database_url, **env},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
