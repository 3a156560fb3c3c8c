"""Projects: a 360 video gets its frames as assets; an equirectangular photo its thumbnail and flag."""

import io
import shutil

import httpx
import pytest
from PIL import Image

from tests.pipeline.media.conftest import SAMPLE_ENTRY, insert_into_box, v2_boxes
from tests.support import projects
from tests.support import vehicles as v


@pytest.fixture(scope="module")
def live(servers, db_url):
    return servers.start(database_url=db_url)


def test_360_video_frames_and_equirectangular_photo(live, tmp_path):
    plain = v.clip(tmp_path / "plain.mp4")
    spherical = insert_into_box(shutil.copy(plain, tmp_path / "tour.mp4"), SAMPLE_ENTRY, v2_boxes(b"equi"))
    pano = io.BytesIO()
    Image.new("RGB", (1024, 512), (10, 120, 200)).save(pano, "JPEG")
    headers = live.headers()
    sid = projects.upload(live.api, headers, {"tour.mp4": spherical, "plain.mp4": plain, "pano.jpg": pano.getvalue()})
    assert projects.create(live.api, headers, upload_id=sid).status_code == 201
    record = projects.wait(live.api, headers, sid, timeout=180)
    files = {f["name"]: f for f in record["files"]}

    tour = files["tour.mp4"]
    assert tour["type"] == "video_360" and tour["details"]["projection"] == "equirectangular"
    assert sorted(r for r in tour["assets"] if r.startswith("frame_")) == [f"frame_{i:04d}" for i in range(1, 11)]  # 2 s at 5 fps
    frame = httpx.get(tour["assets"]["frame_0001"], headers=headers)
    assert frame.status_code == 200 and Image.open(io.BytesIO(frame.content)).size == v.CLIP_SIZE

    assert files["plain.mp4"]["type"] == "video" and files["plain.mp4"]["assets"] == {}  # not 360: no frames

    photo = files["pano.jpg"]
    assert photo["type"] == "image" and photo["details"]["equirectangular"] is True
    thumb = httpx.get(photo["assets"]["thumbnail"], headers=headers)
    assert thumb.status_code == 200 and Image.open(io.BytesIO(thumb.content)).size == (512, 256)


def test_360_videos_give_equirectangular_tour_panoramas(live, tmp_path):
    """About one still per 2 s (the default interval) of each 360 video, the `.insv` converted from dual
    fisheye; with the photo they make one tour, ordered by name (no GPS, no capture times)."""
    plain = v.clip(tmp_path / "plain.mp4", seconds=3)
    spherical = insert_into_box(shutil.copy(plain, tmp_path / "a.mp4"), SAMPLE_ENTRY, v2_boxes(b"equi"))
    insv = shutil.copy(plain, tmp_path / "walk.insv")
    pano = io.BytesIO()
    Image.new("RGB", (1024, 512), (10, 120, 200)).save(pano, "JPEG")
    headers = live.headers()
    sid = projects.upload(live.api, headers, {"a.mp4": spherical, "walk.insv": insv, "pano.jpg": pano.getvalue()})
    assert projects.create(live.api, headers, upload_id=sid).status_code == 201
    record = projects.wait(live.api, headers, sid, timeout=180)
    files = {f["name"]: f for f in record["files"]}
    for name in ("a.mp4", "walk.insv"):
        assets = files[name]["assets"]
        assert sorted(r for r in assets if r.startswith("panorama")) == ["panorama_0001", "panorama_0002", "panoramas"]
        still = Image.open(io.BytesIO(httpx.get(assets["panorama_0002"], headers=headers).content))
        assert still.size[0] == 2 * still.size[1]  # equirectangular
        manifest = httpx.get(assets["panoramas"], headers=headers).json()
        # 3 s at one still per 2 s: two, spread from the first frame to the last (2.967 s at 30 fps)
        assert [(p["role"], p["time"]) for p in manifest["panoramas"]] == [("panorama_0001", 0.0), ("panorama_0002", 2.967)]
    assert "error" not in files["walk.insv"] and "failed_files" not in record
    assert record["tour"]["nodes"] == 5 and record["tour"]["ordered_by"] == "name"
    tour = httpx.get(record["tour"]["url"], headers=headers).json()
    assert [(n["file"], n["name"]) for n in tour["nodes"]] == [
        ("a.mp4", "a.mp4 · 0.0 s"), ("a.mp4", "a.mp4 · 3.0 s"), ("pano.jpg", "pano.jpg"),
        ("walk.insv", "walk.insv · 0.0 s"), ("walk.insv", "walk.insv · 3.0 s")]
    assert tour["nodes"][1]["panorama"] == files["a.mp4"]["assets"]["panorama_0002"]
