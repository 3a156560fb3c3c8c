"""The Captures API over HTTP on both stores: the document's four-step workflow with plain PUTs to the
returned URLs, every 422 it can give, omnidrop's signed part URLs on local disk, and processing: a
capture becomes frames, a preview, a GIF and camera poses behind signed URLs, or fails with its reason
(frames that give no 3D model too); sharing: public captures open without a key, private ones only with
the owner's."""

import hashlib
import io
import os
import time
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest
from PIL import Image

from omnidrop.auth.signing import EXPIRES, SIGNATURE, UrlSigner
from tests.support.captures import images_zip
from tests.support.server import read_blob, stored_keys

MiB = 1024 * 1024


@pytest.fixture
def client(server):
    with httpx.Client(base_url=server.url, headers=server.headers("captures"), timeout=60) as c:
        yield c


def new_capture(c, bytesize: int, **extra) -> dict:
    r = c.post("/api/v1/captures", json={"name": "living room", "bytesize": bytesize, **extra})
    assert r.status_code == 200, r.text
    return r.json()


def upload_url(c, eid: str, part_no: int, bytesize: int) -> str:
    r = c.post(f"/api/v1/captures/{eid}/create-upload-url/{part_no}", json={"eid": eid, "bytesize": bytesize})
    assert r.status_code == 200, r.text
    assert r.json()["eid"] == eid
    return r.json()["upload_url"]


def put(url: str, data: bytes) -> str:
    """Step 3 exactly as a client does it: a plain PUT, no omnidrop headers; keep the ETag."""
    r = httpx.put(url, content=data, timeout=120)
    assert r.status_code == 200, r.text
    return r.headers["ETag"]


def is_local(server) -> bool:
    return "OMNIDROP_STORAGE_URL" not in server.env


def test_four_step_workflow_then_list_rename_share_delete(client, server):
    data = os.urandom(21 * MiB + 5)
    # 1. create
    created = new_capture(client, len(data), input_data_format="bulk-images", num_frames=120, guided_mode=True,
                          training_parameters={"focus_area": {"min_lat": 1.0, "max_lat": 2.0, "polylines": ["abc"]}})
    eid, chunk, n = created["eid"], created["chunk_size"], created["num_parts"]
    assert (chunk, n) == (16 * MiB, 2)
    etags = []
    for part_no in range(n):
        # 2. an upload URL per part, numbered from 1
        url = upload_url(client, eid, part_no + 1, len(data))
        if not is_local(server):  # on S3 the bytes go straight to the bucket, never through omnidrop
            assert url.startswith(server.env["OMNIDROP_STORAGE_URL"].split("endpoint=")[1].split("&")[0])
            assert "X-Amz-Signature=" in url
        # 3. PUT chunk_size bytes, remember the ETag
        etags.append(put(url, data[part_no * chunk : (part_no + 1) * chunk]))
    assert etags[0] == f'"{hashlib.md5(data[:chunk]).hexdigest()}"'
    # 4. complete
    r = client.post(f"/api/v1/captures/{eid}/uploaded",
                    json={"eid": eid, "parts": [{"number": i + 1, "etag": e} for i, e in enumerate(etags)]})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["state"] == "UPLOADED" and out["uploaded"] and out["sid"] and out["is_public"] is True
    assert set(out) == {"eid", "sid", "name", "created", "uploaded", "state", "error_reason", "state_description",
                        "error_reason_slug", "preview_urls", "preview_url", "viewer_url", "share_url", "share_link",
                        "gif_url", "video_url", "share_video_url", "is_public"}
    assert read_blob(server, f"captures/{eid}/input.zip") == data
    # Completing again answers the same capture.
    again = client.post(f"/api/v1/captures/{eid}/uploaded", json={"eid": eid, "parts": []})
    assert again.status_code == 200 and again.json()["sid"] == out["sid"]

    listed = client.get("/api/v1/captures", params={"limit": 100}).json()
    assert [c["eid"] for c in listed].count(eid) == 1
    assert not listed[0]["created"].endswith(("Z", "+00:00"))
    aware = client.get("/api/v1/captures", params={"limit": 1, "time_zone": "true"}).json()
    assert aware[0]["created"].endswith(("Z", "+00:00"))

    renamed = client.put(f"/api/v1/captures/{eid}", json={"name": "kitchen"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "kitchen"

    meta = httpx.get(f"{server.url}/share/{out['sid']}/metadata",
                     params={"lod": "false", "profiles": ["ply", "sogs-sh0"], "quality": "high"})
    assert meta.status_code == 200, meta.text
    assert meta.json()["eid"] == eid and meta.json()["profile_name"] == "ply" and meta.json()["models"] == []

    assert client.delete(f"/api/v1/captures/{eid}").status_code == 204
    assert client.put(f"/api/v1/captures/{eid}", json={"name": "x"}).status_code == 404
    assert stored_keys(server, f"captures/{eid}") == []


@pytest.mark.parametrize("body, field", [
    ({"bytesize": 10}, "name"),
    ({"name": "x"}, "bytesize"),
    ({"name": "x", "bytesize": 0}, "bytesize"),
    ({"name": "x", "bytesize": "many"}, "bytesize"),
    ({"name": "x", "bytesize": 10, "input_data_format": "laserdisc"}, "input_data_format"),
    ({"name": "x", "bytesize": 10, "training_parameters": {"focus_area": {"max_lat": 91}}}, "training_parameters"),
])
def test_invalid_new_capture_is_422_in_fastapi_shape(client, body, field):
    r = client.post("/api/v1/captures", json=body)
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert field in detail[0]["loc"] and {"loc", "msg", "type"} <= set(detail[0])


def test_invalid_queries_and_part_requests_are_422(client, server):
    assert client.get("/api/v1/captures", params={"limit": 0}).status_code == 422
    assert client.get("/api/v1/captures", params={"offset": -1}).status_code == 422
    eid = new_capture(client, 100)["eid"]
    url = f"/api/v1/captures/{eid}/create-upload-url"
    assert client.post(f"{url}/2", json={"eid": eid, "bytesize": 100}).status_code == 422  # only 1 part
    assert client.post(f"{url}/0", json={"eid": eid, "bytesize": 100}).status_code == 422
    assert client.post(f"{url}/1", json={"eid": eid, "bytesize": 99}).status_code == 422  # not its size
    assert client.post(f"{url}/1", json={"eid": "other", "bytesize": 100}).json()["detail"][0]["loc"] == ["body", "eid"]
    assert client.post(f"{url}/one", json={"eid": eid, "bytesize": 100}).status_code == 422
    assert client.put(f"/api/v1/captures/{eid}", json={}).status_code == 422
    done = client.post(f"/api/v1/captures/{eid}/uploaded", json={"eid": eid, "parts": []})
    assert done.status_code == 422 and done.json()["detail"][0]["type"] == "malformed_part_list"
    share = f"{server.url}/share/whatever/metadata"
    assert httpx.get(share, params={"lod": "true", "profiles": "ply"}).status_code == 422  # quality missing
    bad = httpx.get(share, params={"lod": "true", "profiles": "obj", "quality": "high"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "profiles"]


def test_complete_refuses_what_s3_refuses(client):
    data = os.urandom(40 * MiB)
    eid = new_capture(client, len(data))["eid"]  # 16 MiB parts: 16 + 16 + 8
    pieces = [data[:16 * MiB], data[16 * MiB : 32 * MiB], data[32 * MiB :]]
    etags = [put(upload_url(client, eid, i + 1, len(data)), p) for i, p in enumerate(pieces)]

    def complete(parts):
        return client.post(f"/api/v1/captures/{eid}/uploaded",
                           json={"eid": eid, "parts": [{"number": n, "etag": e} for n, e in parts]})

    cases = {
        "invalid_part": [(1, etags[0]), (2, '"' + "f" * 32 + '"'), (3, etags[2])],  # wrong ETag
        "size_mismatch": [(1, etags[0]), (3, etags[2])],  # a part left out
        "invalid_part_order": [(2, etags[1]), (1, etags[0]), (3, etags[2])],
    }
    for code, parts in cases.items():
        r = complete(parts)
        assert (r.status_code, r.json()["detail"][0]["type"]) == (422, code), r.text
    missing = complete([(1, etags[0]), (2, etags[1]), (4, etags[2])])
    assert (missing.status_code, missing.json()["detail"][0]["type"]) == (422, "invalid_part")
    # A small middle part: re-PUT part 2 short (a re-PUT overwrites), then part 2 is too small.
    short = put(upload_url(client, eid, 2, len(data)), b"tiny")
    r = complete([(1, etags[0]), (2, short), (3, etags[2])])
    assert (r.status_code, r.json()["detail"][0]["type"]) == (422, "entity_too_small")
    # None of that lost anything: put part 2 back and complete.
    etag2 = put(upload_url(client, eid, 2, len(data)), pieces[1])
    assert complete([(1, etags[0]), (2, etag2), (3, etags[2])]).json()["state"] == "UPLOADED"
    # An uploaded capture takes no more parts.
    r = client.post(f"/api/v1/captures/{eid}/create-upload-url/1", json={"eid": eid, "bytesize": len(data)})
    assert r.status_code == 409


def test_auth_and_ownership(server):
    assert httpx.get(f"{server.url}/api/v1/captures").status_code == 401
    assert httpx.get(f"{server.url}/api/v1/captures", headers={"Authorization": "Bearer sk_nope"}).status_code == 401
    no_scope = httpx.get(f"{server.url}/api/v1/captures", headers=server.headers("projects:write"))
    assert no_scope.status_code == 403
    # The hosted API's own header form works too.
    luma = {"Authorization": f"luma-api-key={server.key('captures', owner='alice')}"}
    eid = httpx.post(f"{server.url}/api/v1/captures", json={"name": "a", "bytesize": 5}, headers=luma).json()["eid"]
    mallory = server.headers("captures", owner="mallory")
    assert httpx.put(f"{server.url}/api/v1/captures/{eid}", json={"name": "x"}, headers=mallory).status_code == 404
    assert httpx.delete(f"{server.url}/api/v1/captures/{eid}", headers=mallory).status_code == 404
    assert eid not in [c["eid"] for c in httpx.get(f"{server.url}/api/v1/captures", headers=mallory).json()]
    assert httpx.get(f"{server.url}/share/nosuchsid/metadata",
                     params={"lod": "false", "profiles": "ply", "quality": "high"}).status_code == 404


def test_part_urls_are_signed_and_local_ones_refuse_expired_and_altered_urls(client, server):
    eid = new_capture(client, 10)["eid"]
    url = upload_url(client, eid, 1, 10)
    if not is_local(server):
        # S3 itself checks its presigned UploadPart URLs (moto does not, so refusals are tested on local).
        query = dict(parse_qsl(urlsplit(url).query))
        assert query["partNumber"] == "1" and "uploadId" in query
        assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256" and "X-Amz-Signature" in query
        return
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    base = f"{parts.scheme}://{parts.netloc}"

    def refused(method: str, path: str, q: dict) -> None:
        r = httpx.request(method, f"{base}{path}?{urlencode(q)}", content=b"0123456789")
        assert r.status_code == 403, (method, path, r.text)
        assert r.headers["content-type"].startswith("application/xml") and b"<Error><Code>" in r.content

    refused("PUT", parts.path.replace("/1", "/2"), query)  # another part number
    refused("PUT", parts.path.replace(parts.path.split("/")[3], "x" * 24), query)  # another upload
    refused("POST", parts.path, query)  # another method
    refused("GET", parts.path, query)
    refused("PUT", parts.path, {**query, SIGNATURE: "0" * 64})
    refused("PUT", parts.path, {**query, EXPIRES: str(int(query[EXPIRES]) + 3600)})
    refused("PUT", parts.path, {})
    # Expired: the same path signed with the server's own key, with an expiry in the past.
    signer = UrlSigner((server.data_dir / "secret_key").read_bytes().strip())
    refused("PUT", *_split(signer.sign("PUT", parts.path, -10)))
    # The genuine URL still works, and answers the part's ETag like S3.
    assert put(url, b"0123456789") == f'"{hashlib.md5(b"0123456789").hexdigest()}"'


def _split(path_and_query: str) -> tuple[str, dict]:
    path, _, q = path_and_query.partition("?")
    return path, dict(parse_qsl(q))


# -- processing ---------------------------------------------------------------------------------

def upload_capture(c, data: bytes, **extra) -> dict:
    """The document's four steps; answers the CaptureOutput of step 4."""
    created = new_capture(c, len(data), **extra)
    eid, chunk = created["eid"], created["chunk_size"]
    etags = [put(upload_url(c, eid, i + 1, len(data)), data[i * chunk : (i + 1) * chunk])
             for i in range(created["num_parts"])]
    r = c.post(f"/api/v1/captures/{eid}/uploaded",
               json={"eid": eid, "parts": [{"number": i + 1, "etag": e} for i, e in enumerate(etags)]})
    assert r.status_code == 200, r.text
    return r.json()


def wait_processed(c, eid: str, timeout: float = 120) -> dict:
    """Poll the list (the API has no single-capture GET) until the capture is FINISHED or FAILED."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = next(x for x in c.get("/api/v1/captures", params={"limit": 1000}).json() if x["eid"] == eid)
        if found["state"] in ("FINISHED", "FAILED"):
            return found
        assert found["state"] in ("UPLOADED", "PROCESSING")
        time.sleep(0.2)
    raise AssertionError(f"capture {eid} still {found['state']}")


def fetch_image(url: str, fmt: str) -> Image.Image:
    r = httpx.get(url, timeout=30)  # a signed URL: no key needed
    assert r.status_code == 200, r.text
    image = Image.open(io.BytesIO(r.content))
    assert image.format == fmt
    return image


def test_frames_that_give_no_3d_model_fail_the_capture_with_its_slug(client, server):
    """Three flat colours: frames, but nothing to match. The capture ends FAILED (never FINISHED without a
    model, never stuck in PROCESSING) with the mapping's slug and a sentence; it shows no frames."""
    out = upload_capture(client, images_zip(), input_data_format="bulk-images")
    done = wait_processed(client, out["eid"])
    assert (done["state"], done["error_reason"], done["error_reason_slug"]) == \
        ("FAILED", "INVALID_INPUT", "featureless")
    assert done["state_description"].startswith("no 3D model could be made from the 3 frames: ")
    assert done["preview_url"] is None and done["gif_url"] is None and done["viewer_url"] is None
    meta = httpx.get(f"{server.url}/share/{done['sid']}/metadata",
                     params={"lod": "false", "profiles": "ply", "quality": "high"}).json()
    assert (meta["state"], meta["frames"], meta["cameras"], meta["splat"]["state"]) == ("FAILED", [], [], "none")
    assert stored_keys(server, f"captures/{out['eid']}") == [f"captures/{out['eid']}/input.zip"]


def test_a_capture_that_cannot_give_frames_fails_with_its_reason(client):
    out = upload_capture(client, images_zip(), input_data_format="video")  # a zip sent as the video
    done = wait_processed(client, out["eid"])
    assert (done["state"], done["error_reason"], done["error_reason_slug"]) == \
        ("FAILED", "INVALID_INPUT", "unsupported-format")
    assert "not a usable video" in done["state_description"]
    assert done["preview_url"] is None and done["gif_url"] is None


def test_a_walk_around_becomes_poses_a_colmap_export_and_a_waiting_splat(client, server, tmp_path):
    """The rendered orbit as a photo-set zip through the four steps: the metadata has one world-from-camera
    matrix per registered frame, the COLMAP export and sparse.ply download and read back, no splat is
    claimed, and the training job waits for a GPU worker (this server's own worker consumes only `default`)."""
    import pycolmap
    from plyfile import PlyData

    from tests.support.scene3d import shared_orbit, views_zip

    views = shared_orbit()
    out = upload_capture(client, views_zip(views), input_data_format="bulk-images")
    done = wait_processed(client, out["eid"], timeout=300)
    assert (done["state"], done["error_reason"]) == ("FINISHED", None)
    assert "waits for a GPU worker" in done["state_description"]
    assert done["video_url"] is None  # no splat, no turntable
    assert done["viewer_url"] == f"{server.url}/app/#/capture/{done['sid']}"
    assert fetch_image(done["preview_url"], "JPEG").size == views[len(views) // 2].image.size  # under 1024 px
    assert fetch_image(done["gif_url"], "GIF").n_frames == min(48, len(views))
    assert done["preview_urls"] == {"preview": done["preview_url"], "gif": done["gif_url"]}

    meta = httpx.get(f"{server.url}/share/{done['sid']}/metadata",
                     params={"lod": "false", "profiles": ["ply", "sogs-sh0"], "quality": "high"}).json()
    recon = meta["reconstruction"]
    assert recon["state"] == "done" and recon["registered"] >= 0.9 * len(views) and recon["total"] == len(views)
    assert len(meta["cameras"]) == recon["registered"] == len(recon["frames"])
    for camera in meta["cameras"]:
        matrix = camera["matrix"]
        assert len(matrix) == 16 and matrix[12:] == [0.0, 0.0, 0.0, 1.0]
    assert meta["models"] == [] and meta["model_urls"] == []  # nothing pretends a splat exists
    assert meta["splat"] == {"state": "waiting", "progress": 0.0}
    assert meta["video_trajectory"] is None
    assert meta["frame_count"] == len(views) and [f["source"] for f in meta["frames"]] == [f"orbit/{v.name}" for v in views]
    for frame in meta["frames"][:2]:
        assert fetch_image(frame["url"], "JPEG").size == (frame["width"], frame["height"])
        assert max(fetch_image(frame["thumbnail_url"], "JPEG").size) <= 512
    if is_local(server):  # the URLs are signed: altered ones are refused
        url = meta["frames"][0]["url"]
        assert httpx.get(url.replace("frame_0001", "frame_0002")).status_code == 403
        assert httpx.get(url.split("?")[0]).status_code == 403

    folder = tmp_path / "colmap"
    folder.mkdir()
    for name in ("cameras.txt", "images.txt", "points3D.txt"):
        r = httpx.get(recon["downloads"][name], timeout=30)
        assert r.status_code == 200
        (folder / name).write_bytes(r.content)
    model = pycolmap.Reconstruction(folder)
    assert model.num_reg_images() == recon["registered"] and model.num_points3D() == recon["points"]
    ply = httpx.get(recon["downloads"]["sparse_ply"], timeout=30)
    (tmp_path / "sparse.ply").write_bytes(ply.content)
    assert PlyData.read(str(tmp_path / "sparse.ply"))["vertex"].count == recon["points"]
    zipped = httpx.get(recon["downloads"]["colmap_text_zip"], timeout=30)
    assert zipped.status_code == 200 and zipped.content[:2] == b"PK"


def test_public_captures_open_without_a_key_private_ones_only_with_the_owners(client, server):
    """Public when created: share_url (the web app's page) and share_link (its metadata) open without a
    key. The owner makes it private: both links are null and the metadata is 404 without the owner's key
    (another owner's key too); public again, it opens again. Nobody else can flip it."""
    out = upload_capture(client, b"any bytes: no processing is needed to share", input_data_format="bulk-images")
    eid, sid = out["eid"], out["sid"]
    assert out["is_public"] is True
    assert out["share_url"] == f"{server.url}/app/#/capture/{sid}"
    assert out["share_link"].startswith(f"{server.url}/share/{sid}/metadata?")
    assert httpx.get(out["share_link"]).json()["eid"] == eid  # no key
    params = {"lod": "false", "profiles": "ply", "quality": "high"}
    metadata = f"{server.url}/share/{sid}/metadata"
    mallory = server.headers("captures", owner="mallory")

    private = client.put(f"/api/v1/captures/{eid}/sharing", json={"is_public": False})
    assert private.status_code == 200, private.text
    assert (private.json()["is_public"], private.json()["share_url"], private.json()["share_link"]) == (False, None, None)
    listed = next(c for c in client.get("/api/v1/captures", params={"limit": 1000}).json() if c["eid"] == eid)
    assert (listed["is_public"], listed["share_url"]) == (False, None)
    refused = httpx.get(metadata, params=params)
    assert (refused.status_code, refused.json()) == (404, {"detail": "Capture not found"})
    assert httpx.get(metadata, params=params, headers=mallory).status_code == 404
    assert client.get(metadata, params=params).json()["eid"] == eid  # the owner's key opens it
    assert httpx.put(f"{server.url}/api/v1/captures/{eid}/sharing", json={"is_public": True},
                     headers=mallory).status_code == 404

    public = client.put(f"/api/v1/captures/{eid}/sharing", json={"is_public": True})
    assert (public.json()["is_public"], public.json()["share_link"]) == (True, out["share_link"])
    assert httpx.get(metadata, params=params).status_code == 200

    assert client.put(f"/api/v1/captures/{eid}/sharing", json={"is_public": "maybe"}).status_code == 422
    assert client.put("/api/v1/captures/nosuch/sharing", json={"is_public": True}).status_code == 404


def test_metadata_shows_where_the_model_stands_and_what_the_focus_crop_kept():
    from types import SimpleNamespace

    from omnidrop.surfaces.captures import reconstruction, splat

    recon = {"state": "done", "registered": 3, "total": 3, "mean_reprojection_error": 0.4, "points": 9,
             "matcher": "exhaustive", "aabb": None, "frames": [], "keys": dict.fromkeys(
                 ("cameras.txt", "images.txt", "points3D.txt", "zip", "ply"), "k")}
    geo = {"origin": {"lat": 48.1, "lng": 11.5, "alt": 500.0}, "enu_from_model": [1.0] * 16, "rms_m": 0.1}
    assert reconstruction({**recon, "geo": geo}, str)["geo"] == geo
    assert reconstruction({**recon, "geo_reason": "no GPS"}, str)["geo_reason"] == "no GPS"
    recorded = {"gaussians": 40, "focus": {"applied": True, "kept": 40, "of": 100}, "notes": ["focus_area applied"]}
    answer = splat(SimpleNamespace(state="done", progress=1.0, error=None), recorded, str)
    assert answer["focus"] == {"applied": True, "kept": 40, "of": 100} and answer["notes"] == ["focus_area applied"]


def test_the_turntable_video_is_answered_once_it_exists_and_shared_only_while_public():
    """`video_url` signs the stored turntable (`outputs["video_key"]`, written by the GPU worker after
    training); `share_video_url` is the share link's `/share/{sid}/video.mp4`, for a public capture only.
    No turntable: both null, whatever stray URL the outputs hold."""
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from omnidrop.surfaces.captures import output

    def capture(outputs, is_public):
        return SimpleNamespace(eid="e1", sid="s1", name="n", created_at=datetime.now(UTC), uploaded_at=None,
                               state="FINISHED", error_reason=None, state_description=None, error_reason_slug=None,
                               outputs=outputs, is_public=is_public)

    def sign(key):
        return None if key is None else f"https://signed.test/{key}?sig=1"

    base, key = "https://omnidrop.test/", "captures/e1/splat/turntable.mp4"
    public = output(capture({"video_key": key}, True), sign=sign, base_url=base)
    assert public.video_url == f"https://signed.test/{key}?sig=1"
    assert public.share_video_url == "https://omnidrop.test/share/s1/video.mp4"
    private = output(capture({"video_key": key}, False), sign=sign, base_url=base)
    assert (private.video_url, private.share_video_url) == (f"https://signed.test/{key}?sig=1", None)
    for is_public in (True, False):
        none = output(capture({"video_url": "stray", "share_video_url": "stray"}, is_public), sign=sign, base_url=base)
        assert (none.video_url, none.share_video_url) == (None, None)
