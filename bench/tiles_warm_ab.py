"""Warm tile throughput of two git revisions side by side, interleaved, on the bench's 100k data.

`bench/tiles.py` measures one revision against tipg and the SQL floor; its warm and 304 rows are
CPU-bound in the uvicorn workers, so on a shared machine they move with whatever else runs. To
tell a regression of the code from a busy machine, this runs revision A and revision B in turn
(A B A B ...), each `fieldnav serve --workers 2` from its own git worktree on the same database,
with the same tile list as `bench/tiles.py`, and reports each run and the median ratio B / A.

    .venv/bin/python bench/tiles_warm_ab.py --before ad03c96 --after HEAD --rounds 3

A worktree's code is put first on PYTHONPATH; the database must be one both revisions can read
(the server is waited for on /healthz, not /readyz, so a newer schema does not stop an older
revision from serving tiles). Prints only; nothing is written to RESULTS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
import tiles

DATABASE = "bench_100k"
WARM_PASSES = 3  # 5 s passes before the measured one: both workers' caches filled
TILE_COUNT = 2000  # as bench/tiles.py by default (the same seed: the same tiles)


@contextlib.contextmanager
def worktree(revision: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="fieldnav-ab-"))
    subprocess.run(["git", "worktree", "add", "--detach", "-f", str(path), revision], check=True, capture_output=True)
    try:
        yield path
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(path)], check=False, capture_output=True)


@contextlib.contextmanager
def serve(code_dir: Path, url: str, label: str) -> Iterator[str]:
    port = common.free_port()
    env = {
        **os.environ,
        **common.server_env(url),
        **tiles.WARM_ENV,
        "PYTHONPATH": str(code_dir),
    }
    log_path = common.BENCH_OUT_DIR / f"server-ab-{label}.log"
    common.BENCH_OUT_DIR.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "service.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            [*command, "--workers", "2"],
            env=env,
            cwd=code_dir,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline_s = time.monotonic() + 60
        while True:
            if process.poll() is not None or time.monotonic() > deadline_s:
                raise RuntimeError(f"{label}: fieldnav serve did not start; see {log_path}")
            try:
                with urllib.request.urlopen(base_url + "/healthz", timeout=2):
                    break
            except OSError:
                time.sleep(0.2)
        yield base_url
    finally:
        common._stop(process)


def warm_rate(base_url: str, paths: list[str], duration_s: float) -> float:
    tiles.fetch_all(base_url, list(dict.fromkeys(paths)))
    for _ in range(WARM_PASSES):
        tiles.load(base_url, paths, duration_s=5, label="ab-warm-up")
    return tiles.load(base_url, paths, duration_s=duration_s, label="ab-warm").qps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", required=True, help="git revision A")
    parser.add_argument("--after", default="HEAD", help="git revision B")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration-s", type=float, default=15.0)
    args = parser.parse_args()
    cluster = common.start_bench_cluster()
    url = common.database_url(cluster, DATABASE)
    version = tiles.server_data_version(url)
    paths = [tiles.fieldnav_path(t, version) for t in tiles.make_tile_set(url, TILE_COUNT)]
    rates: dict[str, list[float]] = {args.before: [], args.after: []}
    with worktree(args.before) as before_dir, worktree(args.after) as after_dir:
        for round_ in range(1, args.rounds + 1):
            for revision, code_dir in ((args.before, before_dir), (args.after, after_dir)):
                with serve(code_dir, url, f"{revision}-{round_}") as base_url:
                    rate = warm_rate(base_url, paths, args.duration_s)
                rates[revision].append(rate)
                common.log(f"round {round_}: {revision} warm {rate:.0f} tiles/s (load {common.load_average()})")
    before, after = common.median(rates[args.before]), common.median(rates[args.after])
    print(f"warm tiles/s, medians of {args.rounds}: {args.before} {before:.0f}, {args.after} {after:.0f}")
    print(f"ratio {args.after} / {args.before}: {after / before:.2f}")


if __name__ == "__main__":
    main()
