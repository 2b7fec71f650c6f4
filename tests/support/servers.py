"""fieldnav served for a test on a free port: ``fieldnav serve`` in a subprocess (real HTTP,
as the application role), or an app the test built, by uvicorn in a thread."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from tests.support import PROJECT_ROOT
from tests.support.databases import app_url_for

# Most tests are about data, not identity: directory reads are public and the rate limit
# out of reach there. tests/test_auth.py turns both back on.
TEST_SERVER_ENV = {"FIELDNAV_AUTH_PUBLIC_READS": "true", "FIELDNAV_LIMIT_REQUESTS_PER_MIN": "1000000"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve_in_thread(app) -> Iterator[httpx.Client]:
    """``app`` served by uvicorn in a thread of this process (real HTTP on a free port, with
    the app as the test built it: dependency overrides, a changed middleware stack); yields a
    client for it."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline_s = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline_s:
            time.sleep(0.02)
        assert server.started, "uvicorn did not start within 10 s"
        with httpx.Client(base_url=f"http://127.0.0.1:{server.config.port}", timeout=20) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(10)


@dataclass
class LiveServer:
    base_url: str
    process: subprocess.Popen
    log_file: object = None

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, **{"timeout": 10, **kwargs})


def start_server(database_url: str, *, workers: int = 1, env: dict | None = None) -> LiveServer:
    """`fieldnav serve` on ``database_url``: as the application role on a copy of the template."""
    port = free_port()
    environment = {**os.environ, "FIELDNAV_DATABASE_URL": app_url_for(database_url), **TEST_SERVER_ENV, **(env or {})}
    # Output goes to a file, not a pipe: a pipe nobody reads fills up (access logs) and
    # the server then blocks on its next log line.
    log_file = tempfile.TemporaryFile()  # noqa: SIM115 - the server writes to it until stop_server closes it
    process = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--port", str(port), "--workers", str(workers)],
        env=environment,
        cwd=PROJECT_ROOT,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline_s = time.monotonic() + 30
    while time.monotonic() < deadline_s:
        if process.poll() is not None:
            raise RuntimeError(f"fieldnav serve exited with {process.returncode}:\n{_read_log(log_file)}")
        try:
            if httpx.get(base_url + "/healthz", timeout=1).status_code == 200:
                return LiveServer(base_url, process, log_file)
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("fieldnav serve did not answer /healthz within 30 s")


def _read_log(log_file) -> str:
    log_file.seek(0)
    return log_file.read().decode(errors="replace")


def stop_server(server: LiveServer) -> str:
    """Stop the server; returns everything it wrote."""
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
    output = _read_log(server.log_file)
    server.log_file.close()
    return output
