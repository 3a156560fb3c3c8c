"""The Vehicles 360 Video API against real `omnidrop serve` processes: upload, frames, mask frames,
cleanup, vehicles, and every error code of the spec's table with its status."""

from __future__ import annotations

import io
import os
import shutil
import uuid
from pathlib import Path

import httpx
import pytest
from PIL import Image

from omnidrop.pipeline.media.frames import extract_frames
from tests.support import vehicles as v

RW = ("vehicles:write", "vehicles:read")


@pytest.fixture(scope="module")
def live(servers, db_url):
    return servers.start(database_url=db_url)


@pytest.fixture(scope="module")
def headers(live):
    return live.headers(*RW)


@pytest.fixture(scope="module")
def mp4(tmp_path_factory) -> Path:
    return v.clip(tmp_path_factory.mktemp("vehicle-clips") / "walkaround.mp4")


def error(r: httpx.Response) -> tuple[int, str]:
    return r.status_code, r.json()["error"]["code"]


def uploaded_blobs(live) -> list[str]:
    root = live.data_dir / "blobs" / "vehicle-uploads"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def processed(live, headers, mp4, side="OUTSIDE", vehicle_uuid=None) -> tuple[str, str, dict]:
    vehicle_uuid = vehicle_uuid or str(uuid.uuid4())
    r = v.upload(live.url, headers, mp4, side=side, vehicle_uuid=vehicle_uuid)
    assert r.status_code == 201, r.text
    frames = v.wait_frames(live.url, headers, r.json()["job_id"], side)
    assert frames.status_code == 200, frames.text
    return vehicle_uuid, r.json()["job_id"], frames.json()


def test_upload_then_frames_at_5_fps_behind_signed_urls(live, headers, mp4, tmp_path):
    vehicle_uuid = str(uuid.uuid4())
    r = v.upload(live.url, headers, mp4, side="outside", vehicle_uuid=vehicle_uuid, filename="car front.mp4")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["original_filename"] == "car front.mp4" and body["size"] == mp4.stat().st_size
    assert body["mime_type"] == "video/mp4" and body["side"] == "OUTSIDE" and body["key"].endswith("/video.mp4")
    assert httpx.get(body["url"]).content == mp4.read_bytes()  # the uploaded video, signed

    frames = v.wait_frames(live.url, headers, body["job_id"]).json()
    expected: dict[str, bytes] = {}
    extract_frames(mp4, lambda name, data: expected.__setitem__(name, data), fps=5)
    assert frames["total"] == len(frames["frames"]) == len(expected) == 10  # 2 s at 5 fps
    assert frames["expires_in"] == 3600
    for url, name in zip(frames["frames"], sorted(expected)):
        assert f"/frames/{name}?" in url
        got = httpx.get(url)
        assert got.status_code == 200 and got.headers["content-type"] == "image/jpeg"
        assert got.content == expected[name]
    assert Image.open(io.BytesIO(httpx.get(frames["frames"][0]).content)).size == v.CLIP_SIZE
    part = httpx.get(frames["frames"][0], headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.content == expected["frame_0001.jpg"][:100]
    assert httpx.get(frames["frames"][0].split("?")[0]).status_code == 403  # unsigned

    record = httpx.get(f"{live.url}/360/vehicles/{vehicle_uuid}", headers=headers).json()
    assert [(x["job_id"], x["state"], x["frames_total"]) for x in record["sides"]["OUTSIDE"]] == [
        (body["job_id"], "ready", 10)]
    assert record["sides"]["INSIDE"] == [] and record["sides"]["OPEN"] == []


def test_form_fields_in_any_order_and_field_aliases(live, headers, mp4):
    fields = [("vehicleUuid", str(uuid.uuid4())), ("side", "OPEN")]
    r = httpx.post(f"{live.url}/360/upload", headers=headers, data=dict(fields),
                   files={"video": ("trunk.mov", mp4.read_bytes(), "video/quicktime")})
    assert r.status_code == 201 and r.json()["mime_type"] == "video/quicktime"


def test_invalid_side(live, headers, mp4):
    before = uploaded_blobs(live)
    r = v.upload(live.url, headers, mp4, side="LEFT", vehicle_uuid=str(uuid.uuid4()))
    assert error(r) == (400, "INVALID_SIDE")
    # The video first and the side after it: stored while streaming, deleted once the side is read.
    boundary = "omnidrop-order"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="video"; filename="a.mp4"\r\n\r\n'.encode()
            + mp4.read_bytes()
            + f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="side"\r\n\r\nBACK\r\n'
              f'--{boundary}\r\nContent-Disposition: form-data; name="vehicle_uuid"\r\n\r\n{uuid.uuid4()}\r\n'
              f'--{boundary}--\r\n'.encode())
    r = httpx.post(f"{live.url}/360/upload", content=body,
                   headers={**headers, "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert error(r) == (400, "INVALID_SIDE")
    assert uploaded_blobs(live) == before
    r = httpx.get(f"{live.url}/360/frames", params={"job_id": "x", "side": "TOP"}, headers=headers)
    assert error(r) == (400, "INVALID_SIDE")
    r = httpx.get(f"{live.url}/360/mask-frames", params={"vehicle_uuid": str(uuid.uuid4()), "side": ""},
                  headers=headers)
    assert error(r) == (400, "INVALID_SIDE")


def test_missing_video_file(live, headers):
    data = {"side": "INSIDE", "vehicle_uuid": str(uuid.uuid4())}
    r = httpx.post(f"{live.url}/360/upload", headers=headers, data=data, files={"notes": ("a.txt", b"x")})
    assert error(r) == (400, "MISSING_VIDEO_FILE")
    r = httpx.post(f"{live.url}/360/upload", headers=headers, data=data, files={"video": ("", b"")})  # none chosen
    assert error(r) == (400, "MISSING_VIDEO_FILE")


def test_upload_without_vehicle_uuid_creates_the_vehicle(live, headers, mp4):
    # The document's form has only the video and the side: the vehicle is made and its UUID returned.
    r = v.upload(live.url, headers, mp4, side="INSIDE")
    assert r.status_code == 201, r.text
    vehicle_uuid = str(uuid.UUID(r.json()["vehicle_uuid"]))
    assert v.wait_frames(live.url, headers, r.json()["job_id"], "INSIDE").status_code == 200
    record = httpx.get(f"{live.url}/360/vehicles/{vehicle_uuid}", headers=headers).json()
    assert [x["job_id"] for x in record["sides"]["INSIDE"]] == [r.json()["job_id"]]
    r = v.upload(live.url, headers, mp4, side="OPEN", vehicle_uuid="")  # an empty field is the same
    assert r.status_code == 201 and r.json()["vehicle_uuid"] not in ("", vehicle_uuid)


def test_missing_video_file_in_a_form_that_is_not_multipart(live, headers):
    for body in ({"data": {"side": "OUTSIDE"}}, {"json": {"side": "OUTSIDE"}}, {}):
        r = httpx.post(f"{live.url}/360/upload", headers=headers, **body)
        assert error(r) == (400, "MISSING_VIDEO_FILE"), (body, r.text)
    r = httpx.post(f"{live.url}/360/upload", headers={**headers, "Content-Type": "multipart/form-data"},
                   content=b"x")  # multipart without a boundary is malformed, not missing
    assert error(r) == (400, "INVALID_REQUEST")


def test_bit_rot_mid_video_still_gives_every_frame_and_says_what_was_skipped(live, headers, tmp_path):
    video = v.rotten(v.clip(tmp_path / "long.mp4", seconds=4), tmp_path / "rotten.mp4")
    vehicle_uuid = str(uuid.uuid4())
    r = v.upload(live.url, headers, video, vehicle_uuid=vehicle_uuid)
    assert r.status_code == 201, r.text
    frames = v.wait_frames(live.url, headers, r.json()["job_id"])
    assert frames.status_code == 200, frames.text
    assert frames.json()["total"] == 20  # 4 s at 5 fps, as the ffmpeg CLI gives for this file
    record = httpx.get(f"{live.url}/360/vehicles/{vehicle_uuid}", headers=headers).json()
    (entry,) = record["sides"]["OUTSIDE"]
    assert entry["state"] == "ready" and entry["decode_skipped"]
    assert all(0 < s["start"] <= s["end"] < 4 and s["packets"] >= 1 for s in entry["decode_skipped"])


def test_invalid_file_type_by_name_and_by_content(live, headers, mp4):
    before = uploaded_blobs(live)
    r = v.upload(live.url, headers, mp4, vehicle_uuid=str(uuid.uuid4()), filename="walkaround.gif")
    assert error(r) == (400, "INVALID_FILE_TYPE")
    jpeg = io.BytesIO()
    Image.new("RGB", (64, 64)).save(jpeg, "JPEG")
    r = v.upload(live.url, headers, jpeg.getvalue(), vehicle_uuid=str(uuid.uuid4()), filename="renamed.mp4")
    assert error(r) == (400, "INVALID_FILE_TYPE")
    assert uploaded_blobs(live) == before  # nothing kept


def raw_form_upload(live, headers, video: bytes, filename: bytes) -> httpx.Response:
    """POST /360/upload with the file name's bytes exactly as given (httpx would escape a NUL)."""
    boundary = os.urandom(8).hex()
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"side\"\r\n\r\nOUTSIDE\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"video\"; filename=\"").encode()
    body += filename + b"\"\r\nContent-Type: video/mp4\r\n\r\n" + video + f"\r\n--{boundary}--\r\n".encode()
    return httpx.post(f"{live.url}/360/upload", content=body, timeout=120,
                      headers={**headers, "Content-Type": f"multipart/form-data; boundary={boundary}"})


@pytest.mark.parametrize(("filename", "stored"), [
    ("car\u202egpj.mp4".encode(), "cargpj.mp4"),  # shown by many file managers as car4pm.jpg
    (b"../../car.mp4", "car.mp4"),
    (b"a\x00b.mp4", "ab.mp4"),
    ("é".encode() * 1998 + b".mp4", "é" * 125 + ".mp4"),  # 4000 bytes: cut to 255, keeping the extension
])
def test_original_filename_follows_the_naming_rule(live, headers, mp4, filename, stored):
    r = raw_form_upload(live, headers, mp4.read_bytes(), filename)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["original_filename"] == stored and body["key"].endswith("/video.mp4")
    assert httpx.get(body["url"]).content == mp4.read_bytes()  # its download URL works
    record = httpx.get(f"{live.url}/360/vehicles/{body['vehicle_uuid']}", headers=headers).json()
    assert [x["original_filename"] for x in record["sides"]["OUTSIDE"]] == [stored]


def test_a_name_with_nothing_usable_is_an_invalid_file_type(live, headers, mp4):
    assert error(raw_form_upload(live, headers, mp4.read_bytes(), b"..")) == (400, "INVALID_FILE_TYPE")
    assert error(raw_form_upload(live, headers, mp4.read_bytes(), b"\xe2\x80\xae.mp4")) == (400, "INVALID_FILE_TYPE")
    # 5000 bytes: past the form parser's 4 KiB header line, refused before anything is stored.
    before = uploaded_blobs(live)
    r = raw_form_upload(live, headers, mp4.read_bytes(), b"a" * 4996 + b".mp4")
    assert error(r) == (400, "INVALID_REQUEST") and uploaded_blobs(live) == before


def test_invalid_vehicle_uuid(live, headers, mp4):
    assert error(v.upload(live.url, headers, mp4, vehicle_uuid="car-1")) == (400, "INVALID_VEHICLE_UUID")


def _process_rss(pgid: int) -> dict[int, int]:
    """Peak resident set (VmHWM, KiB) of every process in the server's process group."""
    peaks = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[2]) != pgid:
                continue
            status = Path(f"/proc/{pid}/status").read_text()
        except (OSError, IndexError):
            continue
        peak = next((line.split()[1] for line in status.splitlines() if line.startswith("VmHWM")), None)
        if peak is not None:  # a zombie (a child that exited, not yet reaped) holds no memory and has no VmHWM
            peaks[int(pid)] = int(peak)
    return peaks


@pytest.mark.parametrize("declare_length", [True, False], ids=["content-length", "chunked"])
def test_101_mb_upload_is_file_too_large_without_being_buffered(live, headers, mp4, declare_length):
    boundary = "omnidrop-big"
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="side"\r\n\r\nOUTSIDE\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="vehicle_uuid"\r\n\r\n{uuid.uuid4()}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="video"; filename="big.mp4"\r\n'
            "Content-Type: video/mp4\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    start = mp4.read_bytes()[:1024]  # a real MP4 start: the size, not the content, must refuse it
    size, block = 101_000_000, bytes(1 << 20)

    def stream():
        yield head + start
        left = size - len(start)
        while left:
            yield block[: min(left, len(block))]
            left -= min(left, len(block))
        yield tail

    hdrs = {**headers, "Content-Type": f"multipart/form-data; boundary={boundary}"}
    if declare_length:
        hdrs["Content-Length"] = str(len(head) + size + len(tail))
    before, blobs_before = _process_rss(live.proc.pid), uploaded_blobs(live)
    r = httpx.post(f"{live.url}/360/upload", headers=hdrs, content=stream(), timeout=120)
    assert error(r) == (413, "FILE_TOO_LARGE")
    after = _process_rss(live.proc.pid)
    grown = max(after[p] - before.get(p, after[p]) for p in after)
    assert grown < 40_000, f"a server process grew by {grown} KiB"  # far below the 98,633 KiB body
    assert uploaded_blobs(live) == blobs_before  # the part stored while streaming is gone


def test_job_not_found(live, headers, mp4, servers):
    r = httpx.get(f"{live.url}/360/frames", params={"job_id": "nope", "side": "OUTSIDE"}, headers=headers)
    assert error(r) == (404, "JOB_NOT_FOUND")
    _, job_id, _ = processed(live, headers, mp4)
    r = httpx.get(f"{live.url}/360/frames", params={"job_id": job_id, "side": "INSIDE"}, headers=headers)
    assert error(r) == (404, "JOB_NOT_FOUND")  # the job is of another side
    other = live.headers(*RW, owner="someone-else")
    r = httpx.get(f"{live.url}/360/frames", params={"job_id": job_id, "side": "OUTSIDE"}, headers=other)
    assert error(r) == (404, "JOB_NOT_FOUND")


def test_processing_failed_names_the_reason(live, headers, mp4, tmp_path):
    truncated = mp4.read_bytes()[: mp4.stat().st_size * 2 // 3]
    r = v.upload(live.url, headers, truncated, vehicle_uuid=str(uuid.uuid4()))
    assert r.status_code == 201, r.text  # an MP4 by its first bytes: the job finds the rest missing
    frames = v.wait_frames(live.url, headers, r.json()["job_id"])
    assert error(frames) == (500, "PROCESSING_FAILED")
    assert frames.json()["error"]["reason"] == "truncated" and "truncated" in frames.json()["error"]["message"]


def test_auth(live, headers, mp4):
    r = httpx.get(f"{live.url}/360/frames", params={"job_id": "x", "side": "OUTSIDE"})
    assert error(r) == (401, "MISSING_API_KEY")
    r = httpx.get(f"{live.url}/360/frames", params={"job_id": "x", "side": "OUTSIDE"},
                  headers={"X-API-Key": "sk_wrong"})
    assert error(r) == (401, "INVALID_API_KEY")
    reader = live.headers("vehicles:read")
    assert error(v.upload(live.url, reader, mp4, vehicle_uuid=str(uuid.uuid4()))) == (403, "INSUFFICIENT_SCOPE")
    key = headers["Authorization"].split()[1]
    r = httpx.get(f"{live.url}/360/vehicles", headers={"X-API-Key": key})
    assert r.status_code == 200


def test_mask_frames_without_model_or_imports_says_so_then_imported_masks(live, headers, mp4):
    vehicle_uuid, job_id, frames = processed(live, headers, mp4, side="INSIDE")
    params = {"vehicle_uuid": vehicle_uuid, "side": "INSIDE"}
    r = httpx.get(f"{live.url}/360/mask-frames", params=params, headers=headers)
    assert error(r) == (404, "MASKS_NOT_AVAILABLE")
    (video,) = httpx.get(f"{live.url}/360/vehicles/{vehicle_uuid}", headers=headers).json()["sides"]["INSIDE"]
    assert video["mask_frames"] == 0  # the web app does not ask for masks it would not get
    assert "no damage model is configured" in r.json()["error"]["message"]

    dent = {"class": "dent", "score": 0.8, "polygon": [[40, 40], [120, 40], [120, 100], [40, 100]]}
    body = {**params, "frames": [{"frame": "frame_0003.jpg", "detections": [dent]}]}
    r = httpx.post(f"{live.url}/360/mask-frames", json=body, headers=headers)
    assert r.status_code == 201 and r.json() == {**params, "job_id": job_id, "imported": 1}
    masks = httpx.get(f"{live.url}/360/mask-frames", params=params, headers=headers).json()
    assert masks["total"] == 1 and masks["job_id"] == job_id
    (video,) = httpx.get(f"{live.url}/360/vehicles/{vehicle_uuid}", headers=headers).json()["sides"]["INSIDE"]
    assert video["mask_frames"] == 1
    (item,) = masks["mask_frames"]
    assert (item["frame"], item["source"]) == ("frame_0003.jpg", "imported")
    assert item["detections"] == [{"class": "dent", "score": 0.8, "polygons": [dent["polygon"]]}]
    doc = httpx.get(item["polygons_url"]).json()
    assert doc["detections"] == item["detections"] and (doc["width"], doc["height"]) == v.CLIP_SIZE
    overlay = Image.open(io.BytesIO(httpx.get(item["url"]).content)).convert("RGB")
    plain = Image.open(io.BytesIO(httpx.get(frames["frames"][2]).content)).convert("RGB")
    assert overlay.getpixel((80, 70)) != plain.getpixel((80, 70))  # tinted inside the polygon
    assert all(abs(a - b) <= 8 for a, b in zip(overlay.getpixel((300, 10)), plain.getpixel((300, 10))))

    bad = {**params, "frames": [{"frame": "frame_9999.jpg", "detections": [dent]}]}
    assert error(httpx.post(f"{live.url}/360/mask-frames", json=bad, headers=headers)) == (400, "INVALID_MASKS")


def test_cleanup_keeps_frames_on_request_then_removes_them(live, headers, mp4):
    vehicle_uuid, job_id, frames = processed(live, headers, mp4, side="OPEN")
    video_url = httpx.get(f"{live.url}/360/vehicles/{vehicle_uuid}", headers=headers).json()
    assert video_url["sides"]["OPEN"][0]["video_stored"] is True
    r = httpx.request("DELETE", f"{live.url}/360/cleanup", headers=headers,
                      params={"vehicle_uuid": vehicle_uuid, "side": "OPEN", "remove_frames": "false"})
    assert r.status_code == 200 and (r.json()["deleted_videos"], r.json()["deleted_frames"]) == (1, 0)
    again = httpx.get(f"{live.url}/360/frames", params={"job_id": job_id, "side": "OPEN"}, headers=headers)
    assert again.status_code == 200 and httpx.get(again.json()["frames"][0]).status_code == 200

    r = httpx.post(f"{live.url}/360/cleanup", headers=headers, json={"vehicle_uuid": vehicle_uuid, "side": "OPEN"})
    assert r.status_code == 200 and r.json()["remove_frames"] is True and r.json()["deleted_frames"] == 10
    r = httpx.get(f"{live.url}/360/frames", params={"job_id": job_id, "side": "OPEN"}, headers=headers)
    assert error(r) == (404, "JOB_NOT_FOUND")
    assert httpx.get(frames["frames"][0]).status_code == 404  # still signed, but the frame is gone
    r = httpx.post(f"{live.url}/360/cleanup", headers=headers,
                   json={"vehicle_uuid": str(uuid.uuid4()), "side": "OPEN"})
    assert error(r) == (404, "VEHICLE_NOT_FOUND")


def test_vehicle_records(live, headers):
    owner_headers = live.headers(*RW, owner="fleet-a")
    r = httpx.post(f"{live.url}/360/vehicles", headers=owner_headers, json={"name": "Blue estate"})
    assert r.status_code == 201
    made = r.json()
    assert str(uuid.UUID(made["uuid"])) == made["uuid"] and made["name"] == "Blue estate"
    given = str(uuid.uuid4())
    assert httpx.post(f"{live.url}/360/vehicles", headers=owner_headers, json={"uuid": given}).status_code == 201
    listed = httpx.get(f"{live.url}/360/vehicles", headers=owner_headers).json()["vehicles"]
    assert [x["uuid"] for x in listed] == [made["uuid"], given]
    got = httpx.get(f"{live.url}/360/vehicles/{given}", headers=owner_headers).json()
    assert got["uuid"] == given and got["sides"] == {"OUTSIDE": [], "INSIDE": [], "OPEN": []}
    r = httpx.get(f"{live.url}/360/vehicles/{given}", headers=headers)  # another owner
    assert error(r) == (404, "VEHICLE_NOT_FOUND")


# -- servers with other settings (SQLite only: what differs is not the database) ---------------


def test_frames_not_ready_while_no_worker_runs(servers, tmp_path, mp4):
    idle = servers.start(data_dir=tmp_path / "idle", embedded_worker=False)
    hdrs = idle.headers(*RW)
    vehicle_uuid = str(uuid.uuid4())
    job_id = v.upload(idle.url, hdrs, mp4, vehicle_uuid=vehicle_uuid).json()["job_id"]
    r = httpx.get(f"{idle.url}/360/frames", params={"job_id": job_id, "side": "OUTSIDE"}, headers=hdrs)
    assert error(r) == (404, "FRAMES_NOT_READY") and r.json()["error"]["state"] == "queued"
    r = httpx.get(f"{idle.url}/360/mask-frames", params={"vehicle_uuid": vehicle_uuid, "side": "OUTSIDE"},
                  headers=hdrs)
    assert error(r) == (404, "FRAMES_NOT_READY")
    idle.stop()


def test_upload_failed_when_the_store_refuses(servers, tmp_path, mp4):
    broken = servers.start(data_dir=tmp_path / "broken")
    hdrs = broken.headers(*RW)
    blobs = broken.data_dir / "blobs"
    shutil.rmtree(blobs, ignore_errors=True)
    blobs.write_text("a file where the blob directory should be: every write fails")
    r = v.upload(broken.url, hdrs, mp4, vehicle_uuid=str(uuid.uuid4()))
    assert error(r) == (500, "UPLOAD_FAILED")
    assert httpx.get(f"{broken.url}/360/vehicles", headers=hdrs).json()["vehicles"] == []  # nothing recorded
    broken.stop()


def test_detector_masks_with_a_configured_onnx_model(servers, tmp_path, mp4):
    model = v.tiny_damage_model(tmp_path / "damage.onnx")
    live = servers.start(data_dir=tmp_path / "model", damage_model_path=str(model))
    hdrs = live.headers(*RW)
    vehicle_uuid, job_id, frames = processed(live, hdrs, mp4)
    masks = httpx.get(f"{live.url}/360/mask-frames", params={"vehicle_uuid": vehicle_uuid, "side": "OUTSIDE"},
                      headers=hdrs).json()
    assert masks["total"] == frames["total"] == 10
    for item in masks["mask_frames"]:
        assert item["source"] == "detector"
        assert [(d["class"], d["score"]) for d in item["detections"]] == [("dent", 0.91), ("scratch", 0.77)]
    first = masks["mask_frames"][0]
    xs = [p[0] for p in first["detections"][0]["polygons"][0]]
    assert abs(min(xs) - v.RED_BOX[0]) <= 6 and abs(max(xs) - v.RED_BOX[2]) <= 6
    assert httpx.get(first["polygons_url"]).json()["detections"] == first["detections"]
    overlay = Image.open(io.BytesIO(httpx.get(first["url"]).content)).convert("RGB")
    plain = Image.open(io.BytesIO(httpx.get(frames["frames"][0]).content)).convert("RGB")
    assert overlay.getpixel((240, 90)) != plain.getpixel((240, 90))  # the scratch is tinted
    live.stop()


def test_frames_on_s3_are_presigned_gets(servers, tmp_path, mp4, moto):
    live = servers.start(data_dir=tmp_path / "s3", storage_url=moto.storage_url())
    hdrs = live.headers(*RW)
    _, _, frames = processed(live, hdrs, mp4)
    url = frames["frames"][0]
    assert url.startswith(moto.endpoint) and "X-Amz-Signature=" in url
    got = httpx.get(url)
    assert got.status_code == 200 and got.content[:3] == b"\xff\xd8\xff"
    assert "X-Amz-Expires=3600" in url  # moto does not check signatures; S3 itself refuses altered ones
    live.stop()


def test_signed_urls_refuse_expired_and_altered(live, headers, mp4):
    from urllib.parse import parse_qsl, urlencode, urlsplit

    from omnidrop.auth.signing import EXPIRES, SIGNATURE, UrlSigner, load_secret

    _, _, frames = processed(live, headers, mp4)
    url = frames["frames"][0]
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    assert httpx.get(url).status_code == 200

    def refused(u: str) -> str:
        r = httpx.get(u)
        assert r.status_code == 403, (u, r.status_code)
        return r.json()["error"]

    assert refused(url.replace("frame_0001", "frame_0002")) == "SignatureDoesNotMatch"  # altered path
    assert refused(f"{parts.scheme}://{parts.netloc}{parts.path}?"
                   + urlencode({**query, SIGNATURE: "0" * 64})) == "SignatureDoesNotMatch"  # altered signature
    later = int(query[EXPIRES]) + 86_400
    assert refused(f"{parts.scheme}://{parts.netloc}{parts.path}?"
                   + urlencode({**query, EXPIRES: later})) == "SignatureDoesNotMatch"  # a longer life
    signer = UrlSigner(load_secret(None, live.data_dir))  # the server's own key: only the time is wrong
    import time

    expired = signer.sign("GET", parts.path, 3600, now=time.time() - 7200)
    assert refused(f"{parts.scheme}://{parts.netloc}{expired}") == "AccessDenied"
    fresh = signer.sign("GET", parts.path, 60)
    assert httpx.get(f"{parts.scheme}://{parts.netloc}{fresh}").status_code == 200
