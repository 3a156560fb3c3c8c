"""tus 1.0.0 and the IETF resumable-upload draft (interop 6) at `/files/`.

Same loop as the chunked API: HEAD for the offset, PATCH from there, on 409 take the offset the server
states, on 5xx / network errors back off and HEAD again. One PATCH per upload at a time.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import httpx

from omnidrop.client.errors import ApiError
from omnidrop.client.files import LocalFile, read_range
from omnidrop.client.progress import NoProgress, Progress
from omnidrop.client.resume_loop import DEFAULT_CHUNK, ResumeLoop
from omnidrop.client.transport import Transport

TUS = {"Tus-Resumable": "1.0.0"}
IETF_INTEROP = "6"


def encode_metadata(meta: dict[str, str]) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in meta.items())


@dataclass(frozen=True)
class ResumableState:
    offset: int
    length: int | None
    complete: bool


class ResumableAPI:
    """`protocol` is "tus" or "ietf"; `path` is the server's tus path (`/files/`)."""

    def __init__(self, transport: Transport, protocol: str = "tus", path: str = "/files/") -> None:
        if protocol not in ("tus", "ietf"):
            raise ValueError(f"protocol must be tus or ietf, not {protocol!r}")
        self.t = transport
        self.protocol = protocol
        self.path = "/" + path.strip("/") + "/"

    def _headers(self) -> dict[str, str]:
        return dict(TUS) if self.protocol == "tus" else {"Upload-Draft-Interop-Version": IETF_INTEROP}

    def create(self, size: int, metadata: dict[str, str]) -> str:
        """A new upload of `size` bytes; returns its absolute URL."""
        h = self._headers()
        if self.protocol == "tus":
            h.update({"Upload-Length": str(size), "Upload-Metadata": encode_metadata(metadata)})
        else:
            # An empty file is complete on creation; anything else is appended to.
            h.update({"Upload-Complete": "?1" if size == 0 else "?0", "Upload-Length": str(size), "Content-Length": "0",
                      "Upload-Metadata": encode_metadata(metadata)})
        response = self.t.call("POST", self.path, headers=h)
        return str(httpx.URL(self.t.base_url + "/").join(response.headers["location"]))

    def state(self, url: str) -> ResumableState | None:
        """Offset of an upload; None when it is unknown, gone or expired (404/410)."""
        try:
            r = self.t.call("HEAD", url, headers=self._headers())
        except ApiError as exc:
            if exc.status in (404, 410):
                return None
            raise
        length = r.headers.get("upload-length")
        offset = int(r.headers["upload-offset"])
        complete = (r.headers.get("upload-complete") == "?1") if self.protocol == "ietf" \
            else (length is not None and offset == int(length))
        return ResumableState(offset, int(length) if length is not None else None, complete)

    def terminate(self, url: str) -> None:
        self.t.call("DELETE", url, headers=self._headers())

    def patch(self, url: str, f: LocalFile, offset: int, length: int, progress: Progress) -> int:
        h = self._headers()
        h["Content-Length"] = str(length)
        h["Upload-Offset"] = str(offset)
        if self.protocol == "tus":
            h["Content-Type"] = "application/offset+octet-stream"
        else:
            h["Content-Type"] = "application/partial-upload"
            h["Upload-Complete"] = "?1" if offset + length == f.size else "?0"
        sent = offset

        def on_bytes(n: int) -> None:
            nonlocal sent
            sent += n
            progress.update(f.key, sent)

        r = self.t.send_once("PATCH", url, headers=h, content=read_range(f.path, offset, length, on_bytes))
        return int(r.headers["upload-offset"])

    def upload_file(self, f: LocalFile, *, url: str | None = None, metadata: dict[str, str] | None = None,
                    chunk_size: int = DEFAULT_CHUNK, progress: Progress | None = None,
                    on_created=None) -> str:
        """Upload `f`, continuing `url` when the server still has it; returns the upload URL.
        `on_created(url)` runs as soon as a new upload exists, so the caller can record it."""
        progress = progress or NoProgress()
        state = self.state(url) if url else None
        if state is None or (state.length is not None and state.length != f.size):
            url = self.create(f.size, {"filename": f.name, **(metadata or {})})
            if on_created:
                on_created(url)
            state = ResumableState(0, f.size, f.size == 0)
        assert url is not None
        offset = state.offset
        progress.start(f.key, f.name, f.size, offset)
        _PatchResume(self, url, f, offset, chunk_size=chunk_size, failures=self.t.failures(f"upload {f.name}"),
                     progress=progress).run()
        progress.update(f.key, f.size)
        progress.finish(f.key)
        return url

    def _offset_of(self, url: str, exc: ApiError | None) -> int:
        """The offset after a failed request; an upload the server no longer has cannot be resumed."""
        state = self.state(url)
        if state is None:
            raise ApiError(exc.status if exc else 404, "upload_gone", f"the server no longer has {url}")
        return state.offset


class _PatchResume(ResumeLoop):
    """The resume loop over PATCHes; done at the file's size. A 409 means a mismatching offset, 423 a lock."""

    def __init__(self, api: ResumableAPI, url: str, f: LocalFile, offset: int, **loop) -> None:
        super().__init__(f, offset, **loop)
        self.api = api
        self.url = url

    def finished(self) -> bool:
        return self.offset >= self.f.size

    def send(self, offset: int, length: int) -> int:
        return self.api.patch(self.url, self.f, offset, length, self.progress)

    def conflict(self, exc: ApiError) -> bool:
        if exc.status != 409:
            return False
        self.offset = self.api._offset_of(self.url, exc)  # the server says where it stands
        return True

    def busy_after(self, exc: ApiError) -> bool:
        return exc.status == 423  # another writer holds it: probe, as the chunked API does

    def resync(self, exc: ApiError | None) -> int:
        return self.api._offset_of(self.url, exc)
