"""py-spy for bench/tiles.py --profile: sample a running `fieldnav serve` (the supervisor and
its workers) while wrk loads it, and summarise where the workers spend their time.

py-spy lives in its own virtualenv (.fieldnav/bench-tools-venv), never in fieldnav's .venv.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common
from common import log

TOOLS_VENV = common.PROJECT_DIR / ".fieldnav" / "bench-tools-venv"
PY_SPY = TOOLS_VENV / "bin" / "py-spy"


def ensure_py_spy() -> Path:
    if PY_SPY.exists():
        return PY_SPY
    log(f"installing py-spy into {TOOLS_VENV} (pip, PyPI)")
    subprocess.run([shutil.which("python3") or "python3", "-m", "venv", str(TOOLS_VENV)], check=True, timeout=300)
    subprocess.run([str(TOOLS_VENV / "bin" / "pip"), "install", "--quiet", "py-spy"], check=True, timeout=900)
    return PY_SPY


@contextlib.contextmanager
def recording(pid: int, out_path: Path, duration_s: float, rate: int = 100) -> Iterator[None]:
    """py-spy record (raw collapsed stacks, subprocesses included) for ``duration_s`` while
    the body runs; waits for it to finish afterwards."""
    # --gil: only samples of a thread holding the GIL, i.e. Python work (threads waiting for
    # PostgreSQL or for a request do not count). The tile endpoint's CPU is what we look for.
    command = [
        str(ensure_py_spy()),
        "record",
        "--pid",
        str(pid),
        "--subprocesses",
        "--gil",
        "--format",
        "raw",
        "--nolineno",
        "--rate",
        str(rate),
        "--duration",
        str(max(1, int(duration_s))),
        "--output",
        str(out_path),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield
    finally:
        try:
            _, err = process.communicate(timeout=duration_s + 60)
        except subprocess.TimeoutExpired:
            process.kill()
            _, err = process.communicate(timeout=30)
        if process.returncode != 0 or not out_path.exists():
            log(f"py-spy failed ({process.returncode}): {err.decode(errors='replace')[-500:]}")


# Frames nearly every sample passes through (process, thread and event-loop plumbing).
_PLUMBING = (
    "process ",
    "thread ",
    " spawn_main",
    "spawn_main ",
    "_main (multiprocessing",
    "BaseProcess.",
    "Process.target",
    "<module> ",
    "Thread._bootstrap",
    "Thread.run ",
    "WorkerThread.run",
    "Runner.run",
    "asyncio_run",
    "run (asyncio",
    "BaseEventLoop.run_",
    "Handle._run",
    "Server.serve",
    "Server._serve",
    "Config.",
    "main (uvicorn",
    "run (uvicorn",
    "Multiprocess.",
    "subprocess_started",
)


def _frames(stack: str) -> list[str]:
    # py-spy raw: "frame;frame;... count", frames "function (file)".
    return [f for f in stack.split(";") if f and not f.lstrip().startswith(_PLUMBING)]


# Frames whose inclusive share says something about the tile path.
NAMED = {
    "sync dependency/endpoint hand-off to the threadpool (`run_in_threadpool`)": "run_in_threadpool (starlette/concurrency.py)",
    "FastAPI `solve_dependencies`": "solve_dependencies (fastapi/",
    "the endpoint `tile()` (in a worker thread)": "tile (service/api/routes/tiles.py)",
    "`render_tile` (SQL, fetch)": "render_tile (service/maps/tiles.py)",
    "`authorize` (token, policy, rate limit)": "authorize (service/api/security.py)",
    "request metrics (`prometheus_client`)": "(prometheus_client/",
}
_GLUE = ("threading.py", "queue.py", "anyio/", "asyncio/", "contextlib.py", "concurrent/", "<frozen")


def _file(frame: str) -> str:
    return frame[frame.rfind("(") + 1 :].rstrip(")") if "(" in frame else frame


def _package(frame: str) -> str:
    path = _file(frame)
    return path.split("/", 1)[0].removesuffix(".py") if "/" in path else path.removesuffix(".py")


@dataclass
class Profile:
    samples: int = 0
    by_package: list[tuple[str, float]] = field(default_factory=list)  # self time by package of the leaf frame
    leaves: list[tuple[str, float, str]] = field(default_factory=list)  # (leaf, share, the app-level frames above it)
    named: list[tuple[str, float]] = field(default_factory=list)  # NAMED, inclusive


def summarise(raw_path: Path, top: int = 10) -> Profile:
    """Where the GIL-holding samples of all processes go: self time by package, the hottest
    leaf frames with the application frames they are reached from, and NAMED shares."""
    own: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    via: dict[str, Counter[str]] = {}
    named: Counter[str] = Counter()
    total = 0
    if not raw_path.exists():
        return Profile()
    for line in raw_path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = _frames(stack)
        if not frames:
            continue
        total += count
        leaf = frames[-1]
        own[leaf] += count
        packages[_package(leaf)] += count
        callers = [f for f in reversed(frames[:-1]) if not any(g in _file(f) for g in _GLUE)][:2]
        via.setdefault(leaf, Counter())[" <- ".join(callers)] += count
        for name, needle in NAMED.items():
            if any(needle in f for f in frames):
                named[name] += count
    if not total:
        return Profile()
    return Profile(
        samples=total,
        by_package=[(p, n / total) for p, n in packages.most_common(top)],
        leaves=[(leaf, n / total, via[leaf].most_common(1)[0][0]) for leaf, n in own.most_common(top)],
        named=[(name, named[name] / total) for name in NAMED],
    )
