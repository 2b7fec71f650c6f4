"""Plain nearest requests answered ahead of FastAPI's router (service/api/fast_path.py).

"What is near me" is the field client's most frequent read. Over HTTP, FastAPI's dependency
solving and parameter validation took more of a worker's time than the exact search itself
(py-spy, bench/README.md, issue 21). ``GET /v1/services/nearest`` is answered here when every
parameter is one the fast path reads exactly as FastAPI would: ``lat``/``lon`` as plain
decimals within their bounds, integers as digits within theirs, booleans as pydantic's words,
any number of list values, ``gender`` and ``serves`` once each. ``open_at`` (an ISO 8601 time),
a repeated single-valued parameter, or anything out of bounds goes to the FastAPI operation,
which answers it or refuses it with its 422. The answer itself is the operation's
(``answer_nearest``, service/api/nearest_endpoint.py), run in the same thread pool.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from service.api.dependencies import app_state
from service.api.fast_path import FastPath
from service.api.nearest_endpoint import (
    AGE_BOUNDS,
    DEFAULT_LIMIT,
    DEFAULT_MAX_DISTANCE_M,
    LAT_BOUNDS,
    LIMIT_BOUNDS,
    LON_BOUNDS,
    MAX_DISTANCE_BOUNDS_M,
    NEAREST_PATH,
    NearestParams,
    answer_nearest,
)

# Plain decimals only: exponents, signs other than "-", blanks, nan and inf are FastAPI's to read.
_DECIMAL = re.compile(r"-?[0-9]{1,3}(\.[0-9]{1,17})?")
_DIGITS = re.compile(r"[0-9]{1,6}")
# The strings pydantic reads as booleans, in any case.
_BOOLEANS = dict.fromkeys(("true", "1", "yes", "on", "t", "y"), True) | dict.fromkeys(
    ("false", "0", "no", "off", "f", "n"), False
)
_LISTS = ("category", "language", "population")
# name: (reader of one value, lowest, highest); a value outside the bounds is FastAPI's to refuse.
_SCALARS = {
    "lat": (_DECIMAL, *LAT_BOUNDS),
    "lon": (_DECIMAL, *LON_BOUNDS),
    "age": (_DIGITS, *AGE_BOUNDS),
    "max_distance_m": (_DIGITS, *MAX_DISTANCE_BOUNDS_M),
    "limit": (_DIGITS, *LIMIT_BOUNDS),
}
_FLAGS = ("open_now", "accessible", "has_capacity")
_TEXTS = ("gender", "serves")
_ROUTED = ("open_at",)
_READ = {*_LISTS, *_SCALARS, *_FLAGS, *_TEXTS, *_ROUTED}


def _number(name: str, value: str) -> float | int | None:
    pattern, lowest, highest = _SCALARS[name]
    if not pattern.fullmatch(value):
        return None
    number = float(value) if pattern is _DECIMAL else int(value)
    return number if lowest <= number <= highest else None


def plain_nearest_query(query_string: bytes) -> NearestParams | None:
    """The parameters when the query is one the fast path may answer, else None.

    Parsed as Starlette parses it (latin-1, then percent-decoding as UTF-8, blanks kept);
    parameters the operation does not have are ignored, as FastAPI ignores them."""
    lists: dict[str, list[str]] = {}
    numbers: dict[str, float | int] = {}
    flags: dict[str, bool] = {}
    texts: dict[str, str] = {}
    for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if name in _LISTS:
            lists.setdefault(name, []).append(value)
        elif name in _ROUTED or name in numbers or name in flags or name in texts:
            return None  # FastAPI's choice among repeated values is FastAPI's
        elif name in _SCALARS:
            number = _number(name, value)
            if number is None:
                return None
            numbers[name] = number
        elif name in _FLAGS:
            flag = _BOOLEANS.get(value.lower())
            if flag is None:
                return None
            flags[name] = flag
        elif name in _TEXTS:
            texts[name] = value
    if "lat" not in numbers or "lon" not in numbers:
        return None
    age = numbers.get("age")
    return NearestParams(
        lat=float(numbers["lat"]),
        lon=float(numbers["lon"]),
        category=lists.get("category"),
        open_now=flags.get("open_now", False),
        language=lists.get("language"),
        age=None if age is None else int(age),
        population=lists.get("population"),
        gender=texts.get("gender"),
        serves=texts.get("serves"),
        accessible=flags.get("accessible", False),
        has_capacity=flags.get("has_capacity", False),
        max_distance_m=int(numbers.get("max_distance_m", DEFAULT_MAX_DISTANCE_M)),
        limit=int(numbers.get("limit", DEFAULT_LIMIT)),
    )


class NearestFastPath(FastPath):
    def __init__(self, app, *, route):
        super().__init__(app, route=route)
        # A parameter the route gains and this path does not read would be ignored here: the
        # answer would drop a filter the person asked for. Refuse to start instead.
        declared = {param.alias for param in route.dependant.query_params}
        if declared != _READ:
            raise RuntimeError(
                f"the nearest fast path does not read the route's parameters as declared: {declared ^ _READ}"
            )

    def read(self, path: str, query_string: bytes) -> tuple[dict[str, str], NearestParams] | None:
        if path != NEAREST_PATH:
            return None
        params = plain_nearest_query(query_string)
        return None if params is None else ({}, params)

    async def answer(self, request: Request, parameters: NearestParams) -> Response:
        state = app_state(request)
        return await run_in_threadpool(answer_nearest, request, state.engine, state.read_engine, parameters)
