"""Tour panoramas of a project's 360 videos: a file step that renders equirectangular stills along the
video, with where (GPS track) and when (creation time + offset) each was taken.

Whatever the layout (equirectangular, the dual fisheye of an `.insv`, an Insta360 lens pair in one
file), the stills are equirectangular: the walkthrough's converter (media.panoramas) makes them. One
still every `tour_video_interval_seconds`, at most `tour_video_max_nodes` per video, spread evenly.

Outputs, by role: `panorama_0001`… (JPEG) and `panoramas`, a JSON manifest the tour builder reads
(pipeline/tours.py; point-cloud conversion writes the same manifest for the panoramas of E57 scans):

    {"panoramas": [{"role": "panorama_0001", "time": 0.0, "taken_at": "2026-…", "gps": {"lat", "lng"}}]}

A video that cannot be converted keeps its record with `error` (FileFailed), not a failed project.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from omnidrop.jobs.outputs import keep_only
from omnidrop.pipeline.blobs import put_bytes, put_file
from omnidrop.pipeline.child import run_step
from omnidrop.pipeline.classify import Classification, Kind
from omnidrop.pipeline.file_steps import FileFailed, step
from omnidrop.walkthrough.placement import gps_at, point_times

if TYPE_CHECKING:
    from omnidrop.jobs.runner import JobContext

MANIFEST_ROLE = "panoramas"


def panorama_role(index: int) -> str:
    return f"panorama_{index:04d}"


def tour_times(duration: float, last_frame: float, interval: float, max_nodes: int) -> list[float]:
    """Evenly spread times from the first to the last frame, about `interval` apart, at most `max_nodes`."""
    count = int(max(0.0, duration) // max(interval, 0.1)) + 1
    count = max(1, min(count, max(1, max_nodes)))
    return [round(t, 3) for t in point_times(0.0, max(0.0, last_frame), count)] if count > 1 else [0.0]


def _creation_time(path: Path) -> datetime | None:
    from omnidrop.pipeline.media.probe import open_container  # PyAV only where used

    with open_container(path) as container:
        raw = dict(container.metadata).get("creation_time")
    try:
        moment = datetime.fromisoformat(raw.strip().replace("Z", "+00:00")) if raw else None
    except ValueError:
        return None
    return moment if moment is None or moment.year > 1970 else None  # 1970/1904 epochs mean "unset"


def _inspect(path: Path, name: str, fov: float):
    from omnidrop.pipeline.walkthrough_input import WalkVideo, inspect

    return inspect([WalkVideo(name, path)], fov), _creation_time(path)


@step(Kind.VIDEO_360)
async def tour_panoramas(ctx: JobContext, project_id: str, name: str, path: Path, kind: Classification) -> dict[str, str]:
    from omnidrop.pipeline.media.panoramas import PanoramaError
    from omnidrop.pipeline.media.probe import VideoRejected
    from omnidrop.pipeline.media.to_files import panoramas_into
    from omnidrop.pipeline.walkthrough_input import UnusableWalk

    settings, store = ctx.settings, ctx.services.store
    prefix = f"projects/{project_id}/panoramas/{name}"
    out = Path(tempfile.mkdtemp(prefix="omnidrop-tour-"))
    try:
        try:
            walk, created = await asyncio.to_thread(_inspect, path, name, settings.walkthrough_fisheye_fov)
            times = tour_times(walk.duration, walk.last_frame_time, settings.tour_video_interval_seconds,
                               settings.tour_video_max_nodes)
            made = await asyncio.to_thread(  # in a child process: its decoder memory goes with it
                run_step, settings, panoramas_into, walk.layout, times, out,
                quality=settings.walkthrough_panorama_quality)
        except UnusableWalk as exc:
            raise FileFailed(exc.code, f"no panoramas for the tour: {exc.reason}") from None
        except VideoRejected as exc:
            raise FileFailed(exc.code, f"no panoramas for the tour: {exc.reason}") from None
        except PanoramaError as exc:
            raise FileFailed("corrupt", f"no panoramas for the tour: {exc}") from None
        assets: dict[str, str] = {}
        entries = []
        fixes = sorted(walk.gps.fixes, key=lambda fix: fix.time)
        for pano in made:
            role = panorama_role(pano.index + 1)
            key = f"{prefix}/{role}.jpg"
            await put_file(store, key, out / f"frame_{pano.index + 1:04d}.jpg")
            assets[role] = key
            entry: dict = {"role": role, "time": round(pano.frame_time, 3)}
            if created is not None:
                entry["taken_at"] = (created + timedelta(seconds=pano.frame_time)).isoformat()
            where = gps_at(fixes, pano.frame_time)
            if where is not None:
                entry["gps"] = {"lat": round(where[0], 8), "lng": round(where[1], 8)}
            entries.append(entry)
        manifest = f"{prefix}/{MANIFEST_ROLE}.json"
        await put_bytes(store, manifest, json.dumps({"panoramas": entries}, separators=(",", ":")).encode())
        assets[MANIFEST_ROLE] = manifest
        # What an earlier run stored under other names (more nodes then) goes, after this run's are in.
        await keep_only(store, prefix, assets.values())
        return assets
    finally:
        await asyncio.to_thread(shutil.rmtree, out, True)
