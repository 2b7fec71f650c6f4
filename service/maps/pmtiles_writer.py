"""The one PMTiles v3 archive writer, shared by offline packs (service/maps/packs/archive.py)
and their basemap parts (service/maps/basemap.py).

Tiles go through the ``pmtiles`` library's ``Writer`` (identical tiles stored once, run
lengths, the tile data spooled to a temporary file) and the directories are its
``optimize_directories``. The header and the file layout are ours, because the library's
``Writer.finalize`` does not fit a pack:

- it takes the header's zooms from the tiles written, where a pack's header states the zooms
  asked for (a pack whose top zoom holds no feature still reaches that zoom);
- it fails on an archive without any tile (``tile_entries[0]``), which a pack of an empty
  area is;
- it writes the metadata with ``json.dumps``; ours is orjson, like every other document.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Self

import orjson
from pmtiles.tile import (
    Compression,
    HeaderDict,
    TileType,
    serialize_header,
    tileid_to_zxy,
    zxy_to_tileid,
)
from pmtiles.writer import Writer, optimize_directories

from spatial.tiles import tile_range

HEADER_BYTES = 127
# A client reads the header and root directory in one 16 KiB request (PMTiles v3 spec).
ROOT_DIRECTORY_BYTES = 16384 - HEADER_BYTES
COPY_CHUNK_BYTES = 1 << 20

BBox = tuple[float, float, float, float]


def tiles_in_order(bbox: BBox, zoom: int) -> list[tuple[int, int, int, int]]:
    """(tile_id, z, x, y) of the tiles covering ``bbox`` at ``zoom``, in PMTiles (Hilbert)
    order: the order ``ArchiveWriter.add`` wants them in."""
    min_x, min_y, max_x, max_y = tile_range(bbox, zoom)
    tiles = [(zxy_to_tileid(zoom, x, y), zoom, x, y) for x in range(min_x, max_x + 1) for y in range(min_y, max_y + 1)]
    tiles.sort()
    return tiles


def e7(degrees: float) -> int:
    """Degrees as the header's integers (1e-7 degree)."""
    return round(degrees * 10_000_000)


class ArchiveWriter:
    """Writes one archive to ``path``: ``add`` tiles in tile-id order, then ``finish`` (or
    ``close`` to give up; the caller removes the file)."""

    def __init__(self, path: Path):
        self.file = path.open("wb")
        self.writer = Writer(self.file)

    @property
    def tile_bytes(self) -> int:
        """Bytes of distinct tile data so far (what the archive holds besides its directories)."""
        return self.writer.offset

    @property
    def tile_count(self) -> int:
        return self.writer.addressed_tiles

    def add(self, tile_id: int, data: bytes) -> None:
        self.writer.write_tile(tile_id, data)

    def _zooms(self, entries) -> tuple[int, int]:
        return tileid_to_zxy(entries[0].tile_id)[0], tileid_to_zxy(entries[-1].tile_id)[0]

    def finish(
        self,
        *,
        tile_type: TileType,
        tile_compression: Compression,
        bbox: BBox,
        center_zoom: int,
        metadata: dict,
        zooms: tuple[int, int] | None = None,
    ) -> None:
        """Write the header, directories, metadata (gzipped JSON) and tiles, and close the
        file. ``zooms``: the header's (min, max); None takes those of the tiles written."""
        w = self.writer
        entries = sorted(w.tile_entries, key=lambda e: e.tile_id)
        min_zoom, max_zoom = zooms if zooms is not None else self._zooms(entries)
        root, leaves, _ = optimize_directories(entries, ROOT_DIRECTORY_BYTES)
        packed_metadata = gzip.compress(orjson.dumps(metadata), mtime=0)
        min_lon, min_lat, max_lon, max_lat = bbox
        metadata_offset = HEADER_BYTES + len(root)
        leaves_offset = metadata_offset + len(packed_metadata)
        header: HeaderDict = {
            "version": 3,  # (serialize_header writes 3 whatever this says)
            "root_offset": HEADER_BYTES,
            "root_length": len(root),
            "metadata_offset": metadata_offset,
            "metadata_length": len(packed_metadata),
            "leaf_directory_offset": leaves_offset,
            "leaf_directory_length": len(leaves),
            "tile_data_offset": leaves_offset + len(leaves),
            "tile_data_length": w.offset,
            "addressed_tiles_count": w.addressed_tiles,
            "tile_entries_count": len(entries),
            "tile_contents_count": len(w.hash_to_offset),
            "clustered": w.clustered,
            "internal_compression": Compression.GZIP,
            "tile_compression": tile_compression,
            "tile_type": tile_type,
            "min_zoom": min_zoom,
            "max_zoom": max_zoom,
            "min_lon_e7": e7(min_lon),
            "min_lat_e7": e7(min_lat),
            "max_lon_e7": e7(max_lon),
            "max_lat_e7": e7(max_lat),
            "center_zoom": center_zoom,
            "center_lon_e7": e7((min_lon + max_lon) / 2),
            "center_lat_e7": e7((min_lat + max_lat) / 2),
        }
        for part in (serialize_header(header), root, packed_metadata, leaves):
            self.file.write(part)
        w.tile_f.seek(0)
        while chunk := w.tile_f.read(COPY_CHUNK_BYTES):
            self.file.write(chunk)
        self.close()

    def close(self) -> None:
        self.writer.tile_f.close()
        self.file.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
