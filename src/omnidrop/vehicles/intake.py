"""Receiving POST /360/upload: the form streamed part by part, the video straight into the blob store.

The video is counted and sniffed as it flows: past the cap it stops (FILE_TOO_LARGE), and content
that opens no accepted container is refused (INVALID_FILE_TYPE) after its first bytes, whatever the
name says. Text fields that arrive before the file are checked first, so a bad side costs nothing.
"""

from __future__ import annotations

import mimetypes
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from omnidrop.protocols.multipart_form import FormStream, Part
from omnidrop.storage.base import BlobStore
from omnidrop.telemetry.context import body_counted
from omnidrop.telemetry.metrics import STORAGE_ERRORS
from omnidrop.uploads.names import MAX_NAME_BYTES, safe_filename
from omnidrop.vehicles.errors import FileTooLarge, InvalidFileType, MissingVideoFile, UploadFailed, VehicleError
from omnidrop.vehicles.sides import VIDEO_EXTENSIONS, parse_side, parse_vehicle_uuid, video_extension

VIDEO_FIELDS = ("video", "file")
SNIFF_BYTES = 64
_FIELD_ALIASES = {"vehicleUuid": "vehicle_uuid", "vehicle_id": "vehicle_uuid", "vehicleId": "vehicle_uuid"}


@dataclass
class StoredVideo:
    key: str
    original_filename: str
    size: int
    mime_type: str


@dataclass
class Received:
    side: str
    vehicle_uuid: str
    video: StoredVideo
    fields: dict[str, str] = field(default_factory=dict)


async def receive(form: FormStream, store: BlobStore, max_bytes: int, key_prefix: str) -> Received:
    """Read the whole form; the stored video is deleted again if anything about the form is wrong."""
    fields: dict[str, str] = {}
    video: StoredVideo | None = None
    try:
        async for part in form.parts():
            if part.filename is None:
                name = _FIELD_ALIASES.get(part.name, part.name)
                fields[name] = (await part.text()).strip()
                _check_early(fields)
            elif part.name in VIDEO_FIELDS and video is None and part.filename:
                video = await _store_video(part, store, max_bytes, key_prefix)
        side = parse_side(fields.get("side"))
        # The document's form has only the video and the side: without a UUID the upload starts a new vehicle.
        given = fields.get("vehicle_uuid")
        vehicle_uuid = parse_vehicle_uuid(given) if given else str(uuid.uuid4())
        if video is None:
            raise MissingVideoFile(f"send the video as a file in the form field {VIDEO_FIELDS[0]!r}")
    except BaseException:
        if video is not None:
            await store.delete(video.key)
        raise
    return Received(side, vehicle_uuid, video, fields)


def _check_early(fields: dict[str, str]) -> None:
    if "side" in fields:
        parse_side(fields["side"])
    if fields.get("vehicle_uuid"):
        parse_vehicle_uuid(fields["vehicle_uuid"])


async def _store_video(part: Part, store: BlobStore, max_bytes: int, key_prefix: str) -> StoredVideo:
    # The one naming rule (uploads/names.py): the form's file name is what original_filename echoes,
    # cleaned and cut to 255 bytes (keeping the extension) but never refused, since the spec has no
    # error for a name; the extension is judged on the cleaned name.
    name = safe_filename(part.filename or "", fallback="", max_bytes=MAX_NAME_BYTES)
    ext = video_extension(name)
    if ext is None:
        raise InvalidFileType(f"{name!r} is not a supported video; accepted: {' '.join(VIDEO_EXTENSIONS)}")
    key = f"{key_prefix}/video{ext}"

    async def checked() -> AsyncIterator[bytes]:
        head, total = b"", 0
        async for chunk in part.chunks():
            total += len(chunk)
            if total > max_bytes:
                raise FileTooLarge(f"the video exceeds the {max_bytes} byte limit", limit=max_bytes)
            if len(head) < SNIFF_BYTES:
                head += chunk[: SNIFF_BYTES - len(head)]
                if len(head) >= SNIFF_BYTES:
                    _sniff(head)
            yield chunk
        if len(head) < SNIFF_BYTES:
            _sniff(head)

    try:
        size = await store.write(key, 0, checked())
        await store.finalize(key, size)
    except VehicleError:
        await store.delete(key)
        raise
    except Exception as exc:  # the store refused (disk, S3): the spec's UPLOAD_FAILED
        STORAGE_ERRORS.labels("upload").inc()
        await _quietly_delete(store, key)
        raise UploadFailed(f"storing the video failed: {type(exc).__name__}: {exc}") from exc
    body_counted(size, size)
    mime = mimetypes.guess_type(f"x{ext}")[0] or part.content_type or "application/octet-stream"
    return StoredVideo(key, name, size, "video/quicktime" if ext == ".qt" else mime)


def _sniff(head: bytes) -> None:
    # Imported here: PyAV is heavy, and an API process that never takes a vehicle video never needs it.
    from omnidrop.pipeline.media.probe import sniff

    if sniff(head) is None:
        raise InvalidFileType("the file's content is not a supported video container")


async def _quietly_delete(store: BlobStore, key: str) -> None:
    try:
        await store.delete(key)
    except Exception:
        pass  # the store is failing already; the original error is the one to report
