"""`fieldnav export` of the whole directory: wall time and peak RSS, and whether RSS stays flat.

    .venv/bin/python bench/export.py                        # the recorded run (bench_100k)
    .venv/bin/python bench/export.py --no-datapackage --no-results-file   # ndjson only, print only

What it does: on the bench cluster (.fieldnav/bench-db), ``bench_100k`` (100,000 demo services,
as bench/nearest.py and bench/capacity.py leave it, loaded on first use), runs
`fieldnav export --format hsds-ndjson FILE` (and, unless ``--no-datapackage``,
`--format hsds-datapackage FILE.zip`) as its own process, ``--rounds`` times. While it runs, the
process's VmRSS and VmHWM (/proc/PID/status) and the size of the file being written are sampled
every ``--sample-s``: the RSS once the first tenth of the file is written against the peak shows
whether memory grows with the directory (it must not: services are read by keyset a batch at a
time, tables from server-side cursors). Reported: wall time (process start to exit), services/s,
file size, peak RSS (VmHWM) and RSS at 10% of the output. Writes the "HSDS export" section of
bench/RESULTS.md (unless ``--no-results-file``). Read-only: bench_100k is left as it was.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common
from common import log

SECTION = "HSDS export"
DATABASE = "bench_100k"
SERVICES = 100_000


@dataclass
class Run:
    wall_s: float
    peak_rss_mib: int
    rss_at_tenth_mib: int  # RSS when the output first reached 10% of its final size
    size_mb: float
    summary: str


def _status_kib(pid: int) -> dict[str, int]:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    return {line.split(":")[0]: int(line.split()[1]) for line in lines if line.startswith(("VmRSS", "VmHWM"))}


def _written_bytes(target: Path) -> int:
    """Bytes written so far: the temporary file beside ``target`` (or ``target`` once renamed)."""
    candidates = [target, *target.parent.glob(f".{target.name}.*.partial")]
    return sum(p.stat().st_size for p in candidates if p.is_file())


def run_export(url: str, fmt: str, target: Path, sample_s: float) -> Run:
    target.unlink(missing_ok=True)
    environment = {**os.environ, "FIELDNAV_DATABASE_URL": url}
    started_s = time.monotonic()
    process = subprocess.Popen(
        [str(common.FIELDNAV_BIN), "export", "--format", fmt, str(target)],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    samples: list[tuple[int, int]] = []  # (bytes written, VmRSS KiB)
    peak_kib = 0
    while process.poll() is None:
        status = _status_kib(process.pid)
        peak_kib = max(peak_kib, status.get("VmHWM", 0))
        samples.append((_written_bytes(target), status.get("VmRSS", 0)))
        time.sleep(sample_s)
    wall_s = time.monotonic() - started_s
    out, err = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"fieldnav export --format {fmt} failed:\n{out}\n{err}")
    size = target.stat().st_size
    at_tenth = next((rss for written, rss in samples if written >= size / 10 and rss), 0)
    return Run(wall_s, peak_kib // 1024, at_tenth // 1024, size / 1e6, out.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--sample-s", type=float, default=0.2)
    parser.add_argument("--no-datapackage", action="store_true", help="the ndjson export only")
    parser.add_argument("--no-results-file", action="store_true", help="print only, leave RESULTS.md alone")
    options = parser.parse_args()

    cluster = common.start_bench_cluster()
    url = common.database_url(cluster, DATABASE)
    common.load_demo_services(url, SERVICES)
    engine = common.loading_engine(url)
    services, sites = sum(common.source_counts(engine).values()), common.site_count(engine)
    engine.dispose()
    common.BENCH_OUT_DIR.mkdir(parents=True, exist_ok=True)
    formats = [("hsds-ndjson", "export.ndjson")]
    if not options.no_datapackage:
        formats.append(("hsds-datapackage", "export.zip"))
    load_before = common.load_average()
    runs: dict[str, list[Run]] = {fmt: [] for fmt, _ in formats}
    for round_number in range(1, options.rounds + 1):
        for fmt, name in formats:  # alternated: a shared machine weighs on both alike
            log(f"round {round_number}: fieldnav export --format {fmt} ...")
            run = run_export(url, fmt, common.BENCH_OUT_DIR / name, options.sample_s)
            log(f"{run.summary} (peak RSS {run.peak_rss_mib} MiB)")
            runs[fmt].append(run)
    rows = []
    for fmt, name in formats:
        best = min(runs[fmt], key=lambda r: r.wall_s)
        peak = max(r.peak_rss_mib for r in runs[fmt])
        at_tenth = max(r.rss_at_tenth_mib for r in runs[fmt])
        every = ", ".join(f"{r.wall_s:.1f}" for r in runs[fmt])
        rows.append(
            f"| `fieldnav export --format {fmt} bench/out/{name}` | {best.wall_s:.1f} ({every}) | "
            f"{services / best.wall_s:.0f} | {best.size_mb:.0f} | {peak} | {at_tenth} |"
        )
    body = "\n".join(
        [
            f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, `.venv/bin/python bench/export.py"
            f"{' --no-datapackage' if options.no_datapackage else ''}`, git {common.git_revision()}.",
            f"Data set: `{DATABASE}`, {services:,} demo services ({sites:,} sites) on the bench cluster. Machine: {common.machine_summary()}; load {load_before} at the start, "
            f"{common.load_average()} at the end.",
            "",
            f"Best of {options.rounds} alternated rounds (every round's wall time in brackets); peak RSS (VmHWM) "
            "the highest of the rounds; RSS at 10%: the process's RSS when the output first reached a tenth of "
            "its final size. Equal to the peak within a few MiB means memory does not grow with the directory.",
            "",
            "| command | wall s | services/s | output MB | peak RSS MiB | RSS at 10% MiB |",
            "|---|---|---|---|---|---|",
            *rows,
        ]
    )
    print(body)
    if not options.no_results_file:
        common.replace_results_section(SECTION, body)
        log(f"wrote the '{SECTION}' section of {common.RESULTS_FILE}")


if __name__ == "__main__":
    main()
