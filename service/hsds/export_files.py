"""A file or folder written whole or not at all: built under a temporary name beside the
target and renamed into place when complete, so a failed export never leaves a half file
under the target's name."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import IO


def partial_sibling(path: Path) -> Path:
    """A fresh name in ``path``'s folder (same file system: the rename is atomic)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.parent / f".{path.name}.{secrets.token_hex(6)}.partial"


@contextlib.contextmanager
def replaced_on_success(path: Path) -> Iterator[IO[bytes]]:
    """A binary file to write; on success it becomes ``path``, on an exception it is removed
    and ``path`` is left as it was."""
    temporary = partial_sibling(path)
    try:
        # "x": never an existing file; mode from the umask, as any file the operator writes
        # (tempfile's would be 0600 and travel so).
        with temporary.open("xb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
