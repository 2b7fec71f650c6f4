"""H3 cell ids as clients write them: the one check every API input of a cell goes through.

``h3.is_valid_cell`` reads its argument with ``int(text, 16)``, so it raises OverflowError
for ``-1`` or twenty hex digits, and takes ``0x85...``, ``85_2b...`` or `` 85...`` for cells.
Here a cell id is its hexadecimal text only: 15 digits (16 with a leading zero), any case,
blanks around it ignored. Plain values in and out (spatial never imports service).
"""

from __future__ import annotations

import re

import h3

_CELL_TEXT = re.compile(r"0?[0-9a-f]{15}")


def parse_cell(value: object) -> str | None:
    """The canonical id (15 lowercase hex digits) of an H3 cell written as ``value``, or None
    when ``value`` is not one. Never raises."""
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    if not _CELL_TEXT.fullmatch(text):
        return None
    try:
        if not h3.is_valid_cell(text):
            return None
        return h3.int_to_str(h3.str_to_int(text))
    except (ValueError, OverflowError, TypeError):  # 16 hex digits fit: only a change in h3 could get here
        return None
