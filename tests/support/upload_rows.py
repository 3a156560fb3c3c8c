"""An upload file row in an open session, made straight in the database for core-level tests."""

from __future__ import annotations

import os
from datetime import timedelta

from omnidrop.auth.keys import KeyService
from omnidrop.db.models import UploadFile, UploadSession
from omnidrop.db.types import utcnow


async def new_upload_file(db, *, owner: str, name: str, blob_key: str, total: int | None) -> int:
    owner_id = await KeyService(db).ensure_owner(f"{owner}-{os.urandom(4).hex()}")
    now = utcnow()
    async with db.write() as s:
        session = UploadSession(id=os.urandom(6).hex(), owner_id=owner_id, state="open", created_at=now,
                                expires_at=now + timedelta(hours=1))
        s.add(session)
        await s.flush()
        f = UploadFile(session_id=session.id, name=name, blob_key=blob_key.format(session=session.id), total=total,
                       received=0, complete=False, created_at=now, updated_at=now)
        s.add(f)
        await s.flush()
        return f.id
