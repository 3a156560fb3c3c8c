"""Whether an error means the server has run out of room: the blob store's disk or the database's.

Surfaces answer it in their own error shape (507 or their nearest); the test lives here, below them,
because it reads the storage and database layers' errors, which surfaces do not import.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError

from omnidrop.db.engine import is_disk_full
from omnidrop.storage.reserve import is_full


def is_storage_full(exc: BaseException) -> bool:
    """ENOSPC or EDQUOT from a file write, SQLite's SQLITE_FULL, PostgreSQL's disk_full (53100)."""
    if isinstance(exc, OSError):
        return is_full(exc)
    if isinstance(exc, DBAPIError):
        return is_disk_full(exc) or "database or disk is full" in str(exc.orig)
    return False
