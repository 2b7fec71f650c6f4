"""Where the CPU goes when nearest runs at 16 connections (issue 21).

    .venv/bin/python bench/nearest_cpu.py [--sizes 100k,1m] [--runs 3] [--duration-s 12]
                                          [--no-results-file]

bench/nearest.py compares find_nearest (16 Python processes) with the plain KNN (pgbench, in C)
on this 2-core machine, where the clients share the cores with PostgreSQL. This one measures,
for each of the three loads it runs (the plain KNN by pgbench, find_nearest's own statement by
pgbench, find_nearest by 16 Python processes), with the same data, points and scripts:

* the CPU time of the client (pgbench, or the 16 processes: this process's children) and of
  the bench cluster's backends (the postmaster's children, living or reaped), from
  ``/proc/<pid>/stat``, sampled inside the measured window, per query at the load's own rate
  (a load with an error stops the bench);
* how busy the machine was (``/proc/stat``), and each one's share of that.

If the server's CPU per query is the same under both clients of find_nearest's statement,
what separates find_nearest's throughput from its statement's is the client's share of the
cores. The "Nearest: where the CPU goes at 16 connections (issue 21)" section of
bench/RESULTS.md is replaced with the results (medians of ``--runs``).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
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
    machine_busy_s: float
    machine_total_s: float


@dataclass(frozen=True)
class CpuUse:
    """One load's rate, its CPU per query, and its shares of the busy machine."""

    queries_per_s: float
    client_us_per_query: float
    postgres_us_per_query: float
    machine_busy_fraction: float  # of the machine's capacity
    client_share: float  # of the busy time
    postgres_share: float

    @property
    def queries_per_s_if_postgres_alone(self) -> float:
        """An extrapolation: PostgreSQL with every core to itself, at this CPU per query (which
        contention may inflate, so it errs low)."""
        return len(os.sched_getaffinity(0)) * 1e6 / self.postgres_us_per_query


@dataclass(frozen=True)
class Load:
    """A run that returns its rate (queries/s, after checking it had no errors), how long
    its measured window lasts, and how long after its start that window opens."""

    run: Callable[[], float]
    duration_s: float
    window_opens_after_s: float
    warm_up: Callable[[], object] | None = None  # run before, outside the measure


def _families_cpu_s(parent_pids: tuple[int, ...]) -> list[float]:
    """For each parent, the CPU of its children: those it has waited for (its cutime and
    cstime: they left /proc when they exited) and those alive; one pass over /proc."""
    totals_ticks = [0] * len(parent_pids)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = common.proc_stat_fields(entry)
        if fields is None:  # ended between listing and reading
            continue
        for index, parent_pid in enumerate(parent_pids):
            if int(entry) == parent_pid:
                totals_ticks[index] += int(fields[13]) + int(fields[14])  # cutime, cstime
            elif int(fields[1]) == parent_pid:
                totals_ticks[index] += int(fields[11]) + int(fields[12])  # utime, stime
    return [ticks / _TICKS_PER_S for ticks in totals_ticks]


def _sample(postmaster_pid: int) -> CpuSample:
    # The backends are the postmaster's children; the clients (pgbench, or the find_nearest
    # processes) this process's.
    postgres_s, client_s = _families_cpu_s((postmaster_pid, os.getpid()))
    ticks = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = ticks[:8]  # guest time is inside user
    busy = user + nice + system + irq + softirq
    return CpuSample(
        postgres_s=postgres_s,
        client_s=client_s,
        machine_busy_s=busy / _TICKS_PER_S,
        machine_total_s=(busy + idle + iowait + steal) / _TICKS_PER_S,
    )


def measure(postmaster_pid: int, load: Load) -> CpuUse:
    """The CPU used while ``load`` runs steadily: sampled inside its measured window (clear of
    its ends by _MARGIN_S), while every process lives, and divided by the load's own rate."""
    if load.warm_up is not None:
        load.warm_up()
    with ThreadPoolExecutor(max_workers=1) as executor:
        started_s = time.monotonic()
        running = executor.submit(load.run)
        time.sleep(load.window_opens_after_s + _MARGIN_S)
        before, before_s = _sample(postmaster_pid), time.monotonic()
        time.sleep(started_s + load.window_opens_after_s + load.duration_s - _MARGIN_S - time.monotonic())
        after, after_s = _sample(postmaster_pid), time.monotonic()
        queries_per_s = running.result()  # its errors, raised here
    queries_sampled = queries_per_s * (after_s - before_s)
    busy_s = after.machine_busy_s - before.machine_busy_s
    client_s, postgres_s = after.client_s - before.client_s, after.postgres_s - before.postgres_s
    return CpuUse(
        queries_per_s=queries_per_s,
        client_us_per_query=client_s / queries_sampled * 1e6,
        postgres_us_per_query=postgres_s / queries_sampled * 1e6,
        machine_busy_fraction=busy_s / (after.machine_total_s - before.machine_total_s),
        client_share=client_s / busy_s,
        postgres_share=postgres_s / busy_s,
    )


def _pgbench_load(url: str, scripts: dict[str, Path], duration_s: float, label: str) -> Load:
    whole_s = max(1, round(duration_s))  # what pgbench runs (--time takes whole seconds)

    def run_for(seconds: float) -> float:
        result = nearest_floor.run_pgbench(
            url, scripts, clients=CONNECTIONS, threads=nearest.WRK_THREADS, duration_s=seconds, label=label
        )
        if result.errors or not result.transactions:
            raise RuntimeError(
                f"pgbench {label}: {result.transactions} done, {result.failed} failed, {result.aborted} aborted"
            )
        return result.tps

    return Load(
        lambda: run_for(whole_s), whole_s, window_opens_after_s=0.0, warm_up=lambda: run_for(nearest.FLOOR_WARMUP_S)
    )


def _floor_load(url: str, queries: list[nearest.BenchQuery], duration_s: float) -> Load:
    def run() -> float:
        # Its processes warm up inside the run, for FLOOR_WARMUP_S, before the measured window.
        result = nearest.run_floor(url, queries, connections=CONNECTIONS, duration_s=duration_s)
        if result.errors or not result.completed:
            raise RuntimeError(f"find_nearest: {result.completed} done, errors {result.errors}")
        return result.qps

    return Load(run, duration_s, window_opens_after_s=nearest.FLOOR_WARMUP_S)


KNN, NEAREST_SQL, NEAREST = (
    "plain KNN (pgbench)",
    "find_nearest's statement (pgbench)",
    "find_nearest (16 Python processes)",
)


def bench_size(cluster, label: str, queries: list[nearest.BenchQuery], args) -> dict[str, list[CpuUse]]:
    url = common.database_url(cluster, f"bench_{label}")
    common.load_demo_services(url, common.SIZES[label])
    knn_scripts = nearest.prepare_knn_floor(url, queries, label)
    nearest_sql = nearest.prepare_nearest_sql(url, queries, label, datetime.now(UTC))
    postmaster_pid = cluster.status().pid
    assert postmaster_pid is not None, "the bench cluster is running"
    loads = {
        KNN: _pgbench_load(url, knn_scripts, args.duration_s, "cpu-knn"),
        NEAREST_SQL: _pgbench_load(url, nearest_sql.scripts, args.duration_s, "cpu-sql"),
        NEAREST: _floor_load(url, queries, args.duration_s),
    }
    uses: dict[str, list[CpuUse]] = {name: [] for name in loads}
    for run_index in range(args.runs):
        for name, load in loads.items():
            use = measure(postmaster_pid, load)
            uses[name].append(use)
            log(
                f"{label} run {run_index + 1}/{args.runs}: {name}: {use.queries_per_s:.0f} q/s, client "
                f"{use.client_us_per_query:.0f} us/q, PostgreSQL {use.postgres_us_per_query:.0f} us/q, "
                f"busy {use.machine_busy_fraction:.2f}"
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
        f"{CONNECTIONS} connections, {args.duration_s:g} s runs after a {nearest.FLOOR_WARMUP_S:g} s warm-up, the CPU "
        f"sampled inside each run's window, {_MARGIN_S:g} s clear of its ends, "
        f"medians of {args.runs} runs. Machine: {common.machine_summary()}; bench cluster: "
        f"{common.bench_cluster_memory_text()}.",
        "",
        "Client CPU: pgbench, or the 16 find_nearest processes (children of this process). PostgreSQL "
        "CPU: the bench cluster's backends (the postmaster's children, living or reaped). Shares are of the "
        'machine\'s busy time (user, nice, system, irq, softirq). "If PostgreSQL had the cores" is an '
        "extrapolation: the machine's cores divided by PostgreSQL's CPU per query under this load.",
        "",
        "| size | load | queries/s | client CPU us/q | PostgreSQL CPU us/q | machine busy | client share "
        "| PostgreSQL share | q/s if PostgreSQL had the cores | of the plain KNN's |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, uses in results.items():
        knn_alone = median([use.queries_per_s_if_postgres_alone for use in uses[KNN]])
        for name, runs in uses.items():
            alone = median([use.queries_per_s_if_postgres_alone for use in runs])
            lines.append(
                f"| {label} | {name} | {median([u.queries_per_s for u in runs]):.0f} "
                f"| {median([u.client_us_per_query for u in runs]):.0f} "
                f"| {median([u.postgres_us_per_query for u in runs]):.0f} "
                f"| {median([u.machine_busy_fraction for u in runs]):.2f} | {median([u.client_share for u in runs]):.2f} "
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
    if args.duration_s < 2 * _MARGIN_S + 2:
        parser.error(
            f"--duration-s must be at least {2 * _MARGIN_S + 2:g}: the CPU is sampled {_MARGIN_S:g} s clear of each end"
        )
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    args.sizes = common.parse_sizes(parser, args.sizes)
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
