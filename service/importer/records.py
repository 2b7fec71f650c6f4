"""What readers hand to the validator: raw rows that remember where they came from."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Origin:
    """Where a row was read: a file, its row (CSV, header = row 1) or record number, and
    for nested JSON the path of the object inside the record."""

    file: str
    row: int
    path: str = ""

    def field_name(self, column: str) -> str:
        return f"{self.path}.{column}" if self.path else column


@dataclass
class RawRow:
    table: str
    values: dict
    origin: Origin


@dataclass(frozen=True)
class RowProblem:
    """A problem with one row (or value) of an imported source, reported by `fieldnav import`:
    not an HTTP answer (those are service.platform.problems.Problem)."""

    file: str
    row: int
    field: str
    reason: str
    # What the importer did about it: "row skipped", "value dropped", "value kept" (read with a
    # caveat the publisher should know) or "import refused".
    action: str = "row skipped"

    def __str__(self) -> str:
        return f"{self.file} row {self.row}, {self.field}: {self.reason} ({self.action})"


@dataclass
class SourceData:
    """Everything a reader found: raw rows per HSDS 3 table, and what it could not use."""

    format: str
    rows: dict[str, list[RawRow]] = field(default_factory=dict)
    problems: list[RowProblem] = field(default_factory=list)
    # Files present in the source that fieldnav does not store (e.g. contacts.csv).
    ignored_files: list[str] = field(default_factory=list)

    def add(self, table: str, values: dict, origin: Origin) -> None:
        self.rows.setdefault(table, []).append(RawRow(table, values, origin))


class ImportRefused(Exception):
    """The source cannot be imported at all (unreadable, wrong shape, or --strict)."""

    def __init__(self, message: str, problems: list[RowProblem] | None = None):
        super().__init__(message)
        self.problems = problems or []
