"""Who is using the private test cluster (.fieldnav/test-db), so that the last test session
to end stops it: `make test` leaves no PostgreSQL running behind it.

Several pytest sessions may share the cluster at once (a developer's run beside CI's, or
runs in parallel): each registers its pid in ``sessions/`` when it starts the cluster and
removes it at the end; the one that finds no other live session stops the cluster. Both
steps hold an exclusive file lock, so a session starting cannot meet one stopping.
FIELDNAV_TEST_KEEP_CLUSTER=1 keeps it running (quicker repeated runs).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def _exclusive(base_dir: Path) -> Iterator[None]:
    base_dir.mkdir(parents=True, exist_ok=True)
    with open(base_dir / "sessions.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def join(base_dir: Path, start: Callable[[], None]) -> None:
    """Start the cluster (if it is not running) and count this session as a user."""
    with _exclusive(base_dir):
        sessions = base_dir / "sessions"
        sessions.mkdir(exist_ok=True)
        start()
        (sessions / str(os.getpid())).touch()


def leave(base_dir: Path, stop: Callable[[], None]) -> bool:
    """This session is done: stop the cluster when no other live session uses it (unless
    FIELDNAV_TEST_KEEP_CLUSTER is set). True when it was stopped."""
    with _exclusive(base_dir):
        sessions = base_dir / "sessions"
        (sessions / str(os.getpid())).unlink(missing_ok=True)
        others = []
        for entry in sessions.iterdir() if sessions.exists() else ():
            if entry.name.isdigit() and _alive(int(entry.name)):
                others.append(entry)
            else:
                entry.unlink(missing_ok=True)  # a session that died without leaving
        if others or os.environ.get("FIELDNAV_TEST_KEEP_CLUSTER"):
            return False
        stop()
        return True
