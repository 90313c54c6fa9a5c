"""Small file-system helpers shared by the writers that publish files atomically."""

from __future__ import annotations

import os
from pathlib import Path


def fsync_dir(folder: str | Path) -> None:
    """Flush a folder's entries to disk, so that a file ``os.replace``-d into it survives a power cut.

    Best effort: a file system or platform that cannot open or fsync a folder (Windows, some network
    file systems answer EINVAL) is left as it is: the file itself was already flushed by its writer,
    and the rename is still atomic there.
    """
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
