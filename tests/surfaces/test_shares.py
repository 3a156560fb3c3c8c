"""Share links and the project tour over HTTP, against live servers with a real job worker.

Three equirectangular JPEGs with GPS EXIF make a GPS tour; a 360 video that cannot be converted
keeps its record with `error`; share links open the project without a key, and stop on revoke or
expiry (judged by the database's clock)."""

import time

import httpx
import pytest

from tests.support import projects
from tests.support import vehicles as v
from tests.support.panoramas import pano_jpeg

STREET = {  # given out of path order; EXIF times say the walk went a → b → c
    "b.jpg": pano_jpeg((200, 40, 40), gps=(48.85830, 2.29440), taken="2026:05:01 10:00:10"),
    "c.jpg": pano_jpeg((40, 200, 40), gps=(48.85830, 2.29470), taken="2026:05:01 10:00:20"),
    "a.jpg": pano_jpeg((40, 40, 200), gps=(48.85830, 2.29410), taken="2026:05:01 10:00:00"),
}


@pytest.fixture(scope="module")
def live(server):
    return server  # SQLite + local disk, and PostgreSQL + S3


@pytest.fixture(scope="module")
def street(live, tmp_path_factory):
    """A ready project: the street's panoramas, a flat photo and a 16:9 `.insv` (not a 360 layout)."""
    bad = v.clip(tmp_path_factory.mktemp("insv") / "clip.mp4", seconds=1, size=(320, 180))
    headers = live.headers()
    sid = projects.upload(live.api, headers, {**STREET, "flat.jpg": pano_jpeg((9, 9, 9), size=(300, 200)),
                                              "broken.insv": bad})
    assert projects.create(live.api, headers, upload_id=sid, title="Street").status_code == 201
    return sid, projects.wait(live.api, headers, sid, timeout=180)


def test_gps_photos_make_a_tour_in_path_order(live, street):
    sid, record = street
    headers = live.headers()
    assert record["state"] == "ready" and record["tour"]["nodes"] == 3
    assert (record["tour"]["ordered_by"], record["tour"]["gps"]) == ("gps", True)
    files = {f["name"]: f for f in record["files"]}
    assert files["a.jpg"]["details"]["gps"]["lat"] == pytest.approx(48.8583)
    assert files["a.jpg"]["details"]["taken_at"] == "2026-05-01T10:00:00"
    tour = httpx.get(record["tour"]["url"], headers=headers).json()
    assert [n["file"] for n in tour["nodes"]] == ["a.jpg", "b.jpg", "c.jpg"]
    a, b, _ = tour["nodes"]
    assert a["panorama"] == files["a.jpg"]["url"] and a["thumbnail"] == files["a.jpg"]["assets"]["thumbnail"]
    east = next(link for link in a["links"] if link["node"] == b["id"])
    assert east["yaw"] == pytest.approx(90.0, abs=0.1) and east["distance"] == pytest.approx(22.0, abs=0.5)
    assert httpx.get(b["panorama"], headers=headers).content == STREET["b.jpg"]
    assert httpx.get(record["tour"]["url"]).status_code == 401  # the owner's tour needs the key


def test_a_file_that_cannot_be_converted_says_so_and_the_project_is_ready(street):
    _, record = street
    files = {f["name"]: f for f in record["files"]}
    broken = files["broken.insv"]
    assert broken["type"] == "video_360" and broken["error"] == "not_360"
    assert "no panoramas for the tour" in broken["message"]
    assert record["failed_files"] == ["broken.insv"] and record["status"] == 100
    assert "error" not in files["a.jpg"]


def test_a_share_link_opens_read_only_without_a_key_until_revoked(live, street):
    sid, record = street
    headers = live.headers()
    r = httpx.post(f"{live.api}/projects/{sid}/shares", json={}, headers=headers)
    assert r.status_code == 201, r.text
    share = r.json()
    assert share["active"] and share["expires_at"] is None and share["file"] is None
    assert len(share["token"]) >= 40 and share["app_url"].endswith(f"/app/#/share/{share['token']}")
    shared = httpx.get(share["url"]).json()
    assert shared["title"] == "Street" and shared["tour"]["nodes"] == 3
    for secret in ("name", "source", "options", "privacy_mode"):
        assert secret not in shared  # nothing else of the owner: not even the slug (the upload id)
    assert {f["name"] for f in shared["files"]} == {f["name"] for f in record["files"]}
    assert all("origin" not in f and "sha256" not in f for f in shared["files"])
    a = next(f for f in shared["files"] if f["name"] == "a.jpg")
    assert httpx.get(a["url"]).content == STREET["a.jpg"]
    assert httpx.get(a["url"], headers={"Range": "bytes=0-9"}).content == STREET["a.jpg"][:10]
    assert httpx.get(a["assets"]["thumbnail"]).status_code == 200
    tour = httpx.get(shared["tour"]["url"]).json()
    assert [n["file"] for n in tour["nodes"]] == ["a.jpg", "b.jpg", "c.jpg"]
    assert httpx.get(tour["nodes"][2]["panorama"]).content == STREET["c.jpg"]
    listed = httpx.get(f"{live.api}/projects/{sid}/shares", headers=headers).json()["shares"]
    assert share["token"] in {s["token"] for s in listed}

    gone = httpx.delete(f"{live.api}/projects/{sid}/shares/{share['token']}", headers=headers)
    assert gone.json() == {"revoked": True}
    for url in (share["url"], a["url"], tour["nodes"][0]["panorama"], shared["tour"]["url"]):
        r = httpx.get(url)
        assert (r.status_code, r.json()) == (404, {"error": "share_not_found"})
    listed = {s["token"]: s for s in httpx.get(f"{live.api}/projects/{sid}/shares", headers=headers).json()["shares"]}
    assert listed[share["token"]]["active"] is False and listed[share["token"]]["revoked_at"]
    again = httpx.delete(f"{live.api}/projects/{sid}/shares/{share['token']}", headers=headers)
    assert again.status_code == 200  # idempotent


def test_a_file_link_shows_that_file_only(live, street):
    sid, _ = street
    headers = live.headers()
    share = httpx.post(f"{live.api}/projects/{sid}/shares", json={"file": "b.jpg"}, headers=headers).json()
    shared = httpx.get(share["url"]).json()
    assert [f["name"] for f in shared["files"]] == ["b.jpg"] and shared["share"]["file"] == "b.jpg"
    assert "tour" not in shared
    other = shared["files"][0]["url"].replace("/b.jpg", "/a.jpg")
    assert httpx.get(other).status_code == 404
    assert httpx.get(share["url"] + "/tour").status_code == 404


def test_an_expired_link_answers_404(live, street):
    sid, _ = street
    share = httpx.post(f"{live.api}/projects/{sid}/shares", json={"expires_in_seconds": 1},
                       headers=live.headers()).json()
    assert share["expires_at"] is not None
    deadline = time.monotonic() + 30  # the database's clock passes the expiry within about a second
    while httpx.get(share["url"]).status_code == 200 and time.monotonic() < deadline:
        time.sleep(0.25)
    r = httpx.get(share["url"])
    assert (r.status_code, r.json()["error"]) == (404, "share_not_found")


def test_share_refusals(live, street):
    sid, _ = street
    headers = live.headers()
    base = f"{live.api}/projects/{sid}/shares"
    assert httpx.post(base, json={"file": "nope.jpg"}, headers=headers).json()["error"] == "file_not_found"
    r = httpx.post(base, json={"expires_in_seconds": 0}, headers=headers)
    assert (r.status_code, r.json()["error"]) == (400, "invalid_share")
    assert httpx.post(f"{live.api}/projects/nope/shares", json={}, headers=headers).status_code == 404
    assert httpx.post(base, json={}).status_code == 401
    assert httpx.delete(f"{base}/{'x' * 43}", headers=headers).json()["error"] == "share_not_found"
    assert httpx.get(f"{live.api}/share/{'x' * 43}").status_code == 404
    assert httpx.get(f"{live.api}/share/short").status_code == 404


def test_a_public_project_is_shared_from_the_start(live):
    headers = live.headers()
    sid = projects.upload(live.api, headers, {"p.jpg": STREET["a.jpg"]})
    assert projects.create(live.api, headers, upload_id=sid, privacy_mode=0).status_code == 201
    shares = httpx.get(f"{live.api}/projects/{sid}/shares", headers=headers).json()["shares"]
    assert len(shares) == 1 and shares[0]["active"] and shares[0]["expires_at"] is None
    projects.wait(live.api, headers, sid)
    assert httpx.get(shares[0]["url"]).json()["tour"]["nodes"] == 1
    private = projects.upload(live.api, headers, {"p.jpg": STREET["a.jpg"]})
    assert projects.create(live.api, headers, upload_id=private, privacy_mode=2).status_code == 201
    assert httpx.get(f"{live.api}/projects/{private}/shares", headers=headers).json() == {"shares": []}
