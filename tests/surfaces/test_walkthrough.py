"""The 360 Walkthrough Upload API against a live server: the spec's five steps and every refusal."""

from __future__ import annotations

import base64
import os
import subprocess
from datetime import timedelta

import httpx
import pytest
import requests
from sqlalchemy import update

from omnidrop.db.models import LoginToken
from omnidrop.db.types import utcnow
from tests.support.resumable import on_db
from tests.support.server import LiveServer, read_blob, run_cli

PASSWORD = "correct horse battery staple"
PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(200)


@pytest.fixture(scope="module")
def live(servers, db_url) -> LiveServer:
    return servers.start(database_url=db_url, tus_allow_anonymous=True)


def make_user(server: LiveServer, username: str) -> None:
    done = run_cli(["users", "create", "--username", username, "--password", PASSWORD], server.env)
    assert done.returncode == 0, done.stderr


def login(server: LiveServer, username: str) -> dict[str, str]:
    r = httpx.post(f"{server.url}/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


@pytest.fixture(scope="module")
def site(live) -> dict:
    """A user, a project and a drawing with its image, as the dashboard would have them."""
    name = f"site-{os.urandom(3).hex()}@example.com"
    make_user(live, name)
    auth = login(live, name)
    project = f"evercam-{os.urandom(3).hex()}"
    assert httpx.post(f"{live.url}/360/projects", json={"id": project, "name": "Evercam HQ"},
                      headers=auth).status_code == 201
    r = httpx.post(f"{live.url}/360/projects/{project}/drawings", headers=auth,
                   json={"name": "Level 1", "bounds": {"north": 53.35, "south": 53.34, "east": -6.25, "west": -6.27}})
    assert r.status_code == 201, r.text
    drawing = r.json()["id"]
    r = httpx.put(f"{live.url}/360/drawings/{drawing}/image", content=PNG,
                  headers={**auth, "Content-Type": "image/png"})
    assert r.status_code == 200, r.text
    return {"user": name, "auth": auth, "project": project, "drawing": drawing}


def tus_upload(server: LiveServer, data: bytes, headers: dict, finish: bool = True) -> str:
    b64 = base64.b64encode(b"walk.insv").decode()
    r = httpx.post(f"{server.url}/files/", headers={
        **headers, "Tus-Resumable": "1.0.0", "Upload-Length": str(len(data)),
        "Upload-Metadata": f"filename {b64},filetype", "Content-Length": "0"})
    assert r.status_code == 201, r.text
    url = r.headers["location"]
    body = data if finish else data[: len(data) // 2]
    r = httpx.patch(url, content=body, headers={**headers, "Tus-Resumable": "1.0.0", "Upload-Offset": "0",
                                                "Content-Type": "application/offset+octet-stream"})
    assert r.status_code == 204
    return url


def new_upload(server: LiveServer, site: dict, **params) -> httpx.Response:
    query = {"date": "20-01-2026", "name": "Office 20th July", "drawing_id": str(site["drawing"]),
             "uploaded_by": site["user"], **params}
    return httpx.post(f"{server.url}/360/{site['project']}/upload", params=query,
                      headers={**site["auth"], "Content-Type": "application/x-www-form-urlencoded"})


def step5_body(url: str, **fields) -> dict:
    return {"asset_type": "video", "upload": [{"url": url, "title": "walk.insv", "file_extension": "insv"}],
            "start_position": "53.3498,-6.2603", "end_position": "53.3501,-6.2590", "target_points_count": 0,
            **fields}


# -- the five steps, as the spec lists them --------------------------------------------------------


def test_the_five_steps_with_requests(live, site):
    base = live.url
    video = os.urandom(2 * 1024 * 1024 + 17)

    # Step 1: Get Authentication Token
    token = requests.post(f"{base}/auth/login", json={"username": site["user"], "password": PASSWORD}).json()["token"]

    # Step 2: Create an Upload Object
    r = requests.post(
        f"{base}/360/{site['project']}/upload?date=20-01-2026&name=Office 20th July"
        f"&drawing_id={site['drawing']}&uploaded_by={site['user']}",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 201, r.text
    upload = r.json()
    assert upload["processing_status"] == "created"
    assert (upload["project_id"], upload["floor_id"], upload["date"]) == (site["project"], site["drawing"],
                                                                         "2026-01-20")
    assert (upload["images"], upload["videos"], upload["tus_links"], upload["is_timelapse"]) == ([], [], [], False)
    assert upload["name"] == "Office 20th July" and upload["uploaded_by"] == site["user"]
    assert {"inserted_at", "updated_at", "id"} <= set(upload)

    # Step 3: Create Placeholder File (the headers of the spec, and no credentials)
    r = requests.post(f"{base}/files/", headers={
        "Tus-Resumable": "1.0.0", "Upload-Length": str(len(video)),
        "Upload-Metadata": f"filename {base64.b64encode(b'walk.insv').decode()},filetype",
        "Content-Length": "0", "TE": "trailers"})
    assert r.status_code == 201
    assert r.headers["tus-resumable"] == "1.0.0"
    file_url = r.headers["location"]

    # Step 4: Send File Data
    r = requests.patch(file_url, data=video, headers={
        "Content-Length": str(len(video)), "Tus-Resumable": "1.0.0", "Upload-Offset": "0",
        "Content-Type": "application/offset+octet-stream"})
    assert r.status_code == 204

    # Step 5: Write File Metadata
    r = requests.put(f"{base}/360/{upload['id']}/upload?uploaded_by={site['user']}",
                     headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
                     json=step5_body(file_url))
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["processing_status"] == "queued"
    assert done["start_position"] == "53.3498,-6.2603" and done["end_position"] == "53.3501,-6.259"
    assert done["tus_links"] == [file_url]
    (entry,) = done["videos"]
    assert (entry["url"], entry["title"], entry["file_extension"], entry["size"]) == (
        file_url, "walk.insv", "insv", len(video))
    again = requests.get(f"{base}/360/{upload['id']}/upload", headers={"Authorization": f"Bearer {token}"}).json()
    assert again["videos"] == done["videos"]


def test_the_five_steps_with_curl(live, site, tmp_path):
    video = tmp_path / "walk.insv"
    video.write_bytes(os.urandom(300_000))
    script = f"""
    set -euo pipefail
    BASE={live.url}
    TOKEN=$(curl -sf -X POST $BASE/auth/login -H 'Content-Type: application/json' \\
      -d '{{"username": "{site['user']}", "password": "{PASSWORD}"}}' | jq -r .token)
    UPLOAD_ID=$(curl -sf -X POST "$BASE/360/{site['project']}/upload?date=21-01-2026&name=Stairs&drawing_id={site['drawing']}&uploaded_by={site['user']}" \\
      -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/x-www-form-urlencoded' | jq -r .id)
    LOCATION=$(curl -sf -i -X POST $BASE/files/ -H 'Tus-Resumable: 1.0.0' -H "Upload-Length: $(stat -c %s {video})" \\
      -H "Upload-Metadata: filename $(printf walk.insv | base64),filetype" -H 'Content-Length: 0' -H 'TE: trailers' \\
      | tr -d '\\r' | awk 'tolower($1)=="location:" {{print $2}}')
    curl -sf -X PATCH "$LOCATION" -H 'Tus-Resumable: 1.0.0' -H 'Upload-Offset: 0' \\
      -H 'Content-Type: application/offset+octet-stream' --data-binary @{video}
    curl -sf -X PUT "$BASE/360/$UPLOAD_ID/upload?uploaded_by={site['user']}" -H 'Content-Type: application/json' \\
      -H "Authorization: Bearer $TOKEN" \\
      -d '{{"asset_type": "video", "upload": [{{"url": "'"$LOCATION"'", "title": "walk.insv", "file_extension": "insv"}}],
           "start_position": "53.1,-6.2", "end_position": "53.2,-6.3", "target_points_count": 4}}'
    """
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    result = httpx.Response(200, content=done.stdout.strip().splitlines()[-1]).json()
    assert result["processing_status"] == "queued"
    assert (result["start_position"], result["end_position"], result["target_points_count"]) == (
        "53.1,-6.2", "53.2,-6.3", 4)
    assert result["videos"][0]["size"] == 300_000


# -- login -----------------------------------------------------------------------------------------


def test_wrong_password_or_user_is_401(live, site):
    for body in ({"username": site["user"], "password": "nope"}, {"username": "ghost@example.com", "password": "x"}):
        r = httpx.post(f"{live.url}/auth/login", json=body)
        assert r.status_code == 401
        assert r.json()["error"] == "invalid_credentials"


def test_expired_token_is_refused_and_api_keys_work_too(live, site):
    auth = login(live, site["user"])
    token = auth["Authorization"].split()[1]
    assert httpx.get(f"{live.url}/360/projects", headers=auth).status_code == 200

    async def expire(db):
        from omnidrop.auth.keys import hash_token

        async with db.write() as s:
            await s.execute(update(LoginToken).where(LoginToken.token_hash == hash_token(token))
                            .values(expires_at=utcnow() - timedelta(seconds=1)))

    on_db(live, expire)
    r = httpx.get(f"{live.url}/360/projects", headers=auth)
    assert (r.status_code, r.json()["error"]) == (401, "invalid_api_key")
    assert httpx.get(f"{live.url}/360/projects", headers=live.headers()).status_code == 200
    r = httpx.get(f"{live.url}/360/projects")
    assert (r.status_code, r.json()["error"]) == (401, "missing_api_key")
    assert "API key" in r.json()["message"] and "login token" in r.json()["message"]


def test_users_create_refuses_a_duplicate(live, site):
    done = run_cli(["users", "create", "--username", site["user"], "--password", "x"], live.env)
    assert done.returncode == 1
    assert "exists" in done.stderr


# -- projects and drawings -------------------------------------------------------------------------


def test_projects_and_drawings_are_listed_with_bounds_and_image(live, site):
    projects = httpx.get(f"{live.url}/360/projects", headers=site["auth"]).json()["projects"]
    assert [p["id"] for p in projects] == [site["project"]]
    (drawing,) = httpx.get(f"{live.url}/360/projects/{site['project']}/drawings", headers=site["auth"]).json()[
        "drawings"]
    assert drawing["bounds"] == {"north": 53.35, "south": 53.34, "east": -6.25, "west": -6.27}
    assert drawing["image_type"] == "image/png"
    image = httpx.get(f"{live.url}{drawing['image_url']}", headers=site["auth"])
    assert image.content == PNG and image.headers["content-type"] == "image/png"


def test_project_and_drawing_refusals(live, site):
    auth = site["auth"]
    r = httpx.post(f"{live.url}/360/projects", json={"id": site["project"]}, headers=auth)
    assert (r.status_code, r.json()["error"]) == (409, "project_exists")
    assert httpx.post(f"{live.url}/360/projects", json={"id": "../x"}, headers=auth).status_code == 400
    bad = {"name": "L2", "bounds": {"north": 1, "south": 2, "east": 3, "west": 4}}
    assert httpx.post(f"{live.url}/360/projects/{site['project']}/drawings", json=bad, headers=auth).status_code == 400
    r = httpx.get(f"{live.url}/360/projects/nosuchproject/drawings", headers=auth)
    assert (r.status_code, r.json()["error"]) == (404, "project_not_found")
    r = httpx.put(f"{live.url}/360/drawings/{site['drawing']}/image", content=b"%PDF",
                  headers={**auth, "Content-Type": "text/plain"})
    assert r.status_code == 400
    assert httpx.get(f"{live.url}/360/projects", headers=live.headers(owner="stranger")).json()["projects"] == []


def test_project_ids_belong_to_their_owner(live, site):
    """Another owner neither learns that an id exists nor is kept from using it."""
    other = live.headers(owner=f"other-{os.urandom(3).hex()}")
    # Invisible: the same answers as for an id nobody has.
    for path in (f"/360/projects/{site['project']}/drawings", f"/360/projects/{site['project']}/uploads"):
        r = httpx.get(f"{live.url}{path}", headers=other)
        assert (r.status_code, r.json()["error"]) == (404, "project_not_found"), path
    r = httpx.post(f"{live.url}/360/{site['project']}/upload", headers=other, params={
        "date": "20-01-2026", "name": "x", "drawing_id": str(site["drawing"]), "uploaded_by": "x@example.com"})
    assert (r.status_code, r.json()["error"]) == (404, "project_not_found")
    # Creatable independently, with its own drawings and upload objects.
    r = httpx.post(f"{live.url}/360/projects", json={"id": site["project"], "name": "Theirs"}, headers=other)
    assert r.status_code == 201, r.text
    assert r.json()["id"] == site["project"]
    r = httpx.post(f"{live.url}/360/projects/{site['project']}/drawings", headers=other,
                   json={"name": "Their level", "bounds": {"north": 1, "south": 0, "east": 1, "west": 0}})
    assert r.status_code == 201 and r.json()["project_id"] == site["project"]
    theirs = r.json()["id"]
    r = httpx.post(f"{live.url}/360/{site['project']}/upload", headers=other, params={
        "date": "20-01-2026", "name": "Theirs", "drawing_id": str(theirs), "uploaded_by": "x@example.com"})
    assert r.status_code == 201 and r.json()["project_id"] == site["project"]
    assert [p["name"] for p in httpx.get(f"{live.url}/360/projects", headers=other).json()["projects"]] == ["Theirs"]
    # The first owner's project is untouched: its name, its drawing only, and not the other's drawing.
    mine = httpx.get(f"{live.url}/360/projects", headers=site["auth"]).json()["projects"]
    assert [(p["id"], p["name"]) for p in mine] == [(site["project"], "Evercam HQ")]
    drawings = httpx.get(f"{live.url}/360/projects/{site['project']}/drawings", headers=site["auth"]).json()["drawings"]
    assert [d["id"] for d in drawings] == [site["drawing"]]
    r = httpx.post(f"{live.url}/360/{site['project']}/upload", headers=site["auth"], params={
        "date": "20-01-2026", "name": "x", "drawing_id": str(theirs), "uploaded_by": site["user"]})
    assert (r.status_code, r.json()["error"]) == (404, "drawing_not_found")
    # Each owner's second try at its own id is still a conflict.
    r = httpx.post(f"{live.url}/360/projects", json={"id": site["project"]}, headers=other)
    assert (r.status_code, r.json()["error"]) == (409, "project_exists")


# -- step 2 and step 5 refusals --------------------------------------------------------------------


@pytest.mark.parametrize("params,status,code", [
    ({"date": "2026-01-20"}, 400, "invalid_request"),
    ({"date": "31-02-2026"}, 400, "invalid_request"),
    ({"drawing_id": "999999"}, 404, "drawing_not_found"),
    ({"drawing_id": "abc"}, 404, "drawing_not_found"),
    ({"name": ""}, 400, "invalid_request"),
])
def test_step2_refusals(live, site, params, status, code):
    r = new_upload(live, site, **params)
    assert (r.status_code, r.json()["error"]) == (status, code), r.text


def test_step2_unknown_project_is_404(live, site):
    r = httpx.post(f"{live.url}/360/nosuchproject/upload", headers=site["auth"], params={
        "date": "20-01-2026", "name": "x", "drawing_id": str(site["drawing"]), "uploaded_by": site["user"]})
    assert (r.status_code, r.json()["error"]) == (404, "project_not_found")


def test_step2_takes_the_fields_from_a_form_body_too(live, site):
    r = httpx.post(f"{live.url}/360/{site['project']}/upload", headers=site["auth"], data={
        "date": "22-01-2026", "name": "Roof", "drawing_id": str(site["drawing"]), "uploaded_by": site["user"]})
    assert r.status_code == 201
    assert r.json()["date"] == "2026-01-22"


@pytest.mark.parametrize("fields,status,code", [
    ({"start_position": "53.1"}, 400, "invalid_request"),
    ({"end_position": "north,south"}, 400, "invalid_request"),
    ({"start_position": "91,0"}, 400, "invalid_request"),
    ({"asset_type": "pointcloud"}, 400, "invalid_request"),
    ({"upload": []}, 400, "invalid_request"),
    ({"upload": [{"url": "http://host/elsewhere/abc", "title": "x", "file_extension": "insv"}]}, 400,
     "invalid_request"),
    ({"upload": [{"url": "http://host/files/nosuchupload12345", "title": "x", "file_extension": "insv"}]}, 400,
     "tus_upload_not_found"),
])
def test_step5_refusals(live, site, fields, status, code):
    upload_id = new_upload(live, site).json()["id"]
    url = tus_upload(live, b"x" * 100, site["auth"])
    r = httpx.put(f"{live.url}/360/{upload_id}/upload", json=step5_body(url, **fields), headers=site["auth"])
    assert (r.status_code, r.json()["error"]) == (status, code), r.text
    assert httpx.get(f"{live.url}/360/{upload_id}/upload", headers=site["auth"]).json()["processing_status"] == \
        "created"


def test_step5_refuses_unfinished_and_foreign_uploads(live, site):
    upload_id = new_upload(live, site).json()["id"]
    unfinished = tus_upload(live, b"x" * 100, site["auth"], finish=False)
    r = httpx.put(f"{live.url}/360/{upload_id}/upload", json=step5_body(unfinished), headers=site["auth"])
    assert (r.status_code, r.json()["error"]) == (409, "tus_upload_not_finished")
    foreign = tus_upload(live, b"x" * 100, live.headers(owner="stranger"))
    r = httpx.put(f"{live.url}/360/{upload_id}/upload", json=step5_body(foreign), headers=site["auth"])
    assert (r.status_code, r.json()["error"]) == (400, "tus_upload_not_found")
    r = httpx.put(f"{live.url}/360/999999/upload", json=step5_body(foreign), headers=site["auth"])
    assert (r.status_code, r.json()["error"]) == (404, "upload_not_found")


def test_a_linked_video_belongs_to_its_upload_object(live, site):
    first = new_upload(live, site).json()["id"]
    second = new_upload(live, site).json()["id"]
    data = os.urandom(1000)
    url = tus_upload(live, data, site["auth"])
    assert httpx.put(f"{live.url}/360/{first}/upload", json=step5_body(url), headers=site["auth"]).status_code == 200
    # Linking again to the same object is a no-op; to another one, a conflict.
    again = httpx.put(f"{live.url}/360/{first}/upload", json=step5_body(url), headers=site["auth"])
    assert len(again.json()["videos"]) == 1
    r = httpx.put(f"{live.url}/360/{second}/upload", json=step5_body(url), headers=site["auth"])
    assert (r.status_code, r.json()["error"]) == (409, "tus_upload_already_linked")
    # The bytes are the object's now: tus cannot terminate them, and they no longer expire.
    tus = {**site["auth"], "Tus-Resumable": "1.0.0"}
    assert httpx.delete(url, headers=tus).status_code == 404
    head = httpx.head(url, headers=tus)
    assert head.status_code == 200 and "upload-expires" not in head.headers
    from tests.support.resumable import upload_file_row

    row = upload_file_row(live, httpx.URL(url).path.rsplit("/", 1)[1])
    assert read_blob(live, row.blob_key) == data


def test_names_and_titles_lose_control_and_invisible_characters(live, site):
    """Free text shown as names: the naming rule's cleaning (bidi overrides, NUL, other controls go) and
    the columns' length, the words kept as given."""
    r = new_upload(live, site, name="Office\u202e 20th\x07 July")
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "Office 20th July"
    assert new_upload(live, site, name="n" * 5000).json()["name"] == "n" * 300
    upload_id = r.json()["id"]
    titles = {"inv\u202egpj.insv": "invgpj.insv", "..": "..", "a\x00b.insv": "ab.insv", "t" * 5000: "t" * 300}
    urls = {tus_upload(live, os.urandom(100), site["auth"]): title for title in titles}
    body = step5_body("", upload=[{"url": url, "title": title, "file_extension": "insv"}
                                  for url, title in urls.items()])
    r = httpx.put(f"{live.url}/360/{upload_id}/upload", json=body, headers=site["auth"])
    assert r.status_code == 200, r.text
    assert {v["url"]: v["title"] for v in r.json()["videos"]} == {url: titles[t] for url, t in urls.items()}
    tus = {**site["auth"], "Tus-Resumable": "1.0.0"}
    for url in urls:  # each video's URL still answers
        assert httpx.head(url, headers=tus).status_code == 200
    got = httpx.get(f"{live.url}/360/{upload_id}/upload", headers=site["auth"]).json()
    assert sorted(v["title"] for v in got["videos"]) == sorted(titles.values())


def test_another_owners_upload_object_is_not_found(live, site):
    upload_id = new_upload(live, site).json()["id"]
    r = httpx.get(f"{live.url}/360/{upload_id}/upload", headers=live.headers(owner="stranger"))
    assert (r.status_code, r.json()["error"]) == (404, "upload_not_found")


def test_tus_uploads_announced_for_an_object_are_its_tus_links(live, site):
    """The upload events keep `tus_links` in step: listed from creation, gone when terminated."""
    import time

    upload_id = new_upload(live, site).json()["id"]
    tus = {**site["auth"], "Tus-Resumable": "1.0.0"}
    meta = f"filename {base64.b64encode(b'a.insv').decode()},walkthrough_upload_id " + \
        base64.b64encode(str(upload_id).encode()).decode()
    r = httpx.post(f"{live.url}/files/", headers={**tus, "Upload-Length": "4", "Upload-Metadata": meta})
    url = r.headers["location"]

    def links() -> list[str]:
        return httpx.get(f"{live.url}/360/{upload_id}/upload", headers=site["auth"]).json()["tus_links"]

    def eventually(condition) -> None:  # listeners run after the response: a bounded poll
        for _ in range(200):
            if condition():
                return
            time.sleep(0.05)
        raise AssertionError("the upload event never reached the upload object")

    eventually(lambda: links() == [url])
    assert httpx.delete(url, headers=tus).status_code == 204
    eventually(lambda: links() == [])


def test_a_projects_upload_objects_are_listed_newest_first(live, site):
    older = new_upload(live, site, name="Older").json()["id"]
    newer = new_upload(live, site, name="Newer").json()["id"]
    r = httpx.get(f"{live.url}/360/projects/{site['project']}/uploads", headers=site["auth"])
    assert r.status_code == 200
    ids = [u["id"] for u in r.json()["uploads"]]
    assert ids.index(newer) < ids.index(older)
    assert r.json()["uploads"][0]["processing_status"] == "created"
    missing = httpx.get(f"{live.url}/360/projects/no-such-project/uploads", headers=site["auth"])
    assert missing.status_code == 404 and missing.json()["error"]


# -- processing: the points along the walk -----------------------------------------------------------


POINT_FIELDS = {"index", "time_seconds", "lat", "lng", "x", "y", "source", "panorama_url", "width", "height"}


def wait_processed(server: LiveServer, upload_id: int, auth: dict, timeout: float = 120) -> dict:
    """Poll GET /360/{id}/points until processing ends (done or failed)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = httpx.get(f"{server.url}/360/{upload_id}/points", headers=auth)
        assert r.status_code == 200, r.text
        if r.json()["processing_status"] in ("done", "failed"):
            return r.json()
        time.sleep(0.2)
    raise AssertionError(f"upload {upload_id} still {r.json()['processing_status']} after {timeout} s")


def test_the_five_steps_end_with_points_and_panoramas(live, site, tmp_path):
    import io

    from PIL import Image

    from tests.support import walkthroughs as w

    video = w.dual_fisheye(tmp_path / "VID_20260120_123130_00_001.insv", seconds=2.0).read_bytes()
    upload = new_upload(live, site).json()
    url = tus_upload(live, video, site["auth"])
    body = step5_body(url, start_position="53.3400,-6.2700", end_position="53.3500,-6.2500", target_points_count=3)
    r = requests.put(f"{live.url}/360/{upload['id']}/upload?uploaded_by={site['user']}", json=body,
                     headers=site["auth"])
    assert r.status_code == 200, r.text
    linked = r.json()
    assert linked["processing_status"] == "queued" and linked["processing_error"] is None
    assert linked["points_url"] == f"{live.url}/360/{upload['id']}/points"

    result = wait_processed(live, upload["id"], site["auth"])
    assert result["processing_status"] == "done", result
    assert {k: result[k] for k in ("upload_id", "drawing_id")} == {"upload_id": str(upload["id"]),
                                                                  "drawing_id": str(site["drawing"])}
    points = result["points"]
    assert [p["index"] for p in points] == [0, 1, 2] and all(set(p) == POINT_FIELDS for p in points)
    assert [p["time_seconds"] for p in points] == pytest.approx([0.0, 0.95, 1.9])
    assert [(p["lat"], p["lng"]) for p in points] == [(53.34, -6.27), (53.345, -6.26), (53.35, -6.25)]
    assert [(p["x"], p["y"]) for p in points] == [pytest.approx((i / 2, 1 - i / 2)) for i in range(3)]
    assert {(p["source"], p["width"], p["height"]) for p in points} == {("interpolated", 256, 128)}

    pano = httpx.get(points[1]["panorama_url"])  # signed: no credentials needed
    assert pano.status_code == 200
    assert Image.open(io.BytesIO(pano.content)).size == (256, 128)
    assert httpx.get(points[1]["panorama_url"].replace("Signature=", "Signature=0")).status_code == 403

    again = httpx.get(f"{live.url}/360/{upload['id']}/upload", headers=site["auth"]).json()
    assert again["processing_status"] == "done" and again["points_url"] == linked["points_url"]
    assert again["processing_progress"] == 100
    # Step 5 retried unchanged keeps the result; with another count it processes the walk again.
    put = f"{live.url}/360/{upload['id']}/upload"
    assert httpx.put(put, json=body, headers=site["auth"]).json()["processing_status"] == "done"
    assert httpx.put(put, json={**body, "target_points_count": 2}, headers=site["auth"]).json()[
        "processing_status"] == "queued"
    again = wait_processed(live, upload["id"], site["auth"])
    assert [p["time_seconds"] for p in again["points"]] == pytest.approx([0.0, 1.9])
    # Same auth as the rest of the surface.
    assert httpx.get(f"{live.url}/360/{upload['id']}/points").status_code == 401
    r = httpx.get(f"{live.url}/360/{upload['id']}/points", headers=live.headers(owner="stranger"))
    assert (r.status_code, r.json()["error"]) == (404, "upload_not_found")
    r = httpx.get(f"{live.url}/360/999999/points", headers=site["auth"])
    assert (r.status_code, r.json()["error"]) == (404, "upload_not_found")


def test_a_video_that_is_not_one_fails_with_its_reason(live, site):
    upload = new_upload(live, site).json()
    url = tus_upload(live, os.urandom(5000), site["auth"])
    assert httpx.put(f"{live.url}/360/{upload['id']}/upload", json=step5_body(url, target_points_count=3),
                     headers=site["auth"]).status_code == 200
    result = wait_processed(live, upload["id"], site["auth"])
    assert (result["processing_status"], result["points"]) == ("failed", [])
    assert result["processing_error"].startswith("unsupported_format: walk.insv: content is not a recognised")
    upload = httpx.get(f"{live.url}/360/{upload['id']}/upload", headers=site["auth"]).json()
    assert upload["processing_error"] == result["processing_error"]
