"""The Insta360 trailer: found by its magic, GPS fixes decoded, and the probe accepts an .insv by content."""

import struct

import pytest

from omnidrop.pipeline.media import insta360
from omnidrop.pipeline.media.probe import VideoRejected, probe
from tests.support import walkthroughs as w


def test_gps_fixes_round_trip_through_a_trailer(tmp_path):
    fixes = [(1_768_912_290.0, 53.3498, -6.2603), (1_768_912_291.5, -33.8688, 151.2093)]
    path = tmp_path / "walk.insv"
    path.write_bytes(b"not even a video")
    w.with_gps_trailer(path, fixes, lead=b"\x01\x02" * 10)
    got = insta360.gps_fixes(path)
    assert [(f.unix_time, round(f.lat, 6), round(f.lng, 6)) for f in got] == fixes


def test_void_fixes_and_files_without_a_trailer_give_nothing(tmp_path):
    plain = tmp_path / "plain.mp4"
    plain.write_bytes(b"\0" * 500)
    assert insta360.gps_fixes(plain) == []
    void = bytearray(insta360.gps_record([(1.0, 10.0, 20.0)]))
    void[10:11] = b"V"  # fix status: void
    path = tmp_path / "void.insv"
    path.write_bytes(b"x" + insta360.trailer([(insta360.GPS_RECORD, bytes(void))]))
    assert insta360.gps_fixes(path) == []


def test_a_damaged_trailer_stops_the_walk_without_raising(tmp_path):
    path = tmp_path / "cut.insv"
    body = insta360.trailer([(insta360.GPS_RECORD, insta360.gps_record([(5.0, 1.0, 2.0)]))])
    # A record footer that claims more bytes than the trailer has.
    broken = body[:-insta360.HEADER_SIZE - 4] + struct.pack("<I", 10**6) + body[-insta360.HEADER_SIZE:]
    path.write_bytes(broken)
    assert insta360.gps_fixes(path) == []


def test_probe_accepts_an_insv_by_content_despite_its_trailer(tmp_path):
    # The trailer's first bytes read like an MP4 box that runs far past the end of the file:
    # parsed as a box, the file would look cut off.
    video = w.dual_fisheye(tmp_path / "VID_20260120_123130_00_001.insv", seconds=1.0)
    w.with_gps_trailer(video, [(1_768_912_290.0, 53.0, -6.0)], lead=struct.pack(">I4s", 10**8, b"free") + bytes(8))
    info = probe(video)
    assert (info.container, info.codec, info.width, info.height) == ("mp4", "h264", 256, 128)
    assert insta360.trailer_size(open(video, "rb"), video.stat().st_size) > insta360.HEADER_SIZE


def test_a_jpeg_named_insv_is_refused(tmp_path):
    with pytest.raises(VideoRejected) as refused:
        probe(w.renamed_jpeg(tmp_path / "walk.insv"))
    assert refused.value.code == "unsupported_format" and "JPEG" in refused.value.reason
