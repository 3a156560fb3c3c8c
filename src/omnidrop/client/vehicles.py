"""The Vehicles 360 Video API: `POST /360/upload` (multipart, streamed from disk), frames, cleanup.

The upload is one request (the API has no resume; videos are at most 100 MB), so a failed one is sent
again whole; the local state records the job of a finished upload so a re-run does not upload twice.
"""

from __future__ import annotations

import mimetypes
import os
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from omnidrop.client.errors import ApiError, TransportError
from omnidrop.client.files import LocalFile
from omnidrop.client.progress import NoProgress, Progress
from omnidrop.client.transport import REQUEST_ERRORS, Transport

SIDES = ("OUTSIDE", "INSIDE", "OPEN")


class _CountingReader:
    """A file object httpx's multipart encoder reads from, reporting every block it hands out."""

    def __init__(self, f: LocalFile, progress: Progress) -> None:
        self._file = open(f.path, "rb")
        self._key = f.key
        self._progress = progress
        self._done = 0

    def read(self, n: int = -1) -> bytes:
        data = self._file.read(n if n and n > 0 else 256 * 1024)
        self._done += len(data)
        self._progress.update(self._key, self._done)
        return data

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        pos = self._file.seek(offset, whence)
        if whence == os.SEEK_SET and offset == 0:
            self._done = 0
        return pos

    def tell(self) -> int:
        return self._file.tell()

    def fileno(self) -> int:
        return self._file.fileno()

    def close(self) -> None:
        self._file.close()


@dataclass(frozen=True)
class Frames:
    job_id: str
    side: str
    urls: list[str]
    expires_in: int


class FramesNotReady(Exception):
    def __init__(self, state: str | None, progress: int | None) -> None:
        super().__init__(f"frames not ready (state {state}, {progress}%)")
        self.state = state
        self.progress = progress


class VehiclesAPI:
    def __init__(self, transport: Transport) -> None:
        self.t = transport

    def upload(self, f: LocalFile, vehicle_uuid: str, side: str, progress: Progress | None = None) -> dict:
        progress = progress or NoProgress()
        progress.start(f.key, f.name, f.size)
        failures = self.t.failures(f"upload {f.name}")
        mime = mimetypes.guess_type(f.name)[0] or "video/mp4"
        while True:
            f.check_unchanged()
            reader = _CountingReader(f, progress)
            try:
                r = self.t.send_once("POST", "/360/upload", data={"side": side.upper(), "vehicle_uuid": vehicle_uuid},
                                     files={"video": (f.name, reader, mime)})
                body = r.json()
                progress.update(f.key, f.size)
                progress.finish(f.key)
                return body
            except REQUEST_ERRORS as exc:
                failures.retry(exc)
            finally:
                reader.close()
            progress.update(f.key, 0)

    def frames(self, job_id: str, side: str) -> Frames:
        """The frame URLs; FramesNotReady while the job runs (404 FRAMES_NOT_READY)."""
        try:
            # PROCESSING_FAILED is a 500 that states a result: asking again will not change it.
            body = self.t.json("GET", "/360/frames", params={"job_id": job_id, "side": side.upper()},
                               final_codes=frozenset({"PROCESSING_FAILED"}))
        except ApiError as exc:
            if exc.code == "FRAMES_NOT_READY":
                d = exc.details
                raise FramesNotReady(d.get("state"), d.get("progress")) from None
            raise
        return Frames(body["job_id"], body["side"], list(body["frames"]), int(body.get("expires_in", 0)))

    def wait_frames(self, job_id: str, side: str, *, timeout: float | None = None, interval: float = 2.0,
                    on_wait=None) -> Frames:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                return self.frames(job_id, side)
            except FramesNotReady as exc:
                if on_wait:
                    on_wait(exc)
                if deadline is not None and time.monotonic() >= deadline:
                    raise
                time.sleep(interval)

    def download(self, urls: list[str], into: Path, progress: Progress | None = None) -> list[Path]:
        """Stream each signed URL to a file in `into` (named by the URL's last path segment)."""
        into.mkdir(parents=True, exist_ok=True)
        out = []
        for url in urls:
            name = Path(urlsplit(url).path).name or f"frame_{len(out) + 1:04d}.jpg"
            target = into / name
            failures = self.t.failures(f"download {name}")
            while True:
                try:
                    tmp = target.with_name(target.name + ".part")
                    with self.t.http.stream("GET", url) as r:
                        if r.status_code >= 400:
                            r.read()
                            raise ApiError.from_response(r)
                        with open(tmp, "wb") as fh:
                            for block in r.iter_bytes(256 * 1024):
                                fh.write(block)
                    os.replace(tmp, target)
                    break
                except REQUEST_ERRORS as exc:
                    failures.retry(exc)
            out.append(target)
        return out

    def cleanup(self, vehicle_uuid: str, side: str, remove_frames: bool = True) -> dict:
        return self.t.json("DELETE", "/360/cleanup",
                           params={"vehicle_uuid": vehicle_uuid, "side": side.upper(),
                                   "remove_frames": str(remove_frames).lower()})

    def vehicle(self, vehicle_uuid: str) -> dict:
        return self.t.json("GET", f"/360/vehicles/{vehicle_uuid}")


__all__ = ["SIDES", "Frames", "FramesNotReady", "TransportError", "VehiclesAPI"]
