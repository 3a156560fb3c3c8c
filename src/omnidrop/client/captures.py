"""The Captures API (`/api/v1/captures`): a capture, one presigned URL per part, then `uploaded`.

The API has no way to list the parts it holds, so the ETags live in the local state file: each is
recorded the moment its PUT answers, and a resumed run sends only the parts it has no ETag for.
"""

from __future__ import annotations

from urllib.parse import quote

from omnidrop.client.errors import ApiError
from omnidrop.client.files import LocalFile
from omnidrop.client.parts import PartPlan, PartUploader
from omnidrop.client.progress import Progress
from omnidrop.client.state import StateFile
from omnidrop.client.transport import Transport


class CapturesAPI:
    def __init__(self, transport: Transport, uploader: PartUploader) -> None:
        self.t = transport
        self.uploader = uploader

    def create(self, name: str, bytesize: int, **fields: object) -> dict:
        return self.t.json("POST", "/api/v1/captures", json={"name": name, "bytesize": bytesize, **fields})

    def list(self, limit: int = 50, offset: int = 0) -> list[dict]:
        return self.t.json("GET", "/api/v1/captures", params={"limit": limit, "offset": offset})

    def get(self, eid: str) -> dict | None:
        """One capture by eid, from the list (the API has no single-capture GET)."""
        offset = 0
        while True:
            page = self.list(100, offset)
            for c in page:
                if c["eid"] == eid:
                    return c
            if len(page) < 100:
                return None
            offset += 100

    def upload_url(self, eid: str, number: int, bytesize: int) -> str:
        return self.t.json("POST", f"/api/v1/captures/{quote(eid, safe='')}/create-upload-url/{number}",
                           json={"eid": eid, "bytesize": bytesize})["upload_url"]

    def uploaded(self, eid: str, etags: dict[int, str]) -> dict:
        parts = [{"number": n, "etag": etags[n]} for n in sorted(etags)]
        return self.t.json("POST", f"/api/v1/captures/{quote(eid, safe='')}/uploaded", json={"eid": eid, "parts": parts})

    def delete(self, eid: str) -> None:
        self.t.call("DELETE", f"/api/v1/captures/{quote(eid, safe='')}")

    def upload_file(self, f: LocalFile, *, name: str | None = None, state: StateFile | None = None,
                    state_key: str | None = None, progress: Progress | None = None, **fields: object) -> dict:
        """Create (or continue) a capture of `f` and upload it; returns the capture after `uploaded`."""
        entry = state.get("files", state_key) if state and state_key else None
        if entry and entry.get("done"):
            return self.get(entry["eid"]) or {"eid": entry["eid"], "state": entry.get("capture_state")}
        if entry:
            current = self.get(entry["eid"])
            if current is None:
                entry = None  # deleted on the server: start over
            elif current["state"] != "CREATED":
                if state and state_key:
                    state.merge("files", state_key, done=True, capture_state=current["state"])
                return current
        if not entry:
            made = self.create(name or f.name, f.size, **fields)
            entry = {"eid": made["eid"], "chunk_size": made["chunk_size"], "etags": {}}
            if state and state_key:
                state.put("files", state_key, entry)
        eid = entry["eid"]
        plan = PartPlan(f.size, int(entry["chunk_size"]))

        def keep(number: int, etag: str) -> None:
            if state and state_key:
                state.update("files", state_key, lambda e: {**e, "etags": {**e.get("etags", {}), str(number): etag}})

        held = {int(n): e for n, e in entry.get("etags", {}).items()}
        etags = self.uploader.upload(f, plan, lambda n: self.upload_url(eid, n, f.size), etags=held, on_etag=keep,
                                     progress=progress)
        try:
            result = self.uploaded(eid, etags)
        except ApiError as exc:
            # A part whose ETag we kept but the server lost (or an edit of the file): forget them all.
            if exc.status == 422 and state and state_key:
                state.merge("files", state_key, etags={})
            raise
        if state and state_key:
            state.merge("files", state_key, done=True, capture_state=result.get("state"))
        return result
