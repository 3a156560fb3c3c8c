"""What a blob store is handed to fence off writers whose lease was taken over.

A writer can be frozen at any instant (a GC pause, SIGSTOP, a stalled network) and wake long after
another writer took its file over; by then no check it made still holds. So a store never lets such a
writer's late bytes reach anything that is read: it writes only to places drawn for it alone under
its lease (`draw`, one database UPDATE guarded by the lease), and it takes what makes up a blob from
the record committed with the acknowledged offset (`state`), never from what it finds in storage.
"""

from __future__ import annotations

from typing import Protocol


class WriteFence(Protocol):
    # Bumped by every claim of the file's lease: stores may name per-writer places after it.
    epoch: int
    # Writers of earlier epochs than this may still be running (their lease was taken over, not given
    # back): nothing they can still write to may be read again.
    fenced_below: int
    # The store's record of the unfinished blob as committed with the acknowledged offset (None before
    # the first write). `write` replaces it; the new record counts only if the core commits it, under
    # the lease, together with the new offset.
    state: str | None

    async def draw(self) -> int:
        """A number never handed out before for this blob, taken under the lease. Raises (LeaseLost)
        once the lease was taken over: a stale writer can draw nothing more."""
