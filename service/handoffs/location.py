"""Where a handoff is, as coarsely as it can be: an H3 cell at resolution 7 (~5 km²).

Cells are stored as bigint (H3 indexes use 63 bits). A *region* filter is any cell of
resolution 0..7: the resolution-7 cells inside it form one contiguous range of integers
(the digits below the region's resolution vary, the rest is fixed), so ``h3_r7 BETWEEN lo
AND hi`` selects exactly its children and can use an index.
"""

from __future__ import annotations

import h3

from spatial.cells import parse_cell

CELL_RESOLUTION = 7

# H3 index layout (64 bits): 1 reserved, 4 mode, 3 mode-dependent, 4 resolution,
# 7 base cell, then 15 digits of 3 bits (resolution 1 first); unused digits are 7.
_RES_SHIFT = 52
_RES_MASK = 0xF << _RES_SHIFT
_DIGIT_BITS = 3
_MAX_RES = 15


def cell_r7(lat_deg: float, lon_deg: float) -> int:
    return h3.str_to_int(h3.latlng_to_cell(lat_deg, lon_deg, CELL_RESOLUTION))


def cell_text(cell: int | None) -> str | None:
    return None if cell is None else h3.int_to_str(cell)


def parent_cell(cell: int, resolution: int) -> int:
    if resolution >= CELL_RESOLUTION:
        return cell
    return h3.str_to_int(h3.cell_to_parent(h3.int_to_str(cell), resolution))


def _digit_shift(resolution: int) -> int:
    return (_MAX_RES - resolution) * _DIGIT_BITS


def region_range(region: str) -> tuple[int, int]:
    """(lo, hi) of the resolution-7 cells inside ``region`` (an H3 cell, resolution <= 7).
    Raises ValueError for anything else."""
    cell = parse_cell(region)
    if cell is None:
        raise ValueError("not an H3 cell")
    resolution = h3.get_resolution(cell)
    if resolution > CELL_RESOLUTION:
        raise ValueError(f"a region must be an H3 cell of resolution {CELL_RESOLUTION} or coarser")
    value = h3.str_to_int(cell)
    value = (value & ~_RES_MASK) | (CELL_RESOLUTION << _RES_SHIFT)
    lo = hi = value
    for digit_resolution in range(resolution + 1, CELL_RESOLUTION + 1):
        shift = _digit_shift(digit_resolution)
        lo &= ~(0b111 << shift)  # digit 0
        hi = (hi & ~(0b111 << shift)) | (0b110 << shift)  # digit 6
    return lo, hi
