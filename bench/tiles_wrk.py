"""wrk for tile URLs: like common.run_wrk, but with no bearer token (public reads; tipg has
no auth), an optional If-None-Match per URL, and, only when asked, a count of answers by
status (a Lua ``response`` callback makes wrk buffer every body, which costs CPU the server
shares on a small machine, so the big-body runs count only wrk's own status errors).
"""

from __future__ import annotations

import json
import math
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field

import common

# Requests cycle through "path<TAB>etag" lines (each thread from its own offset); done()
# prints one JSON line. wrk's errors.status counts answers with status > 399.
_HEAD = r"""
local threads = {}
local paths = {}
local etags = {}
local next_index = 0
s200, s204, s304, sother = 0, 0, 0, 0

function setup(thread)
  thread:set("thread_number", #threads)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(args[1]) do
    local path, etag = line:match("^([^\t]+)\t?(.*)$")
    paths[#paths + 1] = path
    etags[#etags + 1] = etag or ""
  end
  next_index = (thread_number * 7919) % #paths
end

function request()
  next_index = next_index % #paths + 1
  local etag = etags[next_index]
  if etag ~= "" then
    return wrk.format("GET", paths[next_index], {["If-None-Match"] = etag})
  end
  return wrk.format("GET", paths[next_index])
end
"""

_COUNT = r"""
function response(status, headers, body)
  if status == 200 then s200 = s200 + 1
  elseif status == 204 then s204 = s204 + 1
  elseif status == 304 then s304 = s304 + 1
  else sother = sother + 1 end
end
"""

_DONE = r"""
function done(summary, latency, requests)
  local c200, c204, c304, cother = 0, 0, 0, 0
  for _, thread in ipairs(threads) do
    c200 = c200 + thread:get("s200"); c204 = c204 + thread:get("s204")
    c304 = c304 + thread:get("s304"); cother = cother + thread:get("sother")
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "status_errors": %d, "socket_errors": %d, ' ..
    '"s200": %d, "s204": %d, "s304": %d, "sother": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.status, e.connect + e.read + e.write + e.timeout,
    c200, c204, c304, cother,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
"""


@dataclass(frozen=True)
class TileLoad:
    """One wrk run. ``errors``: socket errors and timeouts, plus answers with status >= 400
    (when statuses are counted: any answer but 200, 204 and 304)."""

    http: common.HttpResult
    bytes: int
    status_errors: int
    socket_errors: int
    statuses: dict[str, int] = field(default_factory=dict)  # only when counted

    @property
    def qps(self) -> float:
        return self.http.qps


def run_tile_wrk(
    base_url: str,
    paths: Sequence[str],
    *,
    etags: Sequence[str] | None = None,
    connections: int,
    threads: int,
    duration_s: float,
    label: str,
    count_statuses: bool = False,
) -> TileLoad:
    """One wrk run over ``paths`` (with ``If-None-Match: etags[i]`` when given and not
    empty), bounded by ``duration_s``."""
    wrk = common.require_wrk()
    common.BENCH_OUT_DIR.mkdir(parents=True, exist_ok=True)
    script_path = common.BENCH_OUT_DIR / ("tiles_cycle_count.lua" if count_statuses else "tiles_cycle.lua")
    script_path.write_text(_HEAD + (_COUNT if count_statuses else "") + _DONE)
    paths_path = common.BENCH_OUT_DIR / f"tile-paths-{label}.txt"
    lines = []
    for i, path in enumerate(paths):
        etag = etags[i] if etags else ""
        lines.append(f"{path}\t{etag}\n" if etag else f"{path}\n")
    paths_path.write_text("".join(lines))
    command = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration_s))}s",
        "--timeout",
        "10s",
        "-s",
        str(script_path),
        base_url,
        "--",
        str(paths_path),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=duration_s + 60)
    line = next((out for out in result.stdout.splitlines() if out.startswith("WRK_JSON ")), None)
    if result.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    data = json.loads(line.removeprefix("WRK_JSON "))
    if data["requests"] == 0:
        data.update(p50_us=math.nan, p90_us=math.nan, p99_us=math.nan, max_us=math.nan)
    statuses = {k: data[k] for k in ("s200", "s204", "s304", "sother")} if count_statuses else {}
    errors = data["socket_errors"] + (data["sother"] if count_statuses else data["status_errors"])
    http = common.HttpResult(
        requests=data["requests"],
        duration_s=data["duration_us"] / 1e6,
        errors=errors,
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
    )
    return TileLoad(http, data["bytes"], data["status_errors"], data["socket_errors"], statuses)
