"""Where the CPU goes when nearest runs at 16 connections (issue 21).

    .venv/bin/python bench/nearest_cpu.py [--sizes 100k,1m] [--runs 3] [--duration-s 12]
                                          [--no-results-file]

bench/nearest.py compares find_nearest (16 Python processes) with the plain KNN (pgbench, in C)
on this 2-core machine, where the clients share the cores with PostgreSQL. This one measures,
for each of the three loads it runs (the plain KNN by pgbench, find_nearest's own statement by
pgbench, find_nearest by 16 Python processes), with the same data, points and scripts:

* the CPU time of the client (pgbench, or the 16 processes: this process's children) and of
  the bench cluster's backends (the postmaster's children), from ``/proc/<pid>/stat``,
  sampled inside the measured window, per query at the load's own rate;
* how busy the machine was (``/proc/stat``), and each one's share of that.

If the server's CPU per query is the same under both clients of find_nearest's statement,
what separates find_nearest's throughput from its statement's is the client's share of the
cores. The "Nearest: where the CPU goes at 16 connections (issue 21)" section of
bench/RESULTS.md is replaced with the results (medians of ``--runs``).
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import common
import nearest
import nearest_floor
from common import log, median

CONNECTIONS = 16
SECTION = "Nearest: where the CPU goes at 16 connections (issue 21)"
_TICKS_PER_S = os.sysconf("SC_CLK_TCK")
_MARGIN_S = 1.5  # kept clear of each end of the measured window (connecting, forking, exiting)


@dataclass(frozen=True)
class CpuSample:
    """Cumulative CPU seconds at one instant."""

    postgres_s: float
    client_s: float
    machine_total_s: float
    machine_idle_s: float


@dataclass(frozen=True)
class CpuUse:
    """One load's CPU per query, and its shares of the busy machine."""

    queries: int
    duration_s: float
    client_us: float
    postgres_us: float
    busy: float  # of the machine's capacity
    client_share: float  # of the busy time
    postgres_share: float

    @property
    def queries_per_s(self) -> float:
        return self.queries / self.duration_s

    @property
    def cores_to_postgres_alone(self) -> float:
        """Queries a second if PostgreSQL had every core to itself at this CPU per query."""
        return (os.cpu_count() or 1) * 1e6 / self.postgres_us


@dataclass(frozen=True)
class Load:
    """A measured run (returns the queries completed in its ``duration_s`` window) and how
    long after its start that window opens (a warm-up, connecting, forking)."""

    run: Callable[[], int]
    duration_s: float
    window_opens_after_s: float


def _proc_stat_fields(pid: int | str) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _children_cpu_s(parent_pid: int) -> float:
    """The CPU of ``parent_pid``'s living children (fields: ppid 1, utime 11, stime 12)."""
    total_s = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = _proc_stat_fields(entry)
        except (FileNotFoundError, ProcessLookupError):  # ended between listing and reading
            continue
        if int(fields[1]) == parent_pid:
            total_s += (int(fields[11]) + int(fields[12])) / _TICKS_PER_S
    return total_s


def _sample(postmaster_pid: int) -> CpuSample:
    cpu = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return CpuSample(
        postgres_s=_children_cpu_s(postmaster_pid),  # the backends: the postmaster itself only forks
        client_s=_children_cpu_s(os.getpid()),  # pgbench, or the find_nearest processes
        machine_total_s=sum(cpu) / _TICKS_PER_S,
        machine_idle_s=(cpu[3] + cpu[4]) / _TICKS_PER_S,  # idle, iowait
    )


def measure(postmaster_pid: int, load: Load) -> CpuUse:
    """The CPU used while ``load`` runs steadily: sampled inside its measured window, while
    every process still lives (an exited backend's time is gone from /proc), and divided by
    the load's own rate of queries."""
    queries: list[int] = []
    runner = threading.Thread(target=lambda: queries.append(load.run()))
    started_s = time.monotonic()
    runner.start()
    time.sleep(load.window_opens_after_s + _MARGIN_S)
    before, before_s = _sample(postmaster_pid), time.monotonic()
    time.sleep(max(1.0, started_s + load.window_opens_after_s + load.duration_s - _MARGIN_S - time.monotonic()))
    after, after_s = _sample(postmaster_pid), time.monotonic()
    runner.join()
    queries_sampled = queries[0] / load.duration_s * (after_s - before_s)
    busy_s = (after.machine_total_s - before.machine_total_s) - (after.machine_idle_s - before.machine_idle_s)
    client_s, postgres_s = after.client_s - before.client_s, after.postgres_s - before.postgres_s
    return CpuUse(
        queries=queries[0],
        duration_s=load.duration_s,
        client_us=client_s / queries_sampled * 1e6,
        postgres_us=postgres_s / queries_sampled * 1e6,
        busy=busy_s / (after.machine_total_s - before.machine_total_s),
        client_share=client_s / busy_s,
        postgres_share=postgres_s / busy_s,
    )


def _pgbench_load(url: str, scripts: dict[str, Path], duration_s: float, label: str) -> Load:
    def run() -> int:
        result = nearest_floor.run_pgbench(
            url, scripts, clients=CONNECTIONS, threads=nearest.WRK_THREADS, duration_s=duration_s, label=label
        )
        return round(result.tps * duration_s)

    return Load(run, duration_s, window_opens_after_s=0.0)


def _floor_load(url: str, queries: list[nearest.BenchQuery], duration_s: float) -> Load:
    def run() -> int:
        return nearest.run_floor(url, queries, connections=CONNECTIONS, duration_s=duration_s).completed

    return Load(run, duration_s, window_opens_after_s=nearest.FLOOR_WARMUP_S)


def bench_size(cluster, label: str, queries: list[nearest.BenchQuery], args) -> dict[str, list[CpuUse]]:
    url = common.database_url(cluster, f"bench_{label}")
    common.load_demo_services(url, common.SIZES[label])
    knn_scripts = nearest.prepare_knn_floor(url, queries, label)
    nearest_sql = nearest.prepare_nearest_sql(url, queries, label, datetime.now(UTC))
    postmaster_pid = cluster.status().pid
    assert postmaster_pid is not None, "the bench cluster is running"
    loads = {
        "plain KNN (pgbench)": _pgbench_load(url, knn_scripts, args.duration_s, "cpu-knn"),
        "find_nearest's statement (pgbench)": _pgbench_load(url, nearest_sql.scripts, args.duration_s, "cpu-sql"),
        "find_nearest (16 Python processes)": _floor_load(url, queries, args.duration_s),
    }
    warmups = {
        "plain KNN (pgbench)": _pgbench_load(url, knn_scripts, nearest.FLOOR_WARMUP_S, "cpu-knn"),
        "find_nearest's statement (pgbench)": _pgbench_load(
            url, nearest_sql.scripts, nearest.FLOOR_WARMUP_S, "cpu-sql"
        ),
    }
    uses: dict[str, list[CpuUse]] = {name: [] for name in loads}
    for run_index in range(args.runs):
        for name, load in loads.items():
            if name in warmups:  # the find_nearest processes warm up inside their run
                warmups[name].run()
            use = measure(postmaster_pid, load)
            uses[name].append(use)
            log(
                f"{label} run {run_index + 1}/{args.runs}: {name}: {use.queries_per_s:.0f} q/s, client "
                f"{use.client_us:.0f} us/q, PostgreSQL {use.postgres_us:.0f} us/q, busy {use.busy:.2f}"
            )
    return uses


def report(results: dict[str, dict[str, list[CpuUse]]], args, started_at: datetime) -> str:
    lines = [
        f"Date: {started_at:%Y-%m-%d %H:%M} UTC, code at {common.git_revision()}",
        "",
        f"Command: `python bench/nearest_cpu.py --sizes {','.join(args.sizes)} --runs {args.runs} "
        f"--duration-s {args.duration_s:g}`",
        "",
        f"Data: the bench databases of bench/nearest.py (`bench_<size>`), its query mix and pgbench scripts; "
        f"{CONNECTIONS} connections, {args.duration_s:g} s measured after a {nearest.FLOOR_WARMUP_S:g} s warm-up, "
        f"medians of {args.runs} runs. Machine: {common.machine_summary()}; bench cluster: "
        f"{common.bench_cluster_memory_text()}.",
        "",
        "Client CPU: pgbench, or the 16 find_nearest processes (children of this process). PostgreSQL "
        "CPU: the bench cluster's backends (the postmaster's children). Shares are of the machine's busy time. \"If "
        "PostgreSQL had the cores\": the machine's cores divided by PostgreSQL's CPU per query.",
        "",
        "| size | load | queries/s | client CPU us/q | PostgreSQL CPU us/q | machine busy | client share "
        "| PostgreSQL share | q/s if PostgreSQL had the cores | of the plain KNN's |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, uses in results.items():
        knn_alone = median([use.cores_to_postgres_alone for use in uses["plain KNN (pgbench)"]])
        for name, runs in uses.items():
            alone = median([use.cores_to_postgres_alone for use in runs])
            lines.append(
                f"| {label} | {name} | {median([u.queries_per_s for u in runs]):.0f} "
                f"| {median([u.client_us for u in runs]):.0f} | {median([u.postgres_us for u in runs]):.0f} "
                f"| {median([u.busy for u in runs]):.2f} | {median([u.client_share for u in runs]):.2f} "
                f"| {median([u.postgres_share for u in runs]):.2f} | {alone:.0f} | {alone / knn_alone:.2f} |"
            )
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100k,1m", help="comma-separated: 100k, 1m")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration-s", type=float, default=12.0)
    parser.add_argument("--no-results-file", action="store_true")
    args = parser.parse_args(argv)
    args.sizes = [size.strip().lower() for size in args.sizes.split(",") if size.strip()]
    unknown = [size for size in args.sizes if size not in common.SIZES]
    if unknown:
        parser.error(f"unknown sizes {unknown}; known: {sorted(common.SIZES)}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    started_at = datetime.now(UTC)
    cluster = common.start_bench_cluster()
    queries = nearest.make_query_mix()
    results = {label: bench_size(cluster, label, queries, args) for label in args.sizes}
    text = report(results, args, started_at)
    if not args.no_results_file:
        common.replace_results_section(SECTION, text)
        log(f"wrote the {SECTION} section of {common.RESULTS_FILE}")
    print(text)


if __name__ == "__main__":
    main()
