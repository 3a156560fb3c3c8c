"""Camera poses with pycolmap on a rendered scene whose cameras are known: every view registered, the
camera centres where they really were (after a similarity alignment), the COLMAP text export and
sparse.ply readable, the pose convention as documented; inputs that give no model fail with their code."""

from pathlib import Path

import numpy as np
import pycolmap
import pytest
from PIL import Image
from plyfile import PlyData

from omnidrop.pipeline.reconstruction import (
    PLY_NAME, TEXT_FILES, MappingFailed, choose_matcher, reconstruct, world_from_camera,
)
from tests.support.scene3d import centre_error, shared_orbit


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    views = shared_orbit()
    frames = tmp_path_factory.mktemp("frames")
    for view in views:
        view.image.save(frames / view.name, quality=92)
    workdir = tmp_path_factory.mktemp("sfm")
    seen = []
    result = reconstruct(frames, [v.name for v in views], workdir, video=False, progress=seen.append)
    return views, frames, workdir, result, seen


def test_every_view_is_registered_where_it_really_was(scene):
    views, _, _, result, seen = scene
    assert result["registered"] >= 0.9 * len(views) and result["total"] == len(views)
    assert result["matcher"] == "exhaustive" and result["points"] > 100
    assert 0 < result["mean_reprojection_error"] < 1.0
    assert seen[-1] == 1.0 and seen == sorted(seen)
    centres = {f["name"]: np.array(f["world_from_camera"])[:3, 3] for f in result["frames"]}
    error, extent = centre_error(centres, views)
    assert error < 0.02 * extent, (error, extent)


def test_world_from_camera_is_the_inverse_of_colmaps_cam_from_world(scene):
    _, _, workdir, result, _ = scene
    model = pycolmap.Reconstruction(workdir / "sparse")
    for frame in result["frames"]:
        image = model.find_image_with_name(frame["name"])
        pose = np.array(frame["world_from_camera"])
        assert pose.shape == (4, 4) and np.allclose(pose[3], [0, 0, 0, 1])
        cam_from_world = np.vstack([image.cam_from_world().matrix(), [0, 0, 0, 1]])
        assert np.allclose(pose @ cam_from_world, np.eye(4), atol=1e-9)
        assert np.allclose(pose[:3, 3], image.projection_center())  # the camera centre is the last column
        # +z of the camera looks at the scene: the box's centre is in front of every camera.
        aligned_forward = pose[:3, 2]
        assert aligned_forward @ (np.array(model.compute_centroid()) - pose[:3, 3]) > 0
        camera = frame["camera"]
        assert (camera["width"], camera["height"]) == (256, 192) and np.array(camera["K"]).shape == (3, 3)


def test_the_exports_read_back(scene):
    _, _, workdir, result, _ = scene
    sparse = workdir / "sparse"
    assert all((sparse / name).stat().st_size > 0 for name in TEXT_FILES)
    model = pycolmap.Reconstruction()
    model.read_text(sparse)
    assert model.num_reg_images() == result["registered"] and model.num_points3D() == result["points"]
    ply = PlyData.read(str(sparse / PLY_NAME))
    assert ply["vertex"].count == result["points"]
    assert {"x", "y", "z", "red", "green", "blue"} <= {p.name for p in ply["vertex"].properties}


def test_a_rerun_starts_over_in_the_same_folder(scene, tmp_path):
    views, frames, workdir, result, _ = scene
    again = reconstruct(frames, [v.name for v in views], workdir, video=True)  # video: sequential matching
    assert again["matcher"] == "sequential" and again["registered"] == result["registered"]


@pytest.mark.parametrize("count, video, vocab, expected", [
    (500, True, None, "sequential"), (12, False, None, "exhaustive"), (150, False, None, "exhaustive"),
    (151, False, None, "sequential"), (151, False, "/trees/vocab.bin", "vocab_tree"),
])
def test_the_matcher_follows_the_input_and_its_size(count, video, vocab, expected):
    assert choose_matcher(count, video, vocab) == expected


def _write(folder: Path, images: list[Image.Image]) -> list[str]:
    names = []
    for i, image in enumerate(images, 1):
        names.append(f"frame_{i:04d}.jpg")
        image.save(folder / names[-1], quality=92)
    return names


@pytest.mark.parametrize("make, code", [
    (lambda rng: [Image.new("RGB", (128, 96), (120, 120, 120))] * 4, "featureless"),
    (lambda rng: [Image.fromarray(rng.integers(0, 256, (96, 128, 3), dtype=np.uint8)).resize((256, 192))
                  for _ in range(4)], "no_overlap"),  # textured, but four unrelated pictures
    (lambda rng: [Image.new("RGB", (128, 96), (10, 200, 10))] * 2, "too_few_frames"),
])
def test_inputs_that_give_no_model_fail_with_their_code(tmp_path, make, code):
    names = _write(tmp_path, make(np.random.default_rng(3)))
    with pytest.raises(MappingFailed) as failed:
        reconstruct(tmp_path, names, tmp_path / "work", video=False)
    assert failed.value.code == code and failed.value.message


def test_world_from_camera_of_a_known_pose():
    rotation = np.array([[0.0, -1, 0], [1, 0, 0], [0, 0, 1]])
    centre = np.array([1.0, 2, 3])
    cam_from_world = np.hstack([rotation, (-rotation @ centre)[:, None]])
    pose = world_from_camera(cam_from_world)
    assert np.allclose(pose[:3, 3], centre) and np.allclose(pose[:3, :3], rotation.T)
