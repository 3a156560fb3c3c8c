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
    assert sorted(tour["assets"]) == [f"frame_{i:04d}" for i in range(1, 11)]  # 2 s at 5 fps
    frame = httpx.get(tour["assets"]["frame_0001"], headers=headers)
    assert frame.status_code == 200 and Image.open(io.BytesIO(frame.content)).size == v.CLIP_SIZE

    assert files["plain.mp4"]["type"] == "video" and files["plain.mp4"]["assets"] == {}  # not 360: no frames

    photo = files["pano.jpg"]
    assert photo["type"] == "image" and photo["details"]["equirectangular"] is True
    thumb = httpx.get(photo["assets"]["thumbnail"], headers=headers)
    assert thumb.status_code == 200 and Image.open(io.BytesIO(thumb.content)).size == (512, 256)
