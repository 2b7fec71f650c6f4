"""Read the CSV files of a tabular datapackage, from a folder or a .zip."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from service.importer.records import ImportRefused

# A CSV field may hold a long description; the csv module's default cap (128 KiB) is fine,
# but we refuse anything larger than this so a hostile file cannot exhaust memory.
MAX_FIELD_BYTES = 1_000_000


class PackageFiles:
    """The files of a datapackage by base name (``services.csv``), folder or zip alike."""

    def __init__(self, path: Path):
        self.path = path
        self._zip = zipfile.ZipFile(path) if path.is_file() else None
        self._names = self._index()

    def _index(self) -> dict[str, str]:
        if self._zip is not None:
            members = [n for n in self._zip.namelist() if not n.endswith("/") and "__MACOSX" not in n]
            return {PurePosixPath(n).name.lower(): n for n in members}
        return {p.name.lower(): str(p) for p in self.path.rglob("*") if p.is_file()}

    def names(self) -> list[str]:
        return sorted(self._names)

    def has(self, name: str) -> bool:
        return name.lower() in self._names

    def read_bytes(self, name: str) -> bytes:
        member = self._names[name.lower()]
        if self._zip is not None:
            return self._zip.read(member)
        return Path(member).read_bytes()

    def datapackage(self) -> dict | None:
        """datapackage.json if present and valid JSON; None otherwise (we then go by file
        names, which is what the CSVs are called in every HSDS export we know)."""
        if not self.has("datapackage.json"):
            return None
        try:
            loaded = json.loads(self.read_bytes("datapackage.json"))
        except (ValueError, UnicodeDecodeError):
            return None
        return loaded if isinstance(loaded, dict) else None

    def csv_rows(self, name: str) -> Iterator[tuple[int, dict[str, str]]]:
        """(row number, row) pairs; the header is row 1, so the first record is row 2."""
        raw = self.read_bytes(name)
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise ImportRefused(f"{name}: not UTF-8 text (byte {error.start}); re-export it as UTF-8") from None
        csv.field_size_limit(MAX_FIELD_BYTES)
        reader = csv.DictReader(io.StringIO(text, newline=""))
        if reader.fieldnames is None:
            return
        reader.fieldnames = [(f or "").strip().lower() for f in reader.fieldnames]
        try:
            for number, row in enumerate(reader, start=2):
                yield number, {k: v for k, v in row.items() if k}
        except csv.Error as error:
            raise ImportRefused(f"{name}: malformed CSV near record {reader.line_num}: {error}") from None

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
