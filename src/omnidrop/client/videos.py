"""The Direct Video Upload API (`/api/videos`): an upload group of role-tagged files, parts, complete.

The key goes in `X-SPATIALGEN-APPKEY`. Part ETags are kept in the local state as for captures.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from urllib.parse import quote

from omnidrop.client.files import LocalFile
from omnidrop.client.parts import PartPlan, PartUploader
from omnidrop.client.progress import Progress
from omnidrop.client.state import StateFile
from omnidrop.client.transport import Transport

HEADER = "X-SPATIALGEN-APPKEY"


@dataclass(frozen=True)
class RoleFile:
    role: str
    file: LocalFile


class VideosAPI:
    def __init__(self, transport: Transport, uploader: PartUploader) -> None:
        self.t = transport
        self.uploader = uploader

    def create_group(self, layout: str, files: list[RoleFile], title: str | None = None) -> dict:
        specs = [{"role": r.role, "filename": r.file.name, "size": r.file.size,
                  "contentType": mimetypes.guess_type(r.file.name)[0] or "application/octet-stream"} for r in files]
        return self.t.json("POST", "/api/videos/uploads", json={"title": title, "layout": layout, "files": specs})

    def group(self, group_id: str) -> dict:
        return self.t.json("GET", f"/api/videos/uploads/{quote(group_id, safe='')}")

    def part_urls(self, group_id: str, upload_id: str, numbers: list[int] | None = None) -> dict[int, str]:
        body = {"partNumbers": numbers} if numbers is not None else {}
        got = self.t.json("POST", f"/api/videos/uploads/{quote(group_id, safe='')}/files/{quote(upload_id, safe='')}/part-urls",
                          json=body)
        return {int(p["partNumber"]): p["url"] for p in got["parts"]}

    def complete_file(self, group_id: str, upload_id: str, etags: dict[int, str]) -> dict:
        parts = [{"partNumber": n, "etag": etags[n]} for n in sorted(etags)]
        return self.t.json("POST", f"/api/videos/uploads/{quote(group_id, safe='')}/files/{quote(upload_id, safe='')}/complete",
                           json={"parts": parts})

    def cancel(self, group_id: str) -> dict:
        return self.t.json("POST", f"/api/videos/uploads/{quote(group_id, safe='')}/cancel")

    def library(self, limit: int = 50, offset: int = 0) -> list[dict]:
        return self.t.json("GET", "/api/videos/library", params={"limit": limit, "offset": offset})["items"]

    def upload_group(self, layout: str, files: list[RoleFile], *, title: str | None = None,
                     state: StateFile | None = None, state_key: str | None = None,
                     progress: Progress | None = None) -> dict:
        """Create (or continue) a group and upload every file; returns the group when all are complete."""
        entry = state.get("batches", state_key) if state and state_key else None
        if entry is None:
            made = self.create_group(layout, files, title)
            entry = {"group": made["uploadSessionId"],
                     "files": {r.file.key: {"upload_id": g["uploadId"], "part_size": g["partSize"], "etags": {}}
                               for r, g in zip(files, made["files"], strict=True)}}
            if state and state_key:
                state.put("batches", state_key, entry)
        group_id = entry["group"]
        current = self.group(group_id)
        status = {g["uploadId"]: g["status"] for g in current["files"]}
        for r in files:
            info = entry["files"][r.file.key]
            upload_id = info["upload_id"]
            if status.get(upload_id) == "completed":
                continue

            def keep(number: int, etag: str, key: str = r.file.key) -> None:
                if state and state_key:
                    def change(e: dict) -> dict:
                        e["files"][key]["etags"][str(number)] = etag
                        return e
                    state.update("batches", state_key, change)

            held = {int(n): e for n, e in info.get("etags", {}).items()}
            plan = PartPlan(r.file.size, int(info["part_size"]))
            etags = self.uploader.upload(r.file, plan, lambda n, u=upload_id: self.part_urls(group_id, u, [n])[n],
                                         etags=held, on_etag=keep, progress=progress)
            self.complete_file(group_id, upload_id, etags)
        return self.group(group_id)
