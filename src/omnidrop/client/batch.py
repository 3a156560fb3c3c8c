"""`omnidrop upload`'s engine: many files, one session, resumable across runs through the state file.

- `chunked` (default): one File Upload API session for the whole set, one `GET /uploads/{id}` to learn
  what a resumed session holds, each file PUT in chunks by one writer; then (optionally) a project.
- `tus` / `ietf`: one resumable upload per file at `/files/`.
- `parts`: presigned parts through the Companion S3 routes, parts of a file in parallel.

The same set of files (path + size + mtime each) against the same server and `via` is the same batch:
running the command again continues it, and once it is done reports the result without uploading.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field

from omnidrop.client.client import Client
from omnidrop.client.errors import ApiError
from omnidrop.client.file_upload import DEFAULT_CHUNK, FileStatus
from omnidrop.client.files import LocalFile
from omnidrop.client.progress import NoProgress, Progress
from omnidrop.client.state import StateFile

VIAS = ("chunked", "tus", "ietf", "parts")


@dataclass
class FileOutcome:
    file: LocalFile
    error: Exception | None = None
    location: str | None = None  # tus URL or stored object key

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class BatchResult:
    via: str
    upload_id: str | None = None
    project: str | None = None
    files: list[FileOutcome] = field(default_factory=list)
    resumed: bool = False
    already_done: bool = False

    @property
    def failed(self) -> list[FileOutcome]:
        return [o for o in self.files if not o.ok]


def batch_key(url: str, via: str, files: list[LocalFile]) -> str:
    h = hashlib.sha256(f"{url}\n{via}\n".encode())
    for f in sorted(files, key=lambda f: f.key):
        h.update(f"{f.key}={f.name}\n".encode())
    return h.hexdigest()


class BatchUploader:
    def __init__(self, client: Client, state: StateFile, *, via: str = "chunked", chunk_size: int = DEFAULT_CHUNK,
                 progress: Progress | None = None, fresh: bool = False) -> None:
        if via not in VIAS:
            raise ValueError(f"via must be one of {', '.join(VIAS)}")
        self.c = client
        self.state = state
        self.via = via
        self.chunk_size = chunk_size
        self.progress = progress or NoProgress()
        self.fresh = fresh

    def run(self, files: list[LocalFile], *, project: bool = False, title: str | None = None,
            project_options: dict | None = None) -> BatchResult:
        key = batch_key(self.c.url, self.via, files)
        if self.fresh:
            self.state.put("batches", key, None)
        if self.via == "chunked":
            return self._chunked(key, files, project, title, project_options or {})
        return self._per_file(key, files)

    # -- one session --------------------------------------------------------------------------------

    def _chunked(self, key: str, files: list[LocalFile], want_project: bool, title: str | None,
                 options: dict) -> BatchResult:
        api = self.c.uploads
        entry = self.state.get("batches", key) or {}
        result = BatchResult("chunked", resumed=bool(entry))
        if entry.get("project"):
            result.upload_id, result.project, result.already_done = entry.get("upload_id"), entry["project"], True
            result.files = [FileOutcome(f) for f in files]
            return result
        held: dict[str, FileStatus] = {}
        upload_id = entry.get("upload_id")
        if upload_id:
            try:
                held = api.session(upload_id)
            except ApiError as exc:
                if exc.status != 404:
                    raise
                if entry.get("uploaded") and want_project:
                    # Gone because a project took it (we died before recording that): find the project.
                    found = self._project_of(upload_id)
                    if found:
                        self.state.merge("batches", key, project=found)
                        result.upload_id, result.project, result.already_done = upload_id, found, True
                        result.files = [FileOutcome(f) for f in files]
                        return result
                self.progress.note(f"session {upload_id} is gone from the server (expired?); starting a new one")
                upload_id = None
        if not upload_id:
            upload_id = api.create_session()
            self.state.put("batches", key, {"via": "chunked", "upload_id": upload_id, "url": self.c.url})
            result.resumed = False
        result.upload_id = upload_id

        def one(f: LocalFile) -> FileOutcome:
            try:
                api.upload_file(upload_id, f, chunk_size=self.chunk_size, progress=self.progress,
                                known=held.get(f.name) or FileStatus(0, None, False))
                return FileOutcome(f)
            except Exception as exc:  # noqa: BLE001 - reported per file; the others go on
                return FileOutcome(f, exc)

        result.files = self._each(files, one)
        if result.failed:
            return result
        self.state.merge("batches", key, uploaded=True)
        if want_project:
            try:
                result.project = api.create_project(upload_id, title=title, **options)
            except ApiError as exc:
                found = self._project_of(upload_id) if exc.status in (400, 404) else None
                if not found:
                    raise
                result.project = found
            self.state.merge("batches", key, project=result.project)
        return result

    def _project_of(self, upload_id: str) -> str | None:
        try:
            return self.c.uploads.project(upload_id).name
        except ApiError:
            return None

    # -- one upload per file ------------------------------------------------------------------------

    def _per_file(self, key: str, files: list[LocalFile]) -> BatchResult:
        result = BatchResult(self.via, resumed=self.state.get("batches", key) is not None)
        self.state.merge("batches", key, via=self.via, url=self.c.url)

        def one(f: LocalFile) -> FileOutcome:
            fkey = f"{self.c.url}|{self.via}|{f.key}"
            if self.fresh:
                self.state.put("files", fkey, None)
            try:
                if self.via == "parts":
                    done = self.c.companion.upload_file(f, part_size=self.chunk_size, state=self.state,
                                                        state_key=fkey, progress=self.progress)
                    return FileOutcome(f, location=done.key)
                api = self.c.tus if self.via == "tus" else self.c.ietf
                entry = self.state.get("files", fkey) or {}
                if entry.get("done"):
                    self.progress.start(f.key, f.name, f.size, f.size)
                    self.progress.finish(f.key)
                    return FileOutcome(f, location=entry["url"])
                url = api.upload_file(f, url=entry.get("url"), chunk_size=self.chunk_size, progress=self.progress,
                                      on_created=lambda u: self.state.put("files", fkey, {"url": u}))
                self.state.merge("files", fkey, url=url, done=True)
                return FileOutcome(f, location=url)
            except Exception as exc:  # noqa: BLE001
                return FileOutcome(f, exc)

        result.files = self._each(files, one)
        return result

    def _each(self, files: list[LocalFile], work) -> list[FileOutcome]:
        if len(files) <= 1 or self.c.parallel == 1:
            return [work(f) for f in files]
        pool = ThreadPoolExecutor(max_workers=min(self.c.parallel, len(files)), thread_name_prefix="omnidrop-file")
        try:
            futures = {pool.submit(work, f): i for i, f in enumerate(files)}
            out: list[FileOutcome | None] = [None] * len(files)
            for fut in as_completed(futures):
                out[futures[fut]] = fut.result()
        except BaseException:
            # Ctrl-C: do not wait for the files in flight (the server keeps what arrived; a re-run resumes).
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()
        return out  # type: ignore[return-value]
