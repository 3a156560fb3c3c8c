"""The File Upload API (`/api/v1`): sessions, whole or `Content-Range` chunked PUTs, projects.

`upload_file` is the spec's resume loop, hardened: it asks the server's `received` before sending,
resyncs on 409 (`non_contiguous_chunk`, `upload_in_progress`), retries 5xx and network errors with
backoff and honours 429 `Retry-After`. One file has one request in flight at a time, always.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import quote

from omnidrop.client.errors import ApiError
from omnidrop.client.files import LocalFile, read_range
from omnidrop.client.progress import NoProgress, Progress
from omnidrop.client.resume_loop import DEFAULT_CHUNK, ResumeLoop
from omnidrop.client.transport import Transport

OCTETS = "application/octet-stream"


@dataclass(frozen=True)
class FileStatus:
    received: int
    total: int | None
    complete: bool


@dataclass(frozen=True)
class ProjectStatus:
    name: str
    status: int
    state: str | None
    record: dict

    @property
    def ready(self) -> bool:
        return self.status >= 100 and self.state != "failed"

    @property
    def failed(self) -> bool:
        return self.state == "failed"


class FileUploadAPI:
    def __init__(self, transport: Transport, prefix: str = "/api/v1") -> None:
        self.t = transport
        self.prefix = prefix

    def _file_url(self, upload_id: str, name: str) -> str:
        return f"{self.prefix}/uploads/{quote(upload_id, safe='')}/{quote(name, safe='')}"

    # -- sessions --------------------------------------------------------------------------------

    def create_session(self) -> str:
        return self.t.json("POST", f"{self.prefix}/uploads")["upload_id"]

    def session(self, upload_id: str) -> dict[str, FileStatus]:
        body = self.t.json("GET", f"{self.prefix}/uploads/{quote(upload_id, safe='')}")
        return {f["name"]: FileStatus(f["received"], f.get("total"), f["complete"]) for f in body["files"]}

    def delete_session(self, upload_id: str) -> None:
        self.t.call("DELETE", f"{self.prefix}/uploads/{quote(upload_id, safe='')}")

    def file_status(self, upload_id: str, name: str) -> FileStatus | None:
        """The server's progress of one file; None when it holds nothing of it yet."""
        try:
            body = self.t.json("GET", self._file_url(upload_id, name))
        except ApiError as exc:
            if exc.status == 404 and exc.code == "file_not_found":
                return None
            raise
        return FileStatus(body["received"], body.get("total"), body["complete"])

    # -- one file --------------------------------------------------------------------------------

    def put_chunk(self, upload_id: str, f: LocalFile, start: int, length: int, progress: Progress) -> FileStatus:
        headers = {"Content-Type": OCTETS, "Content-Length": str(length)}
        if start > 0 or length < f.size:
            headers["Content-Range"] = f"bytes {start}-{start + length - 1}/{f.size}"
        sent = start

        def on_bytes(n: int) -> None:
            nonlocal sent
            sent += n
            progress.update(f.key, sent)

        body = self.t.send_once("PUT", self._file_url(upload_id, f.name), headers=headers,
                                content=read_range(f.path, start, length, on_bytes)).json()
        return FileStatus(body["received"], body.get("total"), body["complete"])

    def upload_file(self, upload_id: str, f: LocalFile, *, chunk_size: int = DEFAULT_CHUNK,
                    progress: Progress | None = None, known: FileStatus | None = None,
                    ask_first: bool = True) -> FileStatus:
        """Upload `f` into the session as `f.name`, resuming from what the server holds.

        `known` is the file's status when the caller already asked (one `GET /uploads/{id}` for many
        files); `ask_first=False` skips asking for a file the caller knows is new to the session."""
        progress = progress or NoProgress()
        failures = self.t.failures(f"upload {f.name}")
        status = known if known is not None else (self.file_status(upload_id, f.name) if ask_first else None)
        received = status.received if status else 0
        progress.start(f.key, f.name, f.size, received)
        if status and status.complete:
            progress.finish(f.key)
            return status
        if f.size == 0:  # an empty file is one PUT with no body
            chunk_size = 1
        loop = _ChunkedResume(self, upload_id, f, received, chunk_size=chunk_size, failures=failures,
                              progress=progress)
        loop.run()
        progress.finish(f.key)
        assert loop.status is not None  # the loop ends only on a status that says complete
        return loop.status

    # -- projects --------------------------------------------------------------------------------

    def create_project(self, upload_id: str | None = None, *, download_link: str | None = None,
                       title: str | None = None, privacy_mode: int | None = None, **options: object) -> str:
        body: dict = {k: v for k, v in {"upload_id": upload_id, "download_link": download_link, "title": title,
                                         "privacy_mode": privacy_mode}.items() if v is not None}
        body.update(options)
        return self.t.json("POST", f"{self.prefix}/projects", json=body)["name"]

    def project(self, name: str) -> ProjectStatus:
        body = self.t.json("GET", f"{self.prefix}/projects/{quote(name, safe='')}")
        return ProjectStatus(body["name"], int(body["status"]), body.get("state"), body)

    def wait_project(self, name: str, *, timeout: float | None = None, interval: float = 2.0,
                     on_status=None) -> ProjectStatus:
        """Poll until ready (100) or failed; the spec's limit is 60 polls a minute, we stay under it."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            status = self.project(name)
            if on_status:
                on_status(status)
            if status.ready or status.failed:
                return status
            if deadline is not None and time.monotonic() >= deadline:
                return status
            time.sleep(max(1.0, interval))


class _ChunkedResume(ResumeLoop):
    """The resume loop over `Content-Range` PUTs; done when a PUT's answer says the file is complete."""

    def __init__(self, api: FileUploadAPI, upload_id: str, f: LocalFile, offset: int, **loop) -> None:
        super().__init__(f, offset, **loop)
        self.api = api
        self.upload_id = upload_id
        self.status: FileStatus | None = None

    def finished(self) -> bool:
        return self.status is not None and self.status.complete

    def send(self, offset: int, length: int) -> int:
        if length == 0 and offset > 0:
            # The server holds every byte but never marked the file complete (it died in between): a
            # range cannot be empty, so re-send the last byte; the server stores nothing and completes it.
            offset, length = offset - 1, 1
        self.status = self.api.put_chunk(self.upload_id, self.f, offset, length, self.progress)
        return self.status.received

    def conflict(self, exc: ApiError) -> bool:
        if exc.status != 409 or "received" not in exc.details:
            return False
        # A gap, or another writer (say, our own killed run) still holds the file: resync.
        self.offset = int(exc.details["received"])
        self.progress.update(self.f.key, self.offset)
        if exc.code == "upload_in_progress":
            self.busy = True
            self.failures.failed(exc)
        return True

    def resync(self, exc: ApiError | None) -> int:
        status = self.api.file_status(self.upload_id, self.f.name)
        return status.received if status else 0
