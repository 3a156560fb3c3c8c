from __future__ import annotations

import io
import shutil
import struct

import av
import pytest

from omnidrop.pipeline.media import spherical
from omnidrop.pipeline.media.probe import probe

from .conftest import SAMPLE_ENTRY, box, insert_into_box, v1_box, v2_boxes, vexu_box

TRACK = SAMPLE_ENTRY[:2]  # moov/trak: where the V1 uuid box lives


@pytest.fixture
def plain(mp4_clip, tmp_path):
    """A fresh copy of the plain mp4 clip, to write metadata into."""
    path = tmp_path / "pano.mp4"
    shutil.copy(mp4_clip, path)
    return path


def first_frame(path):
    with av.open(str(path)) as container:
        return next(container.decode(video=0))


def test_plain_video_has_no_spherical_metadata(mp4_clip, clips):
    assert spherical.read_boxes(mp4_clip) is None
    assert spherical.detect(clips["matroska"], first_frame(clips["matroska"])) is None


def test_v2_equirectangular_mono(plain):
    insert_into_box(plain, SAMPLE_ENTRY, v2_boxes(b"equi", stereo=0, yaw=90))
    info = spherical.read_boxes(plain)
    assert info == spherical.SphericalInfo(projection="equirectangular", stereo="mono", source="spherical-v2", yaw=90.0)
    assert info.is_spherical
    # FFmpeg reads the same boxes into side data: our writer and parser agree with it.
    from_ffmpeg = spherical.from_side_data(first_frame(plain))
    assert (from_ffmpeg.projection, from_ffmpeg.stereo, from_ffmpeg.yaw) == ("equirectangular", "mono", 90.0)


@pytest.mark.parametrize(("mode", "stereo"), [(1, "top-bottom"), (2, "left-right")])
def test_v2_stereo_layouts(plain, mode, stereo):
    insert_into_box(plain, SAMPLE_ENTRY, v2_boxes(b"equi", stereo=mode))
    assert spherical.read_boxes(plain).stereo == stereo
    assert spherical.from_side_data(first_frame(plain)).stereo == stereo


def test_v2_equirectangular_crop(plain):
    # A 180° video stored as an equirectangular frame cropped a quarter from left and right.
    insert_into_box(plain, SAMPLE_ENTRY, v2_boxes(b"equi", bounds=(0, 0, 1 << 30, 1 << 30)))
    assert spherical.read_boxes(plain).crop == (0.0, 0.0, 0.25, 0.25)


def test_v2_cubemap(plain):
    insert_into_box(plain, SAMPLE_ENTRY, v2_boxes(b"cbmp"))
    info = spherical.read_boxes(plain)
    assert (info.projection, info.stereo) == ("cubemap", "mono")


def test_v1_xml(plain):
    insert_into_box(plain, TRACK, v1_box())
    info = spherical.read_boxes(plain)
    assert info.source == "spherical-v1"
    assert (info.projection, info.stereo, info.yaw) == ("equirectangular", "top-bottom", 45.0)
    assert info.stitching_software == "OmniStitch 2"


def test_v1_not_spherical_is_ignored(plain):
    insert_into_box(plain, TRACK, v1_box("<GSpherical:Spherical>false</GSpherical:Spherical>"))
    assert spherical.read_boxes(plain) is None


def test_v2_wins_over_v1(plain):
    insert_into_box(plain, TRACK, v1_box())
    insert_into_box(plain, SAMPLE_ENTRY, v2_boxes(b"cbmp", stereo=2))
    info = spherical.read_boxes(plain)
    assert (info.source, info.projection, info.stereo) == ("spherical-v2", "cubemap", "left-right")


@pytest.mark.parametrize(
    ("projection", "packing", "expected"),
    [
        (b"hequ", b"side", ("half_equirectangular", "left-right")),
        (b"equi", b"over", ("equirectangular", "top-bottom")),
        (b"fish", None, ("fisheye", "multiview")),
    ],
)
def test_apple_vexu(plain, projection, packing, expected):
    insert_into_box(plain, SAMPLE_ENTRY, vexu_box(projection, packing))
    info = spherical.read_boxes(plain)
    assert (info.projection, info.stereo, info.source) == (*expected, "apple-vexu")
    assert spherical.from_side_data(first_frame(plain)).projection == expected[0]


@pytest.mark.parametrize(("mode", "stereo"), [("left_right", "left-right"), ("top_bottom", "top-bottom")])
def test_matroska_stereo_comes_from_side_data(make_video, mode, stereo):
    path = make_video(f"sbs_{mode}.mkv", frames=5, metadata={"stereo_mode": mode})
    assert spherical.read_boxes(path) is None  # not an MP4
    info = spherical.detect(path, first_frame(path))
    assert (info.projection, info.stereo, info.source) == ("rectilinear", stereo, "side-data")
    assert not info.is_spherical


def test_probe_reports_spherical(plain):
    insert_into_box(plain, SAMPLE_ENTRY, v2_boxes(b"equi", stereo=1))
    info = probe(plain)
    assert (info.spherical.projection, info.spherical.stereo) == ("equirectangular", "top-bottom")


def test_box_walk_refuses_sizes_past_the_end():
    data = box(b"ftyp", b"isom\0\0\0\0") + struct.pack(">I4s", 1 << 30, b"mdat") + bytes(100)
    with pytest.raises(spherical.BoxError) as caught:
        list(spherical.iter_boxes(io.BytesIO(data), 0, len(data)))
    assert caught.value.kind == b"mdat"


def test_damaged_moov_gives_no_answer_rather_than_an_error(plain):
    data = bytearray(plain.read_bytes())
    stsd = data.find(b"stsd")
    data[stsd - 4 : stsd] = struct.pack(">I", 0xFFFFFF)  # runs past its parent
    plain.write_bytes(bytes(data))
    assert spherical.read_boxes(plain) is None


def test_huge_payload_is_not_read(plain):
    xml_box = v1_box("<GSpherical:Spherical>true</GSpherical:Spherical>" + " " * (2 << 20))
    insert_into_box(plain, TRACK, xml_box)
    assert spherical.read_boxes(plain) is None
