"""The 360 Walkthrough Upload API: login, the upload object, the .insv over tus, and the PUT that
links the finished tus uploads to it (steps 1-5 of the document)."""

from __future__ import annotations

from urllib.parse import quote

from omnidrop.client.transport import Transport


class WalkthroughAPI:
    def __init__(self, transport: Transport) -> None:
        self.t = transport

    def login(self, username: str, password: str) -> dict:
        """Step 1: `{"token", "expires_at"}`; the token goes in `Authorization: Bearer`."""
        return self.t.json("POST", "/auth/login", json={"username": username, "password": password})

    def create_upload(self, project_id: str, *, date: str, name: str, drawing_id: str | int, uploaded_by: str) -> dict:
        """Step 2: the upload object. `date` is DD-MM-YYYY as the document writes it."""
        params = {"date": date, "name": name, "drawing_id": str(drawing_id), "uploaded_by": uploaded_by}
        return self.t.json("POST", f"/360/{quote(str(project_id), safe='')}/upload", params=params)

    def get_upload(self, upload_id: int | str) -> dict:
        return self.t.json("GET", f"/360/{quote(str(upload_id), safe='')}/upload")

    def link(self, upload_id: int | str, videos: list[dict], *, start_position: str, end_position: str,
             asset_type: str = "video", target_points_count: int = 0, uploaded_by: str | None = None) -> dict:
        """Step 5: `videos` are `{"url", "title", "file_extension"}` of finished tus uploads."""
        body = {"asset_type": asset_type, "upload": videos, "start_position": start_position,
                "end_position": end_position, "target_points_count": target_points_count}
        params = {"uploaded_by": uploaded_by} if uploaded_by else None
        return self.t.json("PUT", f"/360/{quote(str(upload_id), safe='')}/upload", params=params, json=body)

    def projects(self) -> list[dict]:
        return self.t.json("GET", "/360/projects")["projects"]

    def create_project(self, project_id: str, name: str = "") -> dict:
        return self.t.json("POST", "/360/projects", json={"id": project_id, "name": name})

    def drawings(self, project_id: str) -> list[dict]:
        return self.t.json("GET", f"/360/projects/{quote(project_id, safe='')}/drawings")["drawings"]

    def create_drawing(self, project_id: str, name: str, bounds: dict[str, float]) -> dict:
        return self.t.json("POST", f"/360/projects/{quote(project_id, safe='')}/drawings",
                           json={"name": name, "bounds": bounds})
