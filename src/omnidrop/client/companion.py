"""Uppy Companion's S3 multipart routes (`/s3/multipart`): any file, through presigned parts.

The server keeps a ledger of parts (`GET /s3/multipart/{id}?key=`), so a resumed upload trusts it
over the local state: a part the server lists is not sent again.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from omnidrop.client.errors import ApiError
from omnidrop.client.files import LocalFile
from omnidrop.client.parts import MiB, PartPlan, PartUploader
from omnidrop.client.progress import Progress
from omnidrop.client.state import StateFile
from omnidrop.client.transport import Transport


@dataclass(frozen=True)
class CompanionResult:
    key: str
    upload_id: str
    location: str | None


class CompanionAPI:
    def __init__(self, transport: Transport, uploader: PartUploader) -> None:
        self.t = transport
        self.uploader = uploader

    def create(self, filename: str, content_type: str | None = None) -> tuple[str, str]:
        body = self.t.json("POST", "/s3/multipart", json={"filename": filename, "type": content_type, "metadata": {}})
        return body["key"], body["uploadId"]

    def list_parts(self, upload_id: str, key: str) -> dict[int, str] | None:
        """Parts the server holds; None when the upload is unknown (aborted, completed, expired)."""
        try:
            parts = self.t.json("GET", f"/s3/multipart/{quote(upload_id, safe='')}", params={"key": key})
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise
        return {int(p["PartNumber"]): p["ETag"] for p in parts}

    def sign(self, upload_id: str, key: str, number: int) -> str:
        return self.t.json("GET", f"/s3/multipart/{quote(upload_id, safe='')}/{number}", params={"key": key})["url"]

    def complete(self, upload_id: str, key: str, etags: dict[int, str]) -> dict:
        parts = [{"PartNumber": n, "ETag": etags[n]} for n in sorted(etags)]
        return self.t.json("POST", f"/s3/multipart/{quote(upload_id, safe='')}/complete", params={"key": key},
                           json={"parts": parts})

    def abort(self, upload_id: str, key: str) -> None:
        self.t.call("DELETE", f"/s3/multipart/{quote(upload_id, safe='')}", params={"key": key})

    def upload_file(self, f: LocalFile, *, part_size: int = 8 * MiB, state: StateFile | None = None,
                    state_key: str | None = None, progress: Progress | None = None) -> CompanionResult:
        entry = state.get("files", state_key) if state and state_key else None
        if entry and entry.get("done"):
            return CompanionResult(entry["key"], entry["upload_id"], entry.get("location"))
        held = None
        if entry:
            held = self.list_parts(entry["upload_id"], entry["key"])
        if held is None:
            key, upload_id = self.create(f.name)
            plan = PartPlan.for_size(f.size, part_size)
            entry = {"key": key, "upload_id": upload_id, "part_size": plan.part_size}
            if state and state_key:
                state.put("files", state_key, entry)
            held = {}
        plan = PartPlan(f.size, int(entry["part_size"]))
        key, upload_id = entry["key"], entry["upload_id"]
        etags = self.uploader.upload(f, plan, lambda n: self.sign(upload_id, key, n), etags=held, progress=progress)
        done = self.complete(upload_id, key, etags)
        if state and state_key:
            state.merge("files", state_key, done=True, location=done.get("location"))
        return CompanionResult(done["key"], upload_id, done.get("location"))
