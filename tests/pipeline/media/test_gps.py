"""GPS a video carries: ISO 6709 location tags (as FFmpeg exposes ©xyz) and the Insta360 track."""

import pytest

from omnidrop.pipeline.media.gps import container_location, parse_iso6709, read_track
from omnidrop.pipeline.media.probe import open_container
from tests.support import walkthroughs as w


@pytest.mark.parametrize("text,expected", [
    ("+53.3498-006.2603/", (53.3498, -6.2603)),
    ("+53.3498-006.2603+012.500/", (53.3498, -6.2603)),  # with altitude
    ("-33.8688+151.2093CRSWGS_84/", (-33.8688, 151.2093)),
    ("+5320.988-00615.618/", (53 + 20.988 / 60, -(6 + 15.618 / 60))),  # degrees and minutes
    ("+532059.28-0061537.08/", (53 + 20 / 60 + 59.28 / 3600, -(6 + 15 / 60 + 37.08 / 3600))),
])
def test_iso6709_points(text, expected):
    assert parse_iso6709(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["", "53.3,-6.2", "+91.0+000.0/", "+53.3-190.0/", "+5.3-6.2/"])
def test_iso6709_refuses_what_is_not_a_point(text):
    assert parse_iso6709(text) is None


def test_the_mp4_location_tag_is_read_from_the_file(tmp_path):
    video = w.equirect(tmp_path / "tagged.mp4", seconds=1.0, container_metadata={"location": "+53.3498-006.2603/"})
    with open_container(video) as c:
        assert container_location(c.metadata) == (53.3498, -6.2603)
        meta, stream_meta = dict(c.metadata), dict(c.streams.video[0].metadata)
    track = read_track(video, meta, stream_meta, 1.0)
    assert track.source == "iso6709" and [(f.time, f.lat, f.lng) for f in track.fixes] == [(0.0, 53.3498, -6.2603)]


def test_an_insta360_track_is_put_on_the_video_clock(tmp_path):
    video = w.dual_fisheye(tmp_path / "walk.insv", seconds=1.0, container_metadata={
        "creation_time": "2026-01-20T12:31:30.000000Z", "location": "+10.0+010.0/"})
    start = 1_768_912_290.0  # 2026-01-20T12:31:30Z
    w.with_gps_trailer(video, [(start + 0.5, 53.0, -6.0), (start + 1.0, 53.1, -6.1)])
    with open_container(video) as c:
        track = read_track(video, dict(c.metadata), {}, 1.0)
    assert track.source == "insta360"  # the track wins over the file-level tag
    assert [(f.time, f.lat, f.lng) for f in track.fixes] == [(0.5, 53.0, -6.0), (1.0, 53.1, -6.1)]
    # Without a creation time that fits the track, the first fix starts the clock.
    far = read_track(video, {"creation_time": "2020-01-01T00:00:00Z"}, {}, 1.0)
    assert [f.time for f in far.fixes] == [0.0, 0.5]
