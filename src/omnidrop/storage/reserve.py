"""Room kept back on the data directory's disk, so that a full disk can still be freed through the API.

Deleting needs a little space before it frees any: SQLite appends the deletion to its WAL before the
rows go. On a disk that uploads have filled to the last byte, that commit fails, and nothing can be
deleted. So omnidrop keeps a file of `disk_reserve_bytes` in the data dir (`disk-reserve`), allocated
while there is room. The first write that meets a full disk (a blob write, a database commit) releases
it; from then on the database has room to commit, and the local blob store takes no new upload bytes
until it can allocate the reserve again (once deletions have freed the space): a write while the reserve
is out fails as a full disk would, and each API answers it as one.

The reserve is a file, so every process on the data dir (server workers, job workers) sees the same one.
"""

from __future__ import annotations

import errno
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

FULL_ERRNOS = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})


def is_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in FULL_ERRNOS


class DiskReserve:
    def __init__(self, path: Path, size: int) -> None:
        self.path, self.size = path, size

    @property
    def held(self) -> bool:
        return self.size <= 0 or self.path.exists()

    def take(self) -> bool:
        """Allocate the reserve if it is not there; False when the disk has no room for it."""
        if self.held:
            return True
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.posix_fallocate(fd, 0, self.size)  # real blocks, not a sparse promise
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            if not is_full(exc):
                raise
            return False
        log.info("disk reserve of %d bytes in place at %s", self.size, self.path)
        return True

    def release(self) -> bool:
        """Free the reserve's space; True when there was one to free."""
        if self.size <= 0:
            return False
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        log.warning("the disk is full: released the %d byte reserve at %s so deletions can commit; "
                    "uploads wait until it can be taken again", self.size, self.path)
        return True

    def before_write(self) -> None:
        """Raise a full-disk OSError while the reserve is out and cannot be taken again."""
        if not self.take():
            raise OSError(errno.ENOSPC, "no space left on device (the disk reserve is released until space is freed)")
