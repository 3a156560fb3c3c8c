"""The core's side of write fencing (storage/fence.py): numbers drawn and records kept in the file's
own row, guarded by the writer's lease token."""

from __future__ import annotations

from sqlalchemy import bindparam, update

from omnidrop.db.models import UploadFile
from omnidrop.uploads.leases import Lease, LeaseLost

_files = UploadFile.__table__.c
_DRAW = (
    update(UploadFile.__table__)
    .where(_files.id == bindparam("file_id"), _files.lease_owner == bindparam("token"))
    .values(store_seq=_files.store_seq + 1)
    .returning(_files.store_seq)
)


class LeaseFence:
    """A writer's fence: its lease's epoch, the store record it started from, and draws under its lease."""

    def __init__(self, lease: Lease, state: str | None) -> None:
        self.lease = lease
        self.epoch = lease.epoch
        self.fenced_below = lease.claimed.fence_epoch if lease.claimed is not None else lease.epoch
        self.state = state
        self.started_from = state

    @property
    def changed(self) -> bool:
        return self.state != self.started_from

    async def draw(self) -> int:
        params = {"file_id": self.lease.file_id, "token": self.lease.token}
        number = await self.lease.db.run_write(lambda s: s.execute(_DRAW, params).scalar_one_or_none())
        if number is None:
            raise LeaseLost()
        return number
