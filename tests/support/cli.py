"""`fieldnav` run as a command, as an operator runs it, on a given database."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support import PROJECT_ROOT


def fieldnav(database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "FIELDNAV_DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
