"""Placing a model on the Earth: WGS84 to East-North-Up against known values and pycolmap's own conversion,
the similarity fit recovering a known transform, the cases that are refused with their reason, and the
rendered orbit (photos geotagged from their true camera centres) placed where it really stood."""

import math

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from omnidrop.pipeline.georegistration import WGS84_A, fit_similarity, register, to_enu
from tests.support.geotag import ORIGIN, enu_to_geodetic, geodetic_to_enu


def test_enu_at_the_equator_is_the_known_circle_offset():
    origin = {"lat": 0.0, "lng": 0.0, "alt": 0.0}
    east, north, up = to_enu(0.0, 0.001, 0.0, origin)[0]
    # On the equator a point 0.001° east is (a·cos λ, a·sin λ, 0) in ECEF: east a·sin λ, up a·(cos λ - 1).
    assert east == pytest.approx(WGS84_A * math.sin(math.radians(0.001)), abs=1e-6)
    assert up == pytest.approx(WGS84_A * (math.cos(math.radians(0.001)) - 1), abs=1e-6)
    assert north == pytest.approx(0.0, abs=1e-6)
    assert to_enu(0.0, 0.0, 100.0, origin)[0] == pytest.approx([0, 0, 100], abs=1e-6)


def test_enu_matches_pycolmaps_wgs84_conversion():
    lla = np.array([[48.1380, 11.5750, 520.0], [48.1365, 11.5772, 540.0], [48.1371, 11.5731, 500.0]])
    ours = to_enu(lla[:, 0], lla[:, 1], lla[:, 2], ORIGIN)
    assert np.allclose(ours, geodetic_to_enu(lla), atol=1e-3)
    assert ours[0, 1] == pytest.approx(111.2, abs=0.2)  # 0.001° of latitude is about 111 m


def test_the_fit_recovers_a_known_similarity():
    rng = np.random.default_rng(4)
    source = rng.normal(size=(8, 3))
    rotation = Rotation.from_rotvec([0.3, -1.1, 0.7]).as_matrix()
    target = 3.7 * source @ rotation.T + [10.0, -4.0, 2.5]
    fitted = fit_similarity(source, target)
    scale = np.cbrt(np.linalg.det(fitted[:3, :3]))
    assert scale == pytest.approx(3.7)
    assert np.allclose(fitted[:3, :3] / scale, rotation) and np.allclose(fitted[:3, 3], [10.0, -4.0, 2.5])
    assert np.allclose(fitted[3], [0, 0, 0, 1])
    line = np.outer(np.arange(5.0), [1.0, 2.0, 0.5])
    assert fit_similarity(line, 2 * line) is None


def _frames(model_centres: np.ndarray) -> list[dict]:
    frames = []
    for i, c in enumerate(model_centres):
        pose = np.eye(4)
        pose[:3, 3] = c
        frames.append({"name": f"frame_{i + 1:04d}.jpg", "world_from_camera": pose.tolist()})
    return frames


def _gps(enu: np.ndarray, altitude: bool = True) -> dict[str, dict]:
    out = {}
    for i, (lat, lng, alt) in enumerate(enu_to_geodetic(enu)):
        out[f"frame_{i + 1:04d}.jpg"] = {"lat": lat, "lng": lng, **({"alt": alt} if altitude else {})}
    return out


MODEL_FROM_ENU_SCALE = 0.05  # the model is 20 times smaller than the world, and turned


def _model(enu: np.ndarray) -> np.ndarray:
    rotation = Rotation.from_rotvec([1.2, 0.4, -0.3]).as_matrix()
    return MODEL_FROM_ENU_SCALE * enu @ rotation.T + [0.5, -2.0, 3.0]


def test_a_model_is_placed_by_its_frames_gps():
    enu = np.array([[0, 0, 1.5], [20, 0, 1.6], [20, 15, 1.4], [0, 15, 1.5], [10, 7, 1.5]], float)
    result = register(_frames(_model(enu)), _gps(enu))
    geo = result["geo"]
    assert geo["frames"] == 5 and geo["altitude"] and geo["rms_m"] < 0.01
    assert geo["scale"] == pytest.approx(1 / MODEL_FROM_ENU_SCALE, rel=1e-4)
    m = np.array(geo["enu_from_model"]).reshape(4, 4)
    # The origin is the GPS centroid: the model's camera centres land at their ENU offsets from it.
    placed = _model(enu) @ m[:3, :3].T + m[:3, 3]
    assert np.allclose(placed, enu - enu.mean(0), atol=0.01)
    assert geo["origin"]["alt"] == pytest.approx(ORIGIN["alt"] + 1.5, abs=0.01)


def test_without_altitudes_the_fixes_are_taken_at_one_height():
    enu = np.array([[0, 0, 0], [20, 0, 0], [20, 15, 0], [0, 15, 0]], float)
    geo = register(_frames(_model(enu)), _gps(enu, altitude=False))["geo"]
    assert not geo["altitude"] and geo["rms_m"] < 0.01 and geo["origin"]["alt"] == 0.0


@pytest.mark.parametrize("enu, gps_for, reason", [
    ([[0, 0, 0], [20, 0, 0], [20, 15, 0], [0, 15, 0]], 2, "2 of the 4 posed frames carry a GPS position"),
    ([[0, 0, 0], [0.3, 0, 0], [0.3, 0.4, 0], [0, 0.4, 0]], 4, "within 0.50 m"),
    ([[0, 0, 0], [10, 0.1, 0], [20, -0.1, 0], [30, 0, 0]], 4, "along one line"),
])
def test_what_cannot_be_placed_says_why(enu, gps_for, reason):
    enu = np.array(enu, float)
    gps = dict(list(_gps(enu).items())[:gps_for])
    result = register(_frames(_model(enu)), gps)
    assert "geo" not in result and reason in result["geo_reason"]


def test_gps_that_contradicts_the_poses_is_refused():
    enu = np.array([[0, 0, 0], [20, 0, 0], [20, 15, 0], [0, 15, 0], [10, 7, 0]], float)
    shuffled = enu[[2, 0, 4, 1, 3]]  # each photo tagged with another's position
    result = register(_frames(_model(enu)), _gps(shuffled))
    assert "geo" not in result and "do not match the frames' GPS positions" in result["geo_reason"]


def test_the_rendered_orbit_is_placed_where_it_stood(tmp_path):
    """12 rendered views tagged (in their EXIF) with the GPS position of their true camera centres, turned
    into frames and posed as a capture's are: the model lands on the Earth to within a few centimetres
    and a focus box around the central box keeps that box, not the room around it."""
    from omnidrop.pipeline.archive import UnpackedFile
    from omnidrop.pipeline.capture_processing import reconstruct_and_register
    from omnidrop.pipeline.image_frames import frames_from_files
    from omnidrop.pipeline.training.focus import focus_crop
    from omnidrop.pipeline.training.options import FocusArea
    from tests.support.geotag import METRES_PER_UNIT, gps_exif, scene_to_enu
    from tests.support.scene3d import BOX, shared_orbit

    views = shared_orbit()
    true_enu = scene_to_enu(np.array([v.centre for v in views]))
    src = tmp_path / "src"
    src.mkdir()
    files = []
    for view, (lat, lng, alt) in zip(views, enu_to_geodetic(true_enu)):
        path = src / view.name
        view.image.save(path, "JPEG", quality=92, exif=gps_exif(lat, lng, alt))
        files.append(UnpackedFile(view.name, path, view.name, path.stat().st_size))
    frames_dir = tmp_path / "frames"
    frames_dir.mkdir()
    found = frames_from_files(files, frames_dir)
    gps_by_name = {f.name: f.gps for f in found.frames}
    assert len(gps_by_name) == len(views) and all(gps_by_name.values())

    result = reconstruct_and_register(frames_dir, sorted(gps_by_name), tmp_path / "sfm", gps_by_name, video=False)
    geo = result["geo"]
    assert geo["frames"] == result["registered"] >= 0.9 * len(views)
    assert geo["rms_m"] < 0.01 * geo["spread_m"], geo
    m = np.array(geo["enu_from_model"]).reshape(4, 4)
    origin_offset = geodetic_to_enu(np.array([[geo["origin"]["lat"], geo["origin"]["lng"], geo["origin"]["alt"]]]))[0]
    truth = {f.name: e - origin_offset for f, e in zip(found.frames, true_enu)}  # true ENU at the model's origin
    for frame in result["frames"]:
        centre = np.array(frame["world_from_camera"])[:3, 3]
        assert np.allclose(m[:3, :3] @ centre + m[:3, 3], truth[frame["name"]], atol=0.01 * geo["spread_m"])

    # The sparse points lie on the central box (±10 m about the scene's origin). A focus box over its east half
    # (east 0..12 m, north ±12 m) with a 1 m buffer keeps the points east of -1 m and no others.
    half, buffer = BOX * METRES_PER_UNIT, 1.0
    corners = enu_to_geodetic(np.array([[0.0, -half - 2, 0], [half + 2, half + 2, 0]]))
    area = FocusArea(corners[0, 0], corners[0, 1], corners[1, 0], corners[1, 1], buffer_meters=buffer)
    crop = focus_crop(area, geo)
    import pycolmap

    points = np.array([p.xyz for p in pycolmap.Reconstruction(tmp_path / "sfm" / "sparse").points3D.values()])
    kept = crop.mask(points)
    # Back in the scene's frame (true ENU about ORIGIN; the model's origin is the cameras' GPS centroid).
    east = (points @ m[:3, :3].T + m[:3, 3] + origin_offset)[:, 0]
    assert np.abs(east).max() < half + 0.5  # the points are on the box indeed
    clear = 0.1  # registration error allowance at the crop's edge
    assert kept[east > -buffer + clear].all() and not kept[east < -buffer - clear].any()
    assert (east > 0).sum() > 50 and (east < -buffer - clear).sum() > 50
