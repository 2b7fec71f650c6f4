"""A file written whole or not at all: a temporary file in the target's folder, renamed into
place when complete, so a failed export never leaves a half file under the target's name."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO


@contextlib.contextmanager
def replaced_on_success(path: Path) -> Iterator[IO[bytes]]:
    """A binary file to write; on success it becomes ``path`` (atomically: same file system),
    on an exception it is removed and ``path`` is left as it was."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    try:
        with os.fdopen(handle, "wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
