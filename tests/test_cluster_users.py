"""The private test cluster is stopped by the last test session that used it, and only then."""

from __future__ import annotations

import subprocess
import sys

from tests import cluster_users


def test_the_last_session_stops_the_cluster_and_no_other(tmp_path, monkeypatch):
    monkeypatch.delenv("FIELDNAV_TEST_KEEP_CLUSTER", raising=False)
    calls: list[str] = []
    cluster_users.join(tmp_path, lambda: calls.append("start"))
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / "sessions" / str(other.pid)).touch()  # another session, still running
        (tmp_path / "sessions" / "999999999").touch()  # one that died without leaving
        assert cluster_users.leave(tmp_path, lambda: calls.append("stop")) is False
        assert calls == ["start"] and not (tmp_path / "sessions" / "999999999").exists()
    finally:
        other.kill()
        other.wait()
    cluster_users.join(tmp_path, lambda: calls.append("start"))
    assert cluster_users.leave(tmp_path, lambda: calls.append("stop")) is True
    assert calls == ["start", "start", "stop"] and not any((tmp_path / "sessions").iterdir())


def test_keep_cluster_leaves_it_running(tmp_path, monkeypatch):
    monkeypatch.setenv("FIELDNAV_TEST_KEEP_CLUSTER", "1")
    calls: list[str] = []
    cluster_users.join(tmp_path, lambda: calls.append("start"))
    assert cluster_users.leave(tmp_path, lambda: calls.append("stop")) is False and calls == ["start"]
