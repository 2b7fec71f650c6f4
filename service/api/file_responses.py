"""Files sent whole or by byte ranges (pack archives, snapshots, basemap parts), from a local
folder or the database (service/maps/packs/storage.py), and whether a client takes gzip."""

from __future__ import annotations

import os
import stat
from contextlib import asynccontextmanager

import anyio
from fastapi import Request, Response
from starlette.datastructures import Headers
from starlette.responses import FileResponse, MalformedRangeHeader, RangeNotSatisfiable

from service.api.errors import problem_response, problem_responses
from service.api.http_cache import if_none_match, immutable_cache_control
from service.maps.packs import PackFile
from service.maps.packs.storage import CHUNK_BYTES
from service.platform.problem_texts import fr_number

PMTILES = "application/vnd.pmtiles"

# Byte ranges of an archive: one range is 206 with the bytes, several are 206 multipart/byteranges.
RANGE_RESPONSES = {
    206: {
        "description": "Partial Content: the ranges asked for (`Content-Range`); several ranges come as "
        "multipart/byteranges.",
        "content": {PMTILES: {}, "multipart/byteranges": {}},
    },
    **problem_responses(416, types=("range-not-satisfiable",)),
}


class RangeFileResponse(FileResponse):
    """A file with byte ranges whose refusals are problem documents, like every other answer.

    Starlette answers a malformed `Range` with a text/plain 400 and one past the end with a bare
    416. Here a malformed `Range` is ignored, as RFC 9110 (14.2) allows: the whole file, 200. One
    no byte of the file satisfies is 416 `range-not-satisfiable`, with `Content-Range: bytes */size`."""

    def __init__(self, path, **kwargs):
        super().__init__(path, stat_result=os.stat(path), **kwargs)

    async def __call__(self, scope, receive, send):
        headers = Headers(scope=scope)
        http_range, http_if_range = headers.get("range"), headers.get("if-range")
        if http_range is not None and (http_if_range is None or self._should_use_range(http_if_range)):
            assert self.stat_result is not None  # __init__ always passes the file's
            size = self.stat_result.st_size
            try:
                self._parse_range_header(http_range, size)
            except MalformedRangeHeader:
                scope = {**scope, "headers": [(k, v) for k, v in scope["headers"] if k != b"range"]}
            except RangeNotSatisfiable:
                refusal = problem_response(
                    Request(scope),
                    416,
                    "range-not-satisfiable",
                    f"The file has {size} bytes; ask for a range that starts within it.",
                    title="Range Not Satisfiable",
                    detail_fr=f"Le fichier compte {fr_number(size)} octets ; demandez une plage qui commence avant sa fin.",
                    headers={"Content-Range": f"bytes */{size}", "Cache-Control": "no-store"},
                )
                return await refusal(scope, receive, send)
        await super().__call__(scope, receive, send)


class _StoredFile:
    """The async file RangeFileResponse reads, over a store's RangeReader (a thread per read)."""

    def __init__(self, reader):
        self.reader = reader

    async def seek(self, position: int) -> None:
        self.reader.seek(position)

    async def read(self, n: int) -> bytes:
        return await anyio.to_thread.run_sync(self.reader.read, n)


class StoredFileResponse(RangeFileResponse):
    """A pack file in a store other than a local folder (the database, service/maps/packs/storage.py):
    the same ranges, If-Range, 416 and headers as RangeFileResponse, read a chunk at a time,
    so a range fetches only the chunks it covers."""

    chunk_size = CHUNK_BYTES

    def __init__(self, found: PackFile, **kwargs):
        self.found = found
        modified = found.created_at.timestamp() if found.created_at else 0
        stat_result = os.stat_result((stat.S_IFREG | 0o644, 0, 0, 1, 0, 0, found.bytes, modified, modified, modified))
        FileResponse.__init__(self, found.name, stat_result=stat_result, **kwargs)

    async def __call__(self, scope, receive, send):
        extensions = {k: v for k, v in scope.get("extensions", {}).items() if k != "http.response.pathsend"}
        await super().__call__({**scope, "extensions": extensions}, receive, send)

    @asynccontextmanager
    async def _open_file(self):
        yield _StoredFile(self.found.storage.reader(self.found.name, self.found.bytes))


def file_response(found: PackFile, **kwargs) -> Response:
    """A pack file with byte ranges, from whichever store holds it."""
    path = found.path
    return RangeFileResponse(path, **kwargs) if path is not None else StoredFileResponse(found, **kwargs)


def immutable_file_response(
    request: Request, found: PackFile, *, etag: str, media_type: str, headers: dict | None = None
) -> Response:
    """A file whose bytes never change under its URL (``immutable``), with byte ranges; 304
    when the client's ``If-None-Match`` names ``etag``."""
    common = {"ETag": etag, "Cache-Control": immutable_cache_control(), **(headers or {})}
    if if_none_match(request, etag):
        return Response(status_code=304, headers=common)
    return file_response(found, media_type=media_type, headers=common)


def accepts_gzip(request: Request) -> bool:
    """Whether the request's ``Accept-Encoding`` takes gzip (``gzip`` or ``*`` with a q above 0)."""
    for part in request.headers.get("accept-encoding", "").split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            q = params.strip().removeprefix("q=").strip() if params.strip().startswith("q=") else "1"
            try:
                return float(q) > 0
            except ValueError:
                return True
    return False
