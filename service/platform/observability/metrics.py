"""Prometheus metrics. With several worker processes, prometheus_client's multiprocess mode
(PROMETHEUS_MULTIPROC_DIR, set by `fieldnav serve`) adds up every worker's numbers."""

from __future__ import annotations

import os

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess

REQUESTS = Counter(
    "fieldnav_http_requests_total", "HTTP requests by route template, method and status.", ["route", "method", "status"]
)
LATENCY = Histogram(
    "fieldnav_http_request_duration_seconds",
    "HTTP request latency by route template.",
    ["route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
CACHE_LOOKUPS = Counter("fieldnav_cache_lookups_total", "In-process cache lookups.", ["cache", "result"])
POOL_IN_USE = Gauge(
    "fieldnav_db_pool_connections_in_use", "Database connections checked out.", multiprocess_mode="livesum"
)
POOL_SIZE = Gauge("fieldnav_db_pool_size", "Database pool size per worker.", multiprocess_mode="livesum")


def record_cache(cache: str, hit: bool) -> None:
    CACHE_LOOKUPS.labels(cache=cache, result="hit" if hit else "miss").inc()


def observe_pool(engine) -> None:
    pool = engine.pool
    if hasattr(pool, "checkedout"):
        POOL_IN_USE.set(pool.checkedout())
        POOL_SIZE.set(pool.size())


def render() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)
