"""Captures: one input file per capture, uploaded as S3-style parts, then queued for processing.

States: CREATED (waiting for parts) -> UPLOADED (complete, queued) -> PROCESSING -> FINISHED | FAILED.
A FINISHED capture with camera poses also has a `capture.train` job on the `gpu` queue (its splat).
A capture is public when created (`is_public`): its share id `sid` (given when the upload completes)
opens `/share/{sid}/metadata` without a key. Its owner can make it private (`set_public`): then only the
owner's key opens it.
Completing the upload queues the `capture.process` job (pipeline/capture_processing.py) in the same
transaction that makes the capture UPLOADED; the job moves it on from there.
"""

from __future__ import annotations

import logging
import math
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update

from omnidrop.db.engine import Database
from omnidrop.db.models import Capture, Job
from omnidrop.db.clock import db_time
from omnidrop.db.types import utcnow
from omnidrop.jobs.dispatch import Dispatch
from omnidrop.jobs.store import add_job
from omnidrop.storage.base import BlobStore
from omnidrop.storage.multipart import MAX_PARTS, MiB
from omnidrop.uploads.errors import UploadError
from omnidrop.uploads.parts import COMPLETED, InvalidPartNumber, PartsCore, SizeMismatch

log = logging.getLogger(__name__)

CREATED, UPLOADED, PROCESSING, FINISHED, FAILED = "CREATED", "UPLOADED", "PROCESSING", "FINISHED", "FAILED"
CHUNK_SIZE = 16 * MiB  # grows for files that would need more than 10 000 parts
INPUT_EXTENSIONS = {"bulk-images": "zip", "video": "mp4"}
PROCESS_KIND = "capture.process"
# Splat training (pipeline/splat_training.py): its own kind on its own queue, run only by workers started
# for it on machines with CUDA (`omnidrop worker --queue gpu`). Queued once a capture has camera poses.
TRAIN_KIND, GPU_QUEUE = "capture.train", "gpu"


def outputs_prefix(eid: str) -> str:
    """Where everything of a capture lives: its input and what processing makes from it."""
    return f"captures/{eid}"


class CaptureNotFound(UploadError):
    code = "capture_not_found"


class CaptureNotUploadable(UploadError):
    """Parts are only taken while the capture is CREATED."""

    code = "capture_not_uploadable"


def plan_parts(bytesize: int) -> tuple[int, int]:
    """(chunk_size, num_parts): 16 MiB parts, or larger whole MiBs so the file fits in 10 000 parts."""
    chunk = max(CHUNK_SIZE, math.ceil(bytesize / MAX_PARTS / MiB) * MiB)
    return chunk, max(1, math.ceil(bytesize / chunk))


@dataclass(frozen=True)
class NewCapture:
    name: str
    bytesize: int
    input_data_format: str
    num_frames: int | None = None
    guided_mode: bool | None = None
    ios_app_version: str | None = None
    training_parameters: dict[str, Any] | None = None


class CaptureService:
    def __init__(self, db: Database, store: BlobStore, parts: PartsCore, max_attempts: int = 3, *,
                 dispatch: Dispatch) -> None:
        self.db = db
        self.store = store
        self.parts = parts
        self.max_attempts = max_attempts
        self.dispatch = dispatch

    @staticmethod
    def input_key(eid: str, input_data_format: str) -> str:
        return f"captures/{eid}/input.{INPUT_EXTENSIONS.get(input_data_format, 'bin')}"

    async def create(self, owner_id: str, new: NewCapture) -> Capture:
        eid = secrets.token_hex(16)
        chunk_size, num_parts = plan_parts(new.bytesize)
        upload = await self.parts.create(owner_id, self.input_key(eid, new.input_data_format))
        capture = Capture(
            eid=eid, owner_id=owner_id, name=new.name, bytesize=new.bytesize, input_data_format=new.input_data_format,
            num_frames=new.num_frames, guided_mode=new.guided_mode, ios_app_version=new.ios_app_version,
            training_parameters=new.training_parameters, state=CREATED, chunk_size=chunk_size, num_parts=num_parts,
            multipart_id=upload.id, is_public=True, created_at=utcnow(),
        )
        async with self.db.write() as s:
            s.add(capture)
        return capture

    async def list(self, owner_id: str, limit: int, offset: int) -> list[Capture]:
        async with self.db.read() as s:
            query = (
                select(Capture).where(Capture.owner_id == owner_id)
                .order_by(Capture.created_at.desc(), Capture.eid).limit(limit).offset(offset)
            )
            return list((await s.scalars(query)).all())

    async def get(self, owner_id: str, eid: str) -> Capture:
        async with self.db.read() as s:
            capture = await s.get(Capture, eid)
        if capture is None or capture.owner_id != owner_id:
            raise CaptureNotFound("Capture not found")
        return capture

    async def rename(self, owner_id: str, eid: str, name: str) -> Capture:
        await self.get(owner_id, eid)
        async with self.db.write() as s:
            await s.execute(update(Capture).where(Capture.eid == eid).values(name=name))
        return await self.get(owner_id, eid)

    async def delete(self, owner_id: str, eid: str) -> None:
        capture = await self.get(owner_id, eid)
        upload = await self.parts.get(capture.multipart_id)
        await self.parts.abort(upload)  # parts of an unfinished upload
        await self.store.delete_prefix(outputs_prefix(eid))  # the input and anything processing made
        async with self.db.write() as s:
            # Its job goes too: a worker running it loses its lease and stops, and the job itself
            # removes anything it wrote after this point (it finds the capture gone).
            await s.execute(delete(Job).where(Job.kind.in_((PROCESS_KIND, TRAIN_KIND)), Job.subject_id == eid))
            await s.execute(delete(Capture).where(Capture.eid == eid))
        await self.store.delete_prefix(outputs_prefix(eid))  # what a running job wrote meanwhile

    async def upload_url(self, owner_id: str, eid: str, part_no: int, bytesize: int, url_for) -> tuple[Capture, str]:
        """`url_for(upload, part_no)` builds the part URL (the protocol layer knows how)."""
        capture = await self.get(owner_id, eid)
        if capture.state != CREATED:
            raise CaptureNotUploadable(f"the capture is {capture.state}, it takes no more parts")
        if bytesize != capture.bytesize:
            raise SizeMismatch(capture.bytesize, bytesize)
        if not 1 <= part_no <= capture.num_parts:
            raise InvalidPartNumber(part_no)
        upload = await self.parts.open_upload(capture.multipart_id, owner_id)
        return capture, url_for(upload, part_no)

    async def uploaded(self, owner_id: str, eid: str, parts: list[tuple[int, str]]) -> Capture:
        capture = await self.get(owner_id, eid)
        upload = await self.parts.get(capture.multipart_id, owner_id)
        if capture.state != CREATED and upload.state == COMPLETED:
            return capture  # a repeated completion answers the capture as it is
        await self.parts.complete(upload, parts, expected_size=capture.bytesize)
        job_id = None
        async with self.db.write() as s:
            result = await s.execute(
                update(Capture).where(Capture.eid == eid, Capture.state == CREATED)
                .values(state=UPLOADED, uploaded_at=db_time(0), sid=secrets.token_hex(16))
            )
            if result.rowcount == 1:  # queued in the same transaction: never UPLOADED without its job
                job_id = await add_job(s, PROCESS_KIND, eid, self.max_attempts)
        capture = await self.get(owner_id, eid)  # as completed, before a worker can move it on
        if job_id is not None:
            # If this message is lost (a crash right here), the sweep re-sends the queued job.
            await self.dispatch(job_id)
            log.info("capture %s uploaded (%d bytes), queued for processing", eid, capture.bytesize)
        return capture

    async def training(self, eid: str) -> Job | None:
        """The capture's splat training job (queued on the gpu queue once it has camera poses), if any."""
        async with self.db.read() as s:
            return (await s.execute(select(Job).where(Job.kind == TRAIN_KIND, Job.subject_id == eid))).scalar_one_or_none()

    async def set_public(self, owner_id: str, eid: str, is_public: bool) -> Capture:
        """The owner shares a capture (its share link opens without a key) or makes it private."""
        await self.get(owner_id, eid)
        async with self.db.write() as s:
            await s.execute(update(Capture).where(Capture.eid == eid).values(is_public=is_public))
        return await self.get(owner_id, eid)

    async def shared(self, sid: str, viewer: Callable[[], Awaitable[str | None]] | None = None) -> Capture:
        """The capture behind a share id: anyone may see a public one; a private one only its owner.
        `viewer()` names the owner whose key came with the request (None: no key); it is asked only for
        a private capture. Not shown is the same answer as unknown (its existence is not told)."""
        async with self.db.read() as s:
            capture = (await s.execute(select(Capture).where(Capture.sid == sid))).scalar_one_or_none()
        if capture is None:
            raise CaptureNotFound("Capture not found")
        if not capture.is_public and (viewer is None or await viewer() != capture.owner_id):
            raise CaptureNotFound("Capture not found")
        return capture
