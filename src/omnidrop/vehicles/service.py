"""Vehicles, their side videos and frames: the records behind the 360 API, independent of HTTP."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select

from omnidrop.db.engine import Database
from omnidrop.db.models import Job, Vehicle, VehicleMask, VehicleVideo
from omnidrop.db.types import utcnow
from omnidrop.jobs.dispatch import Dispatch
from omnidrop.jobs.store import add_job
from omnidrop.pipeline.media.naming import frame_name
from omnidrop.storage.base import BlobStore
from omnidrop.uploads.ids import new_id
from omnidrop.vehicles.errors import FramesNotReady, JobNotFound, ProcessingFailed, VehicleNotFound
from omnidrop.vehicles.intake import StoredVideo

FRAMES_KIND = "vehicle.frames"
QUEUED, PROCESSING, READY, FAILED = "queued", "processing", "ready", "failed"


def video_prefix(vehicle_uuid: str, side: str, video_id: str) -> str:
    """Where a video's derived assets live: frames/ and masks/ below it."""
    return f"vehicles/{vehicle_uuid}/{side}/{video_id}"


def frame_keys(video: VehicleVideo) -> list[str]:
    return [f"{video.frames_prefix}/{frame_name(i)}" for i in range(1, (video.frame_count or 0) + 1)]


@dataclass(frozen=True)
class Cleaned:
    videos: int
    frames: int


class VehicleService:
    def __init__(self, db: Database, store: BlobStore, max_attempts: int, *, dispatch: Dispatch) -> None:
        self.db = db
        self.store = store
        self.max_attempts = max_attempts
        self.dispatch = dispatch

    # -- vehicles ---------------------------------------------------------------------------
    async def create(self, owner_id: str, vehicle_uuid: str, name: str | None) -> Vehicle:
        async with self.db.write() as s:
            vehicle = await _vehicle(s, owner_id, vehicle_uuid)
            if vehicle is None:
                vehicle = Vehicle(id=new_id(16), owner_id=owner_id, uuid=vehicle_uuid, name=name, created_at=utcnow())
                s.add(vehicle)
            elif name is not None:
                vehicle.name = name
        return vehicle

    async def list(self, owner_id: str) -> list[Vehicle]:
        async with self.db.read() as s:
            return list(await s.scalars(select(Vehicle).where(Vehicle.owner_id == owner_id).order_by(Vehicle.created_at)))

    async def get(self, owner_id: str, vehicle_uuid: str) -> tuple[Vehicle, list[VehicleVideo]]:
        async with self.db.read() as s:
            vehicle = await _vehicle(s, owner_id, vehicle_uuid)
            if vehicle is None:
                raise VehicleNotFound(f"no vehicle {vehicle_uuid}")
            videos = await s.scalars(
                select(VehicleVideo).where(VehicleVideo.vehicle_id == vehicle.id).order_by(VehicleVideo.created_at)
            )
            return vehicle, list(videos)

    # -- uploads and frames -----------------------------------------------------------------
    async def accept(self, owner_id: str, vehicle_uuid: str, side: str, video_id: str, stored: StoredVideo) -> str:
        """Record the stored video and queue its frames job in one transaction; returns the job id."""
        try:
            job_id = await self._record(owner_id, vehicle_uuid, side, video_id, stored)
        except BaseException:
            await self.store.delete(stored.key)  # nothing refers to it: do not leave it behind
            raise
        await self.dispatch(job_id)
        return job_id

    async def _record(self, owner_id: str, vehicle_uuid: str, side: str, video_id: str, stored: StoredVideo) -> str:
        async with self.db.write() as s:
            vehicle = await _vehicle(s, owner_id, vehicle_uuid)
            if vehicle is None:  # a client's own vehicle UUID: its record is made on first upload
                vehicle = Vehicle(id=new_id(16), owner_id=owner_id, uuid=vehicle_uuid, created_at=utcnow())
                s.add(vehicle)
                await s.flush()
            job_id = await add_job(s, FRAMES_KIND, video_id, self.max_attempts)
            s.add(VehicleVideo(
                id=video_id, vehicle_id=vehicle.id, side=side, job_id=job_id, blob_key=stored.key,
                original_filename=stored.original_filename, size=stored.size, mime_type=stored.mime_type,
                state=QUEUED, frames_prefix=f"{video_prefix(vehicle_uuid, side, video_id)}/frames", created_at=utcnow(),
            ))
        return job_id

    async def by_job(self, owner_id: str, job_id: str, side: str) -> VehicleVideo:
        async with self.db.read() as s:
            video = (await s.execute(
                select(VehicleVideo).join(Vehicle)
                .where(VehicleVideo.job_id == job_id, VehicleVideo.side == side, Vehicle.owner_id == owner_id)
            )).scalar_one_or_none()
        if video is None:
            raise JobNotFound(f"no {side} job {job_id}")
        return video

    async def progress(self, job_id: str) -> int:
        """The frames job's progress, 0..100."""
        async with self.db.read() as s:
            job = await s.get(Job, job_id)
        return int(100 * job.progress) if job is not None else 0

    async def latest_ready(self, owner_id: str, vehicle_uuid: str, side: str) -> VehicleVideo:
        """The newest processed video of a vehicle side (what mask frames are about)."""
        async with self.db.read() as s:
            videos = list(await s.scalars(
                select(VehicleVideo).join(Vehicle)
                .where(Vehicle.owner_id == owner_id, Vehicle.uuid == vehicle_uuid, VehicleVideo.side == side)
                .order_by(VehicleVideo.created_at.desc())
            ))
        ready = [v for v in videos if v.state == READY and v.frame_count is not None]
        if ready:
            return ready[0]
        if videos and videos[0].state == FAILED:
            raise_failed(videos[0])
        raise FramesNotReady(f"no processed {side} frames for vehicle {vehicle_uuid} yet")

    async def mask_counts(self, video_ids: list[str]) -> dict[str, int]:
        """How many mask frames each video has (the web app asks for masks only where there are some)."""
        if not video_ids:
            return {}
        async with self.db.read() as s:
            rows = await s.execute(select(VehicleMask.video_id, func.count()).where(VehicleMask.video_id.in_(video_ids))
                                   .group_by(VehicleMask.video_id))
            return {video_id: int(n) for video_id, n in rows.all()}

    async def masks(self, video_id: str) -> list[VehicleMask]:
        async with self.db.read() as s:
            return list(await s.scalars(
                select(VehicleMask).where(VehicleMask.video_id == video_id).order_by(VehicleMask.frame)
            ))

    # -- cleanup ----------------------------------------------------------------------------
    async def cleanup(self, owner_id: str, vehicle_uuid: str, side: str, remove_frames: bool) -> Cleaned:
        """Delete the side's uploaded videos; with remove_frames also their frames, masks and records."""
        async with self.db.read() as s:
            vehicle = await _vehicle(s, owner_id, vehicle_uuid)
            if vehicle is None:
                raise VehicleNotFound(f"no vehicle {vehicle_uuid}")
            videos = list(await s.scalars(
                select(VehicleVideo).where(VehicleVideo.vehicle_id == vehicle.id, VehicleVideo.side == side)
            ))
        removed_videos = removed_frames = 0
        for video in videos:
            if video.blob_key:
                await self.store.delete(video.blob_key)
                removed_videos += 1
            if remove_frames:
                removed_frames += video.frame_count or 0
                await self.store.delete_prefix(video_prefix(vehicle_uuid, side, video.id))
        async with self.db.write() as s:
            ids = [v.id for v in videos]
            if remove_frames:
                await s.execute(delete(VehicleMask).where(VehicleMask.video_id.in_(ids)))
                await s.execute(delete(VehicleVideo).where(VehicleVideo.id.in_(ids)))
            else:
                for video in videos:
                    row = await s.get(VehicleVideo, video.id)
                    if row is not None:
                        row.blob_key = None
        return Cleaned(removed_videos, removed_frames)


def ready_frames(video: VehicleVideo) -> list[str]:
    """The frame keys of a video, or the spec's refusal while it is not processed."""
    if video.state == FAILED:
        raise_failed(video)
    if video.state != READY or video.frame_count is None:
        raise FramesNotReady(f"frames of job {video.job_id} are not ready yet ({video.state})", state=video.state)
    return frame_keys(video)


def raise_failed(video: VehicleVideo) -> None:
    raise ProcessingFailed(f"frame extraction failed: {video.error_message or video.error_code}",
                           reason=video.error_code)


async def _vehicle(s, owner_id: str, vehicle_uuid: str) -> Vehicle | None:
    return (await s.execute(
        select(Vehicle).where(Vehicle.owner_id == owner_id, Vehicle.uuid == vehicle_uuid)
    )).scalar_one_or_none()
