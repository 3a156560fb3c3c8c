import os
from datetime import timedelta

import pytest
from sqlalchemy import update

from omnidrop.auth.keys import KeyService
from omnidrop.auth.quotas import Quotas
from omnidrop.db.clock import db_now, db_time
from omnidrop.db.models import Project, UploadSession
from omnidrop.projects.errors import InvalidDownloadLink
from omnidrop.projects.service import NewProject, ProjectService, check_link_syntax
from omnidrop.storage.local import LocalBlobStore
from omnidrop.uploads.core import UploadCore, UploadLimits
from omnidrop.uploads.errors import SessionNotFound
from tests.support.clock import skew_process_clock


async def one(data: bytes):
    yield data


async def finished_session(core: UploadCore, owner: str) -> str:
    sid = (await core.create_session(owner)).id
    await core.write(owner, sid, "scan.e57", start=0, length=3, total=3, body=one(b"abc"))
    return sid


async def test_name_is_the_upload_id_unless_taken(db, tmp_path):
    owner = await KeyService(db).ensure_owner(f"slug-{os.urandom(4).hex()}")
    core = UploadCore(db, LocalBlobStore(tmp_path), UploadLimits(allowed_extensions=["e57"]))
    sent: list[str] = []

    async def dispatch(job_id: str) -> None:
        sent.append(job_id)

    service = ProjectService(db, Quotas(None), max_attempts=3, dispatch=dispatch)
    first_sid = await finished_session(core, owner)
    first = await service.create(owner, NewProject(upload_id=first_sid))
    assert first.name == first_sid and first.title == "scan"
    # A later session whose id an existing project already uses as its name (a rare collision).
    second_sid = await finished_session(core, owner)
    async with db.write() as s:
        await s.execute(update(Project).where(Project.id == first.id).values(name=second_sid))
    second = await service.create(owner, NewProject(upload_id=second_sid, title="Again"))
    assert second.name.startswith(f"{second_sid}-") and second.name != second_sid
    assert (await service.get(owner, second.name)).project.title == "Again"
    assert len(set(sent)) == 2  # each new project's processing job was handed to the dispatcher


@pytest.mark.parametrize("link", ["file:///etc/passwd", "gopher://x/1", "http://", "https://user:pw@host/x.zip", "x.zip"])
def test_links_must_be_plain_http_urls(link):
    with pytest.raises(InvalidDownloadLink):
        check_link_syntax(link)


@pytest.mark.parametrize("hours", [-2, 2])
async def test_a_skewed_process_clock_decides_nothing_about_the_session(db, tmp_path, monkeypatch, hours):
    """Whether the upload session is still open is the database's call: with a 1 h session and a clock
    2 h off, a live session is taken and an expired one is not."""
    owner = await KeyService(db).ensure_owner(f"skew-{os.urandom(4).hex()}")
    core = UploadCore(db, LocalBlobStore(tmp_path), UploadLimits(ttl_seconds=3600, allowed_extensions=["e57"]))

    async def dispatch(job_id: str) -> None:
        pass

    service = ProjectService(db, Quotas(None), max_attempts=3, dispatch=dispatch)
    live, lapsed = await finished_session(core, owner), await finished_session(core, owner)
    async with db.write() as s:
        await s.execute(update(UploadSession).where(UploadSession.id == lapsed).values(expires_at=db_time(-1)))
    skew_process_clock(monkeypatch, timedelta(hours=hours))
    project = await service.create(owner, NewProject(upload_id=live))
    async with db.read() as s:
        now = await db_now(s)
    assert abs(project.created_at - now) < timedelta(minutes=5)  # lists order by the one clock
    with pytest.raises(SessionNotFound):
        await service.create(owner, NewProject(upload_id=lapsed))
