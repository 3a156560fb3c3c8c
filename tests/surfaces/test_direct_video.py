"""The Direct Video Upload API over HTTP on both stores: the document's four steps with plain PUTs,
the role rules, auth roles, cancel, expiry, the library entry and the verification of its files."""

import asyncio
import hashlib
import os
import time
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update

from omnidrop.db.engine import Database
from omnidrop.db.models import VideoUploadGroup
from omnidrop.db.types import utcnow
from tests.support import direct_video as dv
from tests.support.server import read_blob, stored_keys

MiB = 1024 * 1024
BASE = "/api/videos/uploads"


@pytest.fixture
def client(server):
    with httpx.Client(base_url=server.url, headers={"X-SPATIALGEN-APPKEY": server.key("videos:upload")},
                      timeout=60) as c:
        yield c


def create(c, layout: str, files: list[tuple[str, str, int]], title: str = "Trip") -> httpx.Response:
    return c.post(BASE, json={"title": title, "layout": layout, "files": [
        {"role": role, "filename": name, "size": size, "contentType": "application/octet-stream"}
        for role, name, size in files
    ]})


def upload_file(c, sid: str, f: dict, data: bytes, batches: list[list[int]] | None = None) -> list[dict]:
    """Steps 2 and 3: part URLs (asked for in batches: the route may be called many times), plain PUTs."""
    batches = batches or [list(range(1, f["partCount"] + 1))]
    done = []
    for numbers in batches:
        r = c.post(f"{BASE}/{sid}/files/{f['uploadId']}/part-urls", json={"partNumbers": numbers})
        assert r.status_code == 200, r.text
        for p in r.json()["parts"]:
            n = p["partNumber"]
            piece = data[(n - 1) * f["partSize"] : n * f["partSize"]]
            put = httpx.put(p["url"], content=piece, timeout=120)
            assert put.status_code == 200, put.text
            done.append({"partNumber": n, "etag": put.headers["ETag"]})
    return done


def error(r: httpx.Response) -> tuple[int, str]:
    return r.status_code, r.json()["error"]["code"]


def test_four_steps_then_a_library_entry(client, server):
    video, audio, aime = os.urandom(13 * MiB + 3), os.urandom(1000), b'{"aime": true}'
    # 1. the upload group
    r = create(client, "SideBySide", [("video", "trip.mov", len(video)), ("audio", "trip.m4a", len(audio)),
                                      ("aime", "trip.aime", len(aime))])
    assert r.status_code == 201, r.text
    group = r.json()
    sid, files = group["uploadSessionId"], {f["role"]: f for f in group["files"]}
    assert group["status"] == "uploading" and files["video"]["partCount"] == 2
    url_of = lambda role: client.get(f"{BASE}/{sid}/files/{files[role]['uploadId']}/url")  # noqa: E731
    assert error(url_of("video")) == (409, "upload_not_complete")  # nothing to play yet
    for role, data in (("video", video), ("audio", audio), ("aime", aime)):
        f = files[role]
        batches = [[1], [2]] if role == "video" else None
        parts = upload_file(client, sid, f, data, batches)  # 2 and 3
        # 4. complete the file
        r = client.post(f"{BASE}/{sid}/files/{f['uploadId']}/complete", json={"parts": parts})
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "completed"
    final = r.json()["uploadSession"]
    assert final["status"] == "completed" and final["libraryId"]
    key = f"videos/{sid}/{files['video']['uploadId']}.mov"
    assert hashlib.sha256(read_blob(server, key)).digest() == hashlib.sha256(video).digest()
    # The web app's player: a signed URL (no key header needed) that serves ranges of the stored video.
    signed = url_of("video").json()["url"]
    got = httpx.get(signed, headers={"Range": "bytes=10-19"})
    assert (got.status_code, got.content) == (206, video[10:20])
    assert httpx.get(signed.replace(files["video"]["uploadId"], files["audio"]["uploadId"])).status_code in (403, 404)
    assert error(client.get(f"{BASE}/{sid}/files/nope/url")) == (404, "upload_not_found")
    library = client.get("/api/videos/library").json()["items"]
    entry = next(i for i in library if i["uploadSessionId"] == sid)
    assert entry["libraryId"] == final["libraryId"] and entry["title"] == "Trip" and len(entry["files"]) == 3
    # Completing a file again changes nothing and makes no second library entry.
    again = client.post(f"{BASE}/{sid}/files/{files['aime']['uploadId']}/complete", json={"parts": []})
    assert again.status_code == 200
    assert [i["uploadSessionId"] for i in client.get("/api/videos/library").json()["items"]].count(sid) == 1
    assert error(client.post(f"{BASE}/{sid}/cancel")) == (409, "upload_session_completed")


def test_separate_layout_takes_left_and_right(client):
    left, right = os.urandom(100), os.urandom(200)
    r = create(client, "Separate", [("video_left", "l.mp4", len(left)), ("video_right", "r.mp4", len(right))])
    assert r.status_code == 201, r.text
    sid = r.json()["uploadSessionId"]
    for f, data in zip(r.json()["files"], (left, right)):
        parts = upload_file(client, sid, f, data)
        client.post(f"{BASE}/{sid}/files/{f['uploadId']}/complete", json={"parts": parts}).raise_for_status()
    assert client.get(f"{BASE}/{sid}").json()["status"] == "completed"


@pytest.mark.parametrize("layout, files, code", [
    ("Separate", [("video_left", "l.mp4", 1)], "invalid_file_roles"),
    ("Separate", [("video_left", "l.mp4", 1), ("video_right", "r.mp4", 1), ("video", "v.mp4", 1)],
     "invalid_file_roles"),
    ("Separate", [("video_left", "l.mp4", 1), ("video_left", "l2.mp4", 1), ("video_right", "r.mp4", 1)],
     "invalid_file_roles"),
    ("SideBySide", [("audio", "a.m4a", 1)], "invalid_file_roles"),
    ("SideBySide", [("video", "a.mp4", 1), ("video", "b.mp4", 1)], "invalid_file_roles"),
    ("SideBySide", [("video", "a.mp4", 1), ("video_left", "l.mp4", 1)], "invalid_file_roles"),
    ("MVHEVC", [("video", "a.mov", 1), ("aime", "a.aime", 1), ("aime", "b.aime", 1)], "invalid_file_roles"),
    ("MVHEVC", [("video", "a.mov", 1), ("fcpxmld", "a.zip", 1), ("fcpxmld", "b.zip", 1)], "invalid_file_roles"),
    ("MVHEVC", [("video", "a.mov", 1), ("poster", "p.jpg", 1)], "invalid_file_roles"),
    ("MVHEVC", [("video", "a.exe", 1)], "unsupported_file_type"),
    ("Anaglyph", [("video", "a.mp4", 1)], "invalid_layout"),
    ("Mono", [], "invalid_request"),
    ("Mono", [("video", "a.mp4", 0)], "invalid_request"),
])
def test_role_rules_are_refused_with_clear_errors(client, layout, files, code):
    r = create(client, layout, files)
    assert error(r) == (400, code)
    assert r.json()["error"]["message"]


def test_file_names_and_the_title_follow_the_naming_rule(client):
    video, audio, subtitle = os.urandom(300), os.urandom(200), b"1\n00:00:00,000 --> 00:00:01,000\nhi\n"
    r = create(client, "Mono", [("video", "trip\u202egpj.mov", len(video)), ("audio", "../../a\x00b.m4a", len(audio)),
                                ("subtitle", "\u2066" + "é" * 120 + ".srt\u2069", len(subtitle))],
               title="Trip\u202e to\x07 the sea ")
    assert r.status_code == 201, r.text
    group = r.json()
    assert group["title"] == "Trip to the sea"
    names = [f["filename"] for f in group["files"]]
    assert sorted(names) == sorted(["tripgpj.mov", "ab.m4a", "é" * 120 + ".srt"])  # 244 bytes: kept whole
    assert sorted(f["filename"] for f in client.get(f"{BASE}/{group['uploadSessionId']}").json()["files"]) == sorted(names)
    sid = group["uploadSessionId"]
    data = {"video": video, "audio": audio, "subtitle": subtitle}
    for f in group["files"]:
        parts = upload_file(client, sid, f, data[f["role"]])
        client.post(f"{BASE}/{sid}/files/{f['uploadId']}/complete", json={"parts": parts}).raise_for_status()
        got = client.get(f"{BASE}/{sid}/files/{f['uploadId']}/url")  # its download URL works
        assert got.status_code == 200 and httpx.get(got.json()["url"]).content == data[f["role"]]


@pytest.mark.parametrize(("filename", "code"), [
    ("..", "invalid_filename"),  # nothing usable left: the client picks another name
    ("\u202e\u200b", "invalid_filename"),
    ("é" * 200 + ".mp4", "invalid_filename"),  # 404 bytes, past 255
    ("a" * 4996 + ".mp4", "invalid_request"),  # 5000 characters: past the field's 255
])
def test_unusable_file_names_are_refused(client, filename, code):
    r = create(client, "Mono", [("video", filename, 10)])
    assert error(r) == (400, code) and r.json()["error"]["message"]


def test_app_key_roles(server):
    url = f"{server.url}{BASE}"
    body = {"layout": "Mono", "files": [{"role": "video", "filename": "a.mp4", "size": 1}]}
    assert error(httpx.post(url, json=body)) == (401, "missing_api_key")
    assert error(httpx.post(url, json=body, headers={"X-SPATIALGEN-APPKEY": "sk_wrong"})) == (401, "invalid_api_key")
    other = {"X-SPATIALGEN-APPKEY": server.key("projects:write")}
    assert error(httpx.post(url, json=body, headers=other)) == (403, "insufficient_scope")
    admin = {"X-SPATIALGEN-APPKEY": server.key("videos:admin", owner="alice")}
    r = httpx.post(url, json=body, headers=admin)
    assert r.status_code == 201
    mallory = {"X-SPATIALGEN-APPKEY": server.key("videos:upload", owner="mallory")}
    assert error(httpx.get(f"{url}/{r.json()['uploadSessionId']}", headers=mallory)) == (404, "upload_session_not_found")


def test_cancel_deletes_the_parts_and_cannot_be_resumed(client, server):
    data = os.urandom(9 * MiB)
    r = create(client, "Mono", [("video", "v.mp4", len(data)), ("subtitle", "v.srt", 10)])
    sid, f = r.json()["uploadSessionId"], r.json()["files"][0]
    parts = upload_file(client, sid, f, data, [[1]])
    r = client.post(f"{BASE}/{sid}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert client.post(f"{BASE}/{sid}/cancel").json()["status"] == "cancelled"  # idempotent
    assert error(client.post(f"{BASE}/{sid}/files/{f['uploadId']}/part-urls", json={})) == \
        (409, "upload_session_cancelled")
    assert error(client.post(f"{BASE}/{sid}/files/{f['uploadId']}/complete", json={"parts": parts})) == \
        (409, "upload_session_cancelled")
    assert stored_keys(server, f"videos/{sid}") == []


def test_part_and_complete_errors(client):
    data = os.urandom(9 * MiB)
    r = create(client, "Mono", [("video", "v.mp4", len(data))])
    sid, f = r.json()["uploadSessionId"], r.json()["files"][0]
    urls = f"{BASE}/{sid}/files/{f['uploadId']}/part-urls"
    assert error(client.post(urls, json={"partNumbers": [3]})) == (400, "invalid_part_number")
    assert error(client.post(urls, json={"partNumbers": ["x"]})) == (400, "invalid_request")
    assert error(client.post(f"{BASE}/{sid}/files/nope/part-urls", json={})) == (404, "upload_not_found")
    assert error(client.post(f"{BASE}/nope/files/{f['uploadId']}/part-urls", json={})) == \
        (404, "upload_session_not_found")
    parts = upload_file(client, sid, f, data)
    complete = f"{BASE}/{sid}/files/{f['uploadId']}/complete"
    wrong = [parts[0], {"partNumber": 2, "etag": '"' + "0" * 32 + '"'}]
    assert error(client.post(complete, json={"parts": wrong})) == (400, "invalid_part")
    assert error(client.post(complete, json={"parts": parts[::-1]})) == (400, "invalid_part_order")
    assert error(client.post(complete, json={"parts": parts[:1]})) == (400, "size_mismatch")
    assert error(client.post(complete, json={"parts": []})) == (400, "malformed_part_list")
    assert error(client.post(complete, json={})) == (400, "invalid_request")
    assert client.post(complete, json={"parts": parts}).json()["uploadSession"]["status"] == "completed"


def test_a_group_expires_after_5_days(client, server):
    data = os.urandom(100)
    r = create(client, "Mono", [("video", "v.mp4", len(data))])
    group = r.json()
    sid, f = group["uploadSessionId"], group["files"][0]
    assert group["expiresAt"]
    upload_file(client, sid, f, data)

    async def backdate() -> None:  # as if 5 days had passed
        db = Database(server.env["OMNIDROP_DATABASE_URL"])
        try:
            async with db.write() as s:
                await s.execute(update(VideoUploadGroup).where(VideoUploadGroup.id == sid)
                                .values(expires_at=utcnow() - timedelta(seconds=1)))
        finally:
            await db.dispose()

    asyncio.run(backdate())
    assert error(client.post(f"{BASE}/{sid}/files/{f['uploadId']}/part-urls", json={})) == \
        (410, "upload_session_expired")


# -- verification -------------------------------------------------------------------------------

def upload_group(c, layout: str, files: list[tuple[str, str, bytes]]) -> str:
    """All four steps for every file; answers the uploadSessionId."""
    r = create(c, layout, [(role, name, len(data)) for role, name, data in files])
    assert r.status_code == 201, r.text
    sid = r.json()["uploadSessionId"]
    for f, (_, _, data) in zip(r.json()["files"], files):
        parts = upload_file(c, sid, f, data)
        done = c.post(f"{BASE}/{sid}/files/{f['uploadId']}/complete", json={"parts": parts})
        assert done.status_code == 200, done.text
    return sid


def wait_verified(c, sid: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        group = c.get(f"{BASE}/{sid}").json()
        if group["verification"]["status"] in ("verified", "unverified", "failed"):
            return group
        time.sleep(0.2)
    raise AssertionError(f"group {sid} never verified: {group['verification']}")


def test_a_good_separate_group_verifies_and_the_library_shows_it(client, tmp_path):
    files = [("video_left", "left.mp4", dv.eye(tmp_path / "l.mp4")),
             ("video_right", "right.mp4", dv.eye(tmp_path / "r.mp4")),
             ("subtitle", "en.vtt", dv.VTT), ("audio", "mix.m4a", dv.audio(tmp_path / "a.m4a")),
             ("aime", "venue.aime", dv.AIME), ("fcpxmld", "edit.fcpxmld", dv.fcpxmld_zip())]
    sid = upload_group(client, "Separate", files)
    group = wait_verified(client, sid)
    assert group["status"] == "completed"  # the upload state is unchanged; verification is beside it
    assert group["verification"]["status"] == "verified" and group["verification"]["code"] is None
    assert group["verification"]["eyes"]["match"] is True
    probes = {f["filename"]: f["probe"] for f in group["files"]}
    assert all(p["ok"] for p in probes.values())
    assert (probes["left.mp4"]["info"]["width"], probes["left.mp4"]["info"]["height"]) == (128, 64)
    assert probes["en.vtt"]["info"] == {"format": "webvtt", "cues": 2, "start": 0.0, "end": 1.9}
    item = next(i for i in client.get("/api/videos/library").json()["items"] if i["uploadSessionId"] == sid)
    assert item["verification"]["status"] == "verified"


def test_separate_eyes_that_disagree_fail_verification(client, tmp_path):
    files = [("video_left", "left.mp4", dv.eye(tmp_path / "l.mp4", rate=10)),
             ("video_right", "right.mp4", dv.eye(tmp_path / "r.mp4", rate=20, frames=40))]
    group = wait_verified(client, upload_group(client, "Separate", files))
    v = group["verification"]
    assert (v["status"], v["code"]) == ("failed", "eyes_mismatch")
    assert "frame rate 10.000 (left) vs 20.000 (right) fps" in v["message"]
    assert v["eyes"]["match"] is False


def test_an_aime_that_cannot_be_checked_leaves_the_group_unverified(client, tmp_path):
    files = [("video", "movie.mp4", dv.eye(tmp_path / "v.mp4")), ("aime", "venue.aime", b"\x01\x02AIME binary")]
    group = wait_verified(client, upload_group(client, "Mono", files))
    v = group["verification"]
    assert (v["status"], v["code"]) == ("unverified", "unchecked_aime")
    assert "'venue.aime' was accepted unchecked" in v["message"]
    probes = {f["filename"]: f["probe"] for f in group["files"]}
    assert (probes["venue.aime"]["ok"], probes["venue.aime"]["checked"]) == (True, False)
    assert probes["movie.mp4"]["checked"] is True


def test_a_bad_subtitle_fails_verification(client, tmp_path):
    files = [("video", "movie.mp4", dv.eye(tmp_path / "v.mp4")), ("subtitle", "en.srt", dv.NOT_SUBTITLES)]
    group = wait_verified(client, upload_group(client, "Mono", files))
    v = group["verification"]
    assert (v["status"], v["code"]) == ("failed", "invalid_subtitle")
    assert "en.srt" in v["message"] and "not SRT, WebVTT" in v["message"]
    probes = {f["filename"]: f["probe"] for f in group["files"]}
    assert probes["movie.mp4"]["ok"] is True and probes["en.srt"]["code"] == "unsupported_format"


def test_groups_are_listed_in_every_state_newest_first(client, server):
    first = create(client, "Mono", [("video", "a.mp4", 10)], title="first").json()["uploadSessionId"]
    second = create(client, "Mono", [("video", "b.mp4", 10)], title="second").json()["uploadSessionId"]
    assert client.post(f"{BASE}/{first}/cancel").status_code == 200
    items = client.get(BASE, params={"limit": 1000}).json()["items"]
    ids = [g["uploadSessionId"] for g in items]
    assert ids.index(second) < ids.index(first)
    assert {g["uploadSessionId"]: g["status"] for g in items}[first] == "cancelled"
    theirs = httpx.get(f"{server.url}{BASE}", headers={"X-SPATIALGEN-APPKEY": server.key("videos:upload", owner="elsewhere")})
    assert first not in [g["uploadSessionId"] for g in theirs.json()["items"]]
    assert error(client.get(BASE, params={"limit": 0})) == (400, "invalid_request")
