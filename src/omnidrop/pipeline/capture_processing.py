"""The `capture.process` job: a capture's input becomes JPEG frames, thumbnails, a preview, a GIF, and
camera poses with a sparse point cloud (pycolmap, pipeline/reconstruction.py).

- video: validated by content with the probe, then `num_frames` evenly spaced frames (when the
  capture gave one) or frames at `capture_frames_fps` (5 by default) with the frame extractor;
- bulk-images: the zip is unpacked with the safe archive code, only real images (by content) are
  kept, in path order, and normalised to JPEG;
- commonformat-ios (the API's default): the content decides which of the two it is.

State: UPLOADED -> PROCESSING -> FINISHED, or FAILED with `error_reason` (INVALID_INPUT when the
input cannot give frames or its frames give no 3D model, PROCESSING_ERROR when processing itself kept
failing), a specific `error_reason_slug` and the human reason in `state_description`.

Camera poses: COLMAP's pipeline on the frames. The capture records `cameras` (one world-from-camera
4x4 per registered frame, row-major), a `video_trajectory` for video captures, and stores the COLMAP
text export and `sparse.ply` under `sparse/`. A photo set whose frames carried GPS positions (kept per
frame as `gps`) is placed on the Earth (pipeline/georegistration.py): `reconstruction.geo` holds the
model-to-East-North-Up transform, or `reconstruction.geo_reason` says why the model has none. Frames that give no model (too few, featureless, no
overlap, no parallax, too few registered) FAIL the capture (INVALID_INPUT, slug `too-few-frames`,
`featureless`, `no-overlap`, `degenerate-motion`, `too-few-registered`); like every capture that failed
for good it keeps only its input (OUTPUTS): no frames, preview or GIF are shown. With poses, the same
transaction that makes the capture FINISHED queues its `capture.train` job on the `gpu` queue; the
state description says the splat waits for a GPU worker until one trains it.

Idempotent: every output's key follows from the input (frames/frame_0001.jpg ...), blobs are
overwritten and stale ones dropped, so a re-run after a crash ends with the same outputs.
Progress: frames 0..35 %, storing frames and thumbnails 35..50 %, preview and GIF 50..55 %, poses 55..100 %.
"""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import tempfile
from pathlib import Path

from sqlalchemy import select, update

from omnidrop.auth.quotas import QuotaExceeded, QuotaMeter, Quotas
from omnidrop.captures.service import (
    FAILED, FINISHED, GPU_QUEUE, PROCESSING, TRAIN_KIND, UPLOADED, CaptureService, outputs_prefix,
)
from omnidrop.db.models import Capture, Job
from omnidrop.jobs.errors import JobFailed
from omnidrop.jobs.outputs import Outputs, folder_per_subject, keep_only, rows_with_ids
from omnidrop.jobs.runner import JobContext
from omnidrop.jobs.store import DONE, RUNNING, add_job
from omnidrop.pipeline.archive import ArchiveRejected, UnpackLimits, is_archive, unpack
from omnidrop.pipeline.blobs import local_copy, put_bytes, put_file
from omnidrop.pipeline.child import run_step
from omnidrop.pipeline.georegistration import register
from omnidrop.pipeline.image_frames import frames_from_files
from omnidrop.pipeline.previews import PreviewError, make_gif, make_preview
from omnidrop.pipeline.reconstruction import PLY_NAME, TEXT_FILES, MappingFailed, reconstruct
from omnidrop.pipeline.thumbnails import ThumbnailError, make_thumbnail
from omnidrop.pipeline.video_frames import extract_video_frames

FRAMES, STORE, PREVIEW = 0.35, 0.50, 0.55  # where each phase ends on the progress scale
INVALID_INPUT, PROCESSING_ERROR = "INVALID_INPUT", "PROCESSING_ERROR"
STORAGE_QUOTA = "STORAGE_QUOTA_EXCEEDED"  # the error_reason of a capture that ran out of the owner's quota
SKIPPED_LISTED = 100  # skipped archive entries named in the outputs (the count is always given)


def error_slug(code: str) -> str:
    """`unsupported_format` -> `unsupported-format`: the slug form of a job failure code."""
    return code.replace("_", "-")


def error_reason(code: str) -> str:
    if code == "processing_failed":
        return PROCESSING_ERROR
    return STORAGE_QUOTA if code == QuotaExceeded.code else INVALID_INPUT


async def run(ctx: JobContext) -> None:
    eid = ctx.job.subject_id
    async with ctx.services.db.read() as s:
        capture = await s.get(Capture, eid)
    if capture is None or capture.state in (FINISHED, FAILED):
        return
    await _set(ctx, eid, state=PROCESSING, state_description="making frames")
    workdir = Path(tempfile.mkdtemp(prefix=f"omnidrop-capture-{eid}-"))
    try:
        frames_dir = workdir / "frames"
        frames_dir.mkdir()
        input_key = CaptureService.input_key(eid, capture.input_data_format)
        async with local_copy(ctx.services.store, input_key, workdir) as path:
            frames, source = await _frames(ctx, capture, path, workdir, frames_dir)
        outputs = await _store(ctx, eid, frames_dir, frames)
        await _set(ctx, eid, state_description="finding camera poses")
        poses = await _poses(ctx, eid, frames_dir, frames, source, workdir)
    finally:
        await asyncio.to_thread(shutil.rmtree, workdir, True)
        await _drop_if_deleted(ctx, eid)
    merged = {**(capture.outputs or {}), **outputs, **poses, "input": source}
    summary = f"{len(frames)} frames ready; " + posed_summary(poses["reconstruction"])
    await _finish_and_queue_training(ctx, eid, merged, summary)


def posed_summary(recon: dict) -> str:
    return (f"camera poses for {recon['registered']} of {recon['total']} frames (mean reprojection error "
            f"{recon['mean_reprojection_error']:.2f} px), sparse point cloud of {recon['points']} points")


WAITING_FOR_GPU = "the splat waits for a GPU worker (omnidrop worker --queue gpu)"


async def _finish_and_queue_training(ctx: JobContext, eid: str, outputs: dict, summary: str) -> None:
    """FINISHED and the training job queued in one transaction: never a posed capture without its job."""
    job_id = None
    async with ctx.services.db.write() as s:
        live = Capture.state.in_((UPLOADED, PROCESSING))
        job = (await s.execute(select(Job).where(Job.kind == TRAIN_KIND, Job.subject_id == eid))).scalar_one_or_none()
        waiting = job is None or job.state not in (DONE, RUNNING)
        result = await s.execute(update(Capture).where(Capture.eid == eid, live).values(
            state=FINISHED, outputs=outputs, error_reason=None, error_reason_slug=None,
            state_description=f"{summary}; {WAITING_FOR_GPU}" if waiting else summary))
        if result.rowcount == 1:
            if job is None:
                job_id = await add_job(s, TRAIN_KIND, eid, ctx.settings.job_max_attempts, queue=GPU_QUEUE)
            elif waiting:
                job_id = job.id  # queued already (a re-run): its message may have been lost with us
    if job_id is not None:
        await ctx.services.dispatch(job_id, queue=GPU_QUEUE)


async def failed(ctx: JobContext, code: str, message: str) -> None:
    await _set(ctx, ctx.job.subject_id, state=FAILED, error_reason=error_reason(code),
               error_reason_slug=error_slug(code), state_description=message)


async def _set(ctx: JobContext, eid: str, **values) -> None:
    async with ctx.services.db.write() as s:
        # Never move a capture backwards: a late duplicate must not undo FINISHED or FAILED.
        live = Capture.state.in_((UPLOADED, PROCESSING))
        await s.execute(update(Capture).where(Capture.eid == eid, live).values(**values))


async def _drop_if_deleted(ctx: JobContext, eid: str) -> None:
    """A capture deleted while it was processed: remove whatever this run wrote after the delete."""
    async with ctx.services.db.read() as s:
        gone = await s.get(Capture, eid) is None
    if gone:
        await ctx.services.store.delete_prefix(outputs_prefix(eid))


# -- frames ------------------------------------------------------------------------------------


async def _frames(ctx: JobContext, capture: Capture, path: Path, workdir: Path, dest: Path):
    """(frames [(name, width, height, source, gps)], what the input was) or JobFailed."""
    kind = capture.input_data_format
    if kind == "commonformat-ios":  # no fixed format: go by the content
        kind = "bulk-images" if await asyncio.to_thread(is_archive, path) else "video"
    if kind == "bulk-images":
        return await _images(ctx, capture, path, workdir, dest)
    return await _video(ctx, capture, path, dest)


async def _video(ctx: JobContext, capture: Capture, path: Path, dest: Path):
    from omnidrop.pipeline.media.probe import VideoRejected, probe

    try:
        info = await asyncio.to_thread(run_step, ctx.settings, probe, path)  # decodes a frame: in a child too
    except VideoRejected as exc:
        raise JobFailed(exc.code, f"the video capture's file is not a usable video: {exc.reason}") from None
    # More frames than the video has would only repeat frames.
    count = min(capture.num_frames, max(1, info.frame_count)) if capture.num_frames else None
    result = await extract_video_frames(ctx, path, dest, count=count, fps=ctx.settings.capture_frames_fps,
                                        quality=ctx.settings.capture_frame_quality, progress_end=FRAMES)
    frames = [(name, result.width, result.height, None, None) for name in result.names]
    video = {k: v for k, v in dataclasses.asdict(info).items() if k not in ("color", "coded_width", "coded_height")}
    return frames, {"format": "video", "video": video, "num_frames": count,
                    "fps": None if count else ctx.settings.capture_frames_fps,
                    **({"decode_skipped": [span.as_dict() for span in result.corrupt]} if result.corrupt else {})}


async def _images(ctx: JobContext, capture: Capture, path: Path, workdir: Path, dest: Path):
    s = ctx.settings
    limits = UnpackLimits(max_entries=s.archive_max_entries, max_total_bytes=s.archive_max_total_bytes,
                          max_ratio=s.archive_max_ratio, max_depth=s.archive_max_depth)
    unpacked = workdir / "unpacked"
    # Unpacked bytes count against the owner's quota as they are written, as a project's do (docs/
    # hardening-inputs.md): a small zip that unpacks past what the owner has left stops there.
    async with ctx.services.db.read() as session:
        meter = await _quotas(ctx).meter(session, capture.owner_id)
    try:
        files = await asyncio.to_thread(unpack, path, unpacked, limits, meter)
    except ArchiveRejected as exc:
        code = "not_a_zip" if exc.code == "not_archive" else f"archive_{exc.code}"
        raise JobFailed(code, f"the bulk-images capture's zip was refused: {exc.reason}") from None
    except QuotaExceeded as exc:  # unpack removed what it wrote; the runner drops the outputs (OUTPUTS)
        raise JobFailed(exc.code, f"the bulk-images capture's zip unpacks past the storage quota: {exc}") from None
    await ctx.progress(FRAMES / 3)
    found = await asyncio.to_thread(frames_from_files, files, dest, s.capture_frame_quality)
    await asyncio.to_thread(shutil.rmtree, unpacked, True)  # the frames are copies: free the disk now
    if not found.frames:
        raise JobFailed("no_images", f"the zip holds no usable images ({len(files)} files, none an image "
                                     "that decodes)")
    _charge_frames(meter, dest, found.frames)
    await ctx.progress(FRAMES)
    frames = [(f.name, f.width, f.height, f.source, f.gps) for f in found.frames]
    return frames, {"format": "bulk-images", "images": len(found.frames), "skipped_count": len(found.skipped),
                    "skipped": list(found.skipped[:SKIPPED_LISTED])}


def _quotas(ctx: JobContext) -> Quotas:
    return ctx.services.uploads.quotas or Quotas(ctx.settings.default_storage_quota_bytes)


def _charge_frames(meter: QuotaMeter, dest: Path, frames) -> None:
    """The frames are what stays stored of the zip's images, and they are re-encoded copies: a PNG,
    WebP or HEIC can give a larger JPEG, so the unpacked bytes do not bound them. The unpacked entries
    are gone by now; the meter gives their bytes back and takes the frames', before any is stored."""
    meter.refund(meter.charged)
    try:
        meter.charge(sum((dest / f.name).stat().st_size for f in frames))
    except QuotaExceeded as exc:
        raise JobFailed(exc.code, f"the bulk-images capture's frames would pass the storage quota: {exc}") from None


# -- outputs -----------------------------------------------------------------------------------


async def _store(ctx: JobContext, eid: str, frames_dir: Path, frames: list) -> dict:
    store, prefix = ctx.services.store, outputs_prefix(eid)
    listed = []
    for i, (name, width, height, source, where) in enumerate(frames, 1):
        frame_key, thumb_key = f"{prefix}/frames/{name}", f"{prefix}/thumbnails/{name}"
        await put_file(store, frame_key, frames_dir / name)
        try:
            thumb = await asyncio.to_thread(make_thumbnail, frames_dir / name, ctx.settings.thumbnail_max_edge)
        except ThumbnailError as exc:  # our own JPEGs: this would be a bug, worth a retry and a log
            raise RuntimeError(str(exc)) from exc
        await put_bytes(store, thumb_key, thumb)
        entry = {"name": name, "key": frame_key, "thumbnail_key": thumb_key, "width": width, "height": height}
        if source is not None:
            entry["source"] = source
        if where:
            entry["gps"] = where
        listed.append(entry)
        await ctx.progress(FRAMES + (STORE - FRAMES) * i / len(frames))
    names = {f[0] for f in frames}
    for folder in ("frames", "thumbnails"):  # what an earlier run made that this one did not
        await keep_only(store, f"{prefix}/{folder}", {f"{prefix}/{folder}/{n}" for n in names}, nested=True)
    paths = [frames_dir / f[0] for f in frames]
    try:
        preview = await asyncio.to_thread(make_preview, paths)
        gif = await asyncio.to_thread(make_gif, paths, ctx.settings.capture_gif_max_bytes)
    except PreviewError as exc:
        raise JobFailed("preview_failed", str(exc)) from None
    await put_bytes(store, f"{prefix}/preview.jpg", preview)
    await put_bytes(store, f"{prefix}/preview.gif", gif)
    await ctx.progress(PREVIEW)
    return {"frames": listed, "frame_count": len(listed), "preview_key": f"{prefix}/preview.jpg",
            "gif_key": f"{prefix}/preview.gif"}


# -- camera poses ------------------------------------------------------------------------------

SPARSE_ZIP = "colmap-text.zip"


def sparse_keys(eid: str) -> dict[str, str]:
    """Where the COLMAP export lives: each text file, the three zipped, and the point cloud."""
    prefix = f"{outputs_prefix(eid)}/sparse"
    keys = {name: f"{prefix}/{name}" for name in TEXT_FILES}
    return {**keys, "zip": f"{prefix}/{SPARSE_ZIP}", "ply": f"{prefix}/{PLY_NAME}"}


async def _poses(ctx: JobContext, eid: str, frames_dir: Path, frames: list, source: dict, workdir: Path) -> dict:
    """Run COLMAP on the frames; store its export; return the outputs to merge (cameras, trajectory,
    reconstruction). A model that cannot be made is recorded as such, its stale export removed."""
    store, keys = ctx.services.store, sparse_keys(eid)
    prefix = f"{outputs_prefix(eid)}/sparse"
    names = [f[0] for f in frames]
    video = source.get("format") == "video"
    sfm = workdir / "sfm"

    gps_by_name = {f[0]: f[4] for f in frames if f[4]}

    def work(progress):
        return run_step(ctx.settings, reconstruct_and_register, frames_dir, names, sfm, gps_by_name, video=video,
                        vocab_tree=str(ctx.settings.capture_vocab_tree_path or "") or None, progress=progress)

    try:
        result = await ctx.on_thread(work, start=PREVIEW, end=0.95)
    except MappingFailed as exc:
        # Final: the same frames give the same answer. The runner records FAILED (`failed`) and removes
        # what the attempts stored (OUTPUTS), as for any capture that failed for good.
        frames_said = f"{len(names)} frame" + ("" if len(names) == 1 else "s")
        raise JobFailed(exc.code, f"no 3D model could be made from the {frames_said}: {exc.message}") from None
    sparse = sfm / "sparse"
    await asyncio.to_thread(_zip_text, sparse, sparse / SPARSE_ZIP)
    for name in TEXT_FILES:
        await put_file(store, keys[name], sparse / name)
    await put_file(store, keys["zip"], sparse / SPARSE_ZIP)
    await put_file(store, keys["ply"], sparse / PLY_NAME)
    await keep_only(store, prefix, set(keys.values()))
    await ctx.progress(1.0)
    cameras = [[v for row in f["world_from_camera"] for v in row] for f in result["frames"]]
    trajectory = None
    if video:
        fps = source.get("fps") or (len(names) / max(source["video"]["duration"], 1e-6))
        trajectory = {"fps": round(float(fps), 6), "keyframes": [{"matrix": m} for m in cameras]}
    return {"cameras": cameras, "video_trajectory": trajectory,
            "reconstruction": {"state": "done", **result, "keys": keys}}


def reconstruct_and_register(frames_dir: Path, names: list[str], workdir: Path, gps_by_name: dict, **kwargs) -> dict:
    """The model (reconstruction.reconstruct) with its placement on the Earth (`geo`) or why it has none
    (`geo_reason`). One child step: the fit needs pycolmap, which the long-lived worker does not load."""
    result = reconstruct(frames_dir, names, workdir, **kwargs)
    if not gps_by_name:
        return {**result, "geo_reason": "the frames carry no GPS positions"}
    return {**result, **register(result["frames"], gps_by_name)}


def _zip_text(folder: Path, dest: Path) -> None:
    import zipfile

    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in TEXT_FILES:
            zf.write(folder / name, name)


# -- outputs (jobs/outputs.py): captures/<eid>/frames|thumbnails/..., preview.jpg|gif ---------------
# The uploaded input lies beside them (captures/<eid>/input.<ext>) and is not an output.


async def _failed_outputs(services, eid: str) -> list[str]:
    """A capture that failed for good shows no frames: what its attempts stored goes."""
    async with services.db.read() as s:
        capture = await s.get(Capture, eid)
    return [outputs_prefix(eid)] if capture is not None else []


async def _input_of(services, eid: str) -> set[str]:
    async with services.db.read() as s:
        capture = await s.get(Capture, eid)
    return {CaptureService.input_key(eid, capture.input_data_format)} if capture is not None else set()


OUTPUTS = Outputs(of_failed_subject=_failed_outputs, root="captures",
                  subject_prefix=folder_per_subject("captures"), existing=rows_with_ids(Capture.eid), kept_on_failure=_input_of)
