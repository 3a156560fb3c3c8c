"""Tour building: order and links by GPS, by scan position, by capture time, by name."""

from datetime import datetime

import pytest

from omnidrop.db.models import ProjectFile
from omnidrop.pipeline.tours import Spot, build, manifest_spots, photo_spot, role_spots


def spot(name, lat=None, lng=None, t=None, heading=None, position=None):
    return Spot(name, None, name, gps=(lat, lng, None) if lat is not None else None, position=position,
                taken_at=datetime.fromisoformat(t) if t else None, heading=heading)


def links(tour):
    by_id = {n["id"]: n["file"] for n in tour["nodes"]}
    return {n["file"]: sorted(by_id[link["node"]] for link in n["links"]) for n in tour["nodes"]}


def test_gps_without_times_follows_the_nearest_neighbour_path():
    # A street heading east, given out of order; d is far off to the north.
    spots = [spot("c.jpg", 0, 0.0002), spot("a.jpg", 0, 0), spot("e.jpg", 0, 0.0003), spot("b.jpg", 0, 0.0001),
             spot("d.jpg", 0.01, 0.0001)]
    tour = build(spots)
    assert tour["ordered_by"] == "gps" and tour["gps"] is True
    assert [n["file"] for n in tour["nodes"]] == ["a.jpg", "b.jpg", "c.jpg", "e.jpg", "d.jpg"]
    assert tour["start"] == "n1"
    got = links(tour)
    assert got["a.jpg"] == ["b.jpg", "c.jpg"]  # next on the path, and c within twice the step
    assert got["b.jpg"] == ["a.jpg", "c.jpg", "e.jpg"]
    assert got["d.jpg"] == ["e.jpg"]  # only its path neighbour: too far for a near link
    a = tour["nodes"][0]
    to_b = next(link for link in a["links"] if link["node"] == "n2")
    assert to_b["yaw"] == pytest.approx(90.0, abs=0.01)  # due east
    assert to_b["distance"] == pytest.approx(11.12, abs=0.05)
    assert a["position"] == [0.0, 0.0] and tour["nodes"][1]["position"][0] == pytest.approx(11.12, abs=0.05)
    d = tour["nodes"][4]
    assert d["links"][0]["yaw"] == pytest.approx(180 - 1.15, abs=0.05)  # back south, slightly east to e


def test_gps_with_times_follows_the_path_walked_and_heading_turns_the_yaw():
    spots = [spot("1.jpg", 0, 0, "2026-05-01T10:00:00", heading=90.0), spot("2.jpg", 0.0001, 0, "2026-05-01T10:00:20"),
             spot("3.jpg", 0, 0.0001, "2026-05-01T10:00:10")]
    tour = build(spots)
    assert [n["file"] for n in tour["nodes"]] == ["1.jpg", "3.jpg", "2.jpg"]
    first = tour["nodes"][0]
    yaw = {link["node"]: link["yaw"] for link in first["links"]}
    assert yaw["n2"] == pytest.approx(0.0, abs=0.01)  # east is straight ahead of a panorama facing east
    assert yaw["n3"] == pytest.approx(270.0, abs=0.01)  # north is to its left
    assert first["heading"] == 90.0 and first["taken_at"] == "2026-05-01T10:00:00"


def test_without_gps_capture_time_orders_a_chain_forward_and_back():
    spots = [spot("b.jpg", t="2026-05-01T10:02:00"), spot("a.jpg", t="2026-05-01T10:03:00"),
             spot("c.jpg", t="2026-05-01T10:01:00"), spot("untimed.jpg")]
    tour = build(spots)
    assert tour["ordered_by"] == "time" and tour["gps"] is False
    assert [n["file"] for n in tour["nodes"]] == ["c.jpg", "b.jpg", "a.jpg", "untimed.jpg"]
    middle = tour["nodes"][1]
    assert middle["links"] == [{"node": "n1", "yaw": 180.0}, {"node": "n3", "yaw": 0.0}]
    assert "position" not in middle


def test_names_order_naturally_when_nothing_else_is_known():
    tour = build([spot("pano10.jpg"), spot("pano2.jpg"), spot("pano1.jpg")])
    assert tour["ordered_by"] == "name"
    assert [n["file"] for n in tour["nodes"]] == ["pano1.jpg", "pano2.jpg", "pano10.jpg"]


def test_scan_positions_place_e57_panoramas():
    spots = [spot("s2", position=(10.0, 0.0)), spot("s1", position=(0.0, 0.0)), spot("s3", position=(10.0, 10.0))]
    tour = build(spots)
    assert tour["ordered_by"] == "position" and tour["gps"] is False
    assert [n["file"] for n in tour["nodes"]] == ["s1", "s2", "s3"]
    assert tour["nodes"][1]["links"][1] == {"node": "n3", "yaw": 0.0, "distance": 10.0}


def test_one_panorama_is_a_tour_and_none_is_not():
    assert build([]) is None
    tour = build([spot("only.jpg")])
    assert [n["links"] for n in tour["nodes"]] == [[]]


def file_row(name, kind="image", details=None, assets=None, error=None):
    details = {**(details or {}), **({"error": error, "error_message": "broken"} if error else {})}
    return ProjectFile(name=name, kind=kind, details=details, assets=assets or {})


def test_spots_come_from_photos_manifests_and_panorama_roles():
    photo = photo_spot(file_row("p.jpg", details={"equirectangular": True, "gps": {"lat": 1.0, "lng": 2.0, "heading": 45},
                                                  "taken_at": "2026-05-01T10:00:00+02:00"}, assets={"thumbnail": "k"}))
    assert (photo.gps, photo.heading, photo.taken_at, photo.thumbnail_role) == (
        (1.0, 2.0, None), 45.0, datetime(2026, 5, 1, 10), "thumbnail")
    assert photo_spot(file_row("flat.jpg", details={"equirectangular": False})) is None
    assert photo_spot(file_row("bad.jpg", details={"equirectangular": True}, error="corrupt")) is None
    video = file_row("walk.insv", "video_360", assets={"panoramas": "m", "panorama_0001": "a", "panorama_0002": "b"})
    manifest = {"panoramas": [{"role": "panorama_0001", "time": 0.0, "gps": {"lat": 1, "lng": 2}},
                              {"role": "panorama_0002", "time": 2.0}, {"role": "missing"}, "junk"]}
    found = manifest_spots(video, manifest)
    assert [(s.role, s.name, s.gps) for s in found] == [("panorama_0001", "walk.insv · 0.0 s", (1.0, 2.0, None)),
                                                        ("panorama_0002", "walk.insv · 2.0 s", None)]
    assert manifest_spots(video, "not a manifest") == []
    scan = file_row("scan.e57", "point_cloud", assets={"panorama_10": "x", "panorama_2": "y", "copc": "z"})
    assert [s.role for s in role_spots(scan)] == ["panorama_2", "panorama_10"]


class BlobsInMemory:
    def __init__(self, blobs):
        self.blobs = blobs

    async def read(self, key, start=0, end=None):
        data = self.blobs[key]
        for i in range(0, len(data), 4):  # small blocks, as a store streams them
            yield data[i:i + 4]


@pytest.mark.parametrize(("data", "expected"), [
    (b'{"panoramas": []}', {"panoramas": []}),
    (b"\xff\xd8\xff\xe0" + b"\0" * 64, "image"),
    (b"\x89PNG\r\n\x1a\n", "image"),
    (b"not json", None),
])
async def test_a_panoramas_asset_is_a_manifest_or_one_image(data, expected):
    from omnidrop.pipeline.tours import _read_manifest

    assert await _read_manifest(BlobsInMemory({"k": data}), "k") == expected
