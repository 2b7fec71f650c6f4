"""Offline packs: the map tiles and the services of an area, for a phone to keep offline.

``POST /v1/offline/packs`` builds (or reuses) a pack; its files are served by
``GET /v1/offline/packs/{id}.pmtiles``, ``GET /v1/offline/packs/{id}/services.json`` and,
with a basemap, ``GET /v1/offline/packs/{id}/basemap.pmtiles``. One job per module:

- request.py   the request body (PackRequest) and the area it names;
- plan.py      the request checked against the settings: the PackPlan, its request key, the size caps;
- archive.py   the plan's tiles rendered into ``<id>.pmtiles`` (service/maps/pmtiles_writer.py);
- snapshot.py  the services of the area in ``<id>.services.json.gz``;
- files.py     a pack's file names, temporary paths, and their presence in a store;
- build.py     the build transaction: reuse, the request-key lock, recording the row;
- manifest.py  the pack's row as the manifest JSON;
- serve.py     a pack's files and manifest by id, for the download routes;
- gc.py        removing unused, superseded and orphaned packs;
- queue.py     bounding builds: the packs' own pool, per-worker queue, database-wide slots, deadline;
- storage.py   where the files live: a local folder or the database.

The names the routes, the CLI and the tests use are importable from here.
"""

from service.maps.packs.build import build_or_reuse, find_reusable
from service.maps.packs.files import TEMP_MARK, archive_path, file_names, snapshot_path
from service.maps.packs.gc import Collected, collect_garbage
from service.maps.packs.manifest import manifest
from service.maps.packs.plan import PACK_FORMAT, PackPlan, plan_pack
from service.maps.packs.request import PackRequest
from service.maps.packs.serve import (
    PackFile,
    basemap_part_file,
    open_pack_file,
    pack_manifest,
)
from service.maps.packs.storage import default_stores, pack_dir

__all__ = [
    "PACK_FORMAT",
    "TEMP_MARK",
    "Collected",
    "PackFile",
    "PackPlan",
    "PackRequest",
    "archive_path",
    "basemap_part_file",
    "build_or_reuse",
    "collect_garbage",
    "default_stores",
    "file_names",
    "find_reusable",
    "manifest",
    "open_pack_file",
    "pack_dir",
    "pack_manifest",
    "plan_pack",
    "snapshot_path",
]
