"""Camera poses and a sparse point cloud from a capture's frames, with pycolmap (COLMAP's bindings, CPU).

`reconstruct(frames_dir, names, workdir, video=…)` runs COLMAP's standard pipeline in-process:
SIFT features (one shared camera for a video's frames or a photo set of one size, else COLMAP's AUTO), matching
chosen by input and size (`choose_matcher`), incremental mapping, and keeps the largest model. It
writes the model as COLMAP text (`cameras.txt`, `images.txt`, `points3D.txt`) and the points as a
PLY (`sparse.ply`) under `workdir/sparse`, and returns a plain dict (picklable: it runs in a child
process) with what the capture records:

- `registered` / `total` frames, `mean_reprojection_error` (pixels), `points`, `matcher`;
- per registered frame: its name, intrinsics (COLMAP camera model, params, 3x3 K) and its
  world-from-camera pose as a row-major 4x4 (OpenCV/COLMAP camera axes: x right, y down, z forward;
  the inverse of COLMAP's `cam_from_world`; the camera centre is the last column).

Inputs that cannot give a model raise `MappingFailed(code, message)`: too few frames, no features
(featureless images), no overlapping pairs, no pair with enough parallax to start a model (a camera
that only turned in place), or too few frames registered.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

MIN_FRAMES = 3
MIN_FEATURES = 64  # median keypoints per frame below this: the frames are featureless
MIN_PAIR_INLIERS = 30  # a pair "overlaps" with this many verified matches (chance ones between unrelated
# textured pictures stay below it; it is also what COLMAP's mapper needs to register an image)
MIN_REGISTERED_RATIO = 0.25  # a model with fewer of the frames than this is no model of the capture
EXHAUSTIVE_MAX = 150  # photo sets up to this size are matched every pair with every pair
SEQUENTIAL_OVERLAP = 10
LARGE_SET_OVERLAP = 20
MAX_IMAGE_SIZE = 1600  # SIFT runs on frames downscaled to this longest edge (poses are in full-size pixels)
# RANSAC's cap on trials when two frames' matches are verified. COLMAP's 10 000 is spent almost only on
# pairs that do not overlap (a few dozen chance matches, no model ever reaches the inlier ratio that ends
# the search early), which made verification ~90 % of the pipeline's CPU time. Pairs that do overlap
# stop after a few hundred trials. Measured on the 40-view orbit: 141 -> 35 CPU s, 247 -> 248 verified
# pairs (bench/reconstruction/run.py; docs/benchmarks.md).
VERIFY_MAX_TRIALS = 2000
PLY_NAME = "sparse.ply"
TEXT_FILES = ("cameras.txt", "images.txt", "points3D.txt")


class MappingFailed(Exception):
    """The frames give no model; `code` names why (its slug is `code` with dashes)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message


def choose_matcher(count: int, video: bool, vocab_tree: str | None = None) -> str:
    """`sequential` for a video's frames (neighbours in time overlap); `exhaustive` for photo sets up to
    EXHAUSTIVE_MAX; past that `vocab_tree` when a vocabulary file is configured (COLMAP's own would be
    downloaded, which an offline server cannot), else `sequential` with a wider overlap (photos of a
    walk-around are taken in order)."""
    if video:
        return "sequential"
    if count <= EXHAUSTIVE_MAX:
        return "exhaustive"
    return "vocab_tree" if vocab_tree else "sequential"


def reconstruct(frames_dir: Path, names: list[str], workdir: Path, *, video: bool, vocab_tree: str | None = None,
                threads: int = -1, progress: Callable[[float], None] | None = None) -> dict[str, Any]:
    import pycolmap

    report = progress or (lambda f: None)
    if len(names) < MIN_FRAMES:
        raise MappingFailed("too_few_frames", f"camera poses need at least {MIN_FRAMES} frames; the capture has "
                                              f"{len(names)}")
    workdir.mkdir(parents=True, exist_ok=True)
    database = workdir / "database.db"
    database.unlink(missing_ok=True)  # a re-run starts over: no half-written tables from a dead attempt
    pycolmap.set_random_seed(0)
    extraction = pycolmap.FeatureExtractionOptions()
    extraction.max_image_size = MAX_IMAGE_SIZE
    extraction.num_threads = threads
    mode = pycolmap.CameraMode.SINGLE if video or _one_size(frames_dir, names) else pycolmap.CameraMode.AUTO
    pycolmap.extract_features(database, frames_dir, image_names=names, camera_mode=mode,
                              extraction_options=extraction, device=pycolmap.Device.cpu)
    report(0.3)
    with pycolmap.Database.open(database) as db:
        keypoints = [db.num_keypoints_for_image(image.image_id) for image in db.read_all_images()]
    if not keypoints or statistics.median(keypoints) < MIN_FEATURES:
        raise MappingFailed("featureless", f"the frames show too little texture to match (median "
                                           f"{int(statistics.median(keypoints or [0]))} features a frame, "
                                           f"{MIN_FEATURES} needed)")

    matcher = choose_matcher(len(names), video, vocab_tree)
    matching = pycolmap.FeatureMatchingOptions()
    matching.num_threads = threads
    verification = pycolmap.TwoViewGeometryOptions()
    verification.ransac.max_num_trials = VERIFY_MAX_TRIALS
    common = {"matching_options": matching, "verification_options": verification, "device": pycolmap.Device.cpu}
    if matcher == "exhaustive":
        pycolmap.match_exhaustive(database, **common)
    elif matcher == "vocab_tree":
        pairing = pycolmap.VocabTreePairingOptions()
        pairing.vocab_tree_path = str(vocab_tree)
        pycolmap.match_vocabtree(database, pairing_options=pairing, **common)
    else:
        pairing = pycolmap.SequentialPairingOptions()
        pairing.overlap = SEQUENTIAL_OVERLAP if video else LARGE_SET_OVERLAP
        pairing.quadratic_overlap = True
        pycolmap.match_sequential(database, pairing_options=pairing, **common)
    report(0.6)
    with pycolmap.Database.open(database) as db:
        _, geometries = db.read_two_view_geometries()
        verified = sum(1 for g in geometries if len(g.inlier_matches) >= MIN_PAIR_INLIERS)
    if verified == 0:
        raise MappingFailed("no_overlap", "no two frames show the same part of the scene (no pair of frames "
                                          "matched), so no camera pose can be found")

    mapping = pycolmap.IncrementalPipelineOptions()
    mapping.num_threads = threads
    mapping.random_seed = 0
    mapping.min_model_size = MIN_FRAMES
    models_dir = workdir / "models"
    models_dir.mkdir(exist_ok=True)
    models = pycolmap.incremental_mapping(database, frames_dir, models_dir, options=mapping)
    report(0.9)
    if not models:
        raise MappingFailed("degenerate_motion", f"{verified} pairs of frames overlap, but none with enough "
                                                 "parallax to start a model (did the camera only turn in place?)")
    model = max(models.values(), key=lambda m: (m.num_reg_images(), m.num_points3D()))
    registered = model.num_reg_images()
    if registered < max(MIN_FRAMES, MIN_REGISTERED_RATIO * len(names)):
        raise MappingFailed("too_few_registered", f"only {registered} of {len(names)} frames could be placed in "
                                                  f"one model ({int(MIN_REGISTERED_RATIO * 100)} % needed)")
    sparse = workdir / "sparse"
    sparse.mkdir(exist_ok=True)
    model.write_text(sparse)
    model.export_PLY(sparse / PLY_NAME)
    report(1.0)
    return summarise(model, len(names), matcher)


def _one_size(frames_dir: Path, names: list[str]) -> bool:
    """All frames the same size: taken as one camera's (one set of intrinsics to estimate, not one per frame,
    which is what COLMAP's AUTO mode makes of images without EXIF focal lengths)."""
    from PIL import Image

    sizes = set()
    for name in names:
        with Image.open(frames_dir / name) as image:
            sizes.add(image.size)
    return len(sizes) == 1


def summarise(model: Any, total: int, matcher: str) -> dict[str, Any]:
    """What a capture records of a model (picklable plain values)."""
    frames = []
    for image in sorted((model.image(i) for i in model.reg_image_ids()), key=lambda im: im.name):
        camera = model.camera(image.camera_id)
        frames.append({
            "name": image.name,
            "world_from_camera": world_from_camera(image.cam_from_world().matrix()).tolist(),
            "camera": {"model": camera.model_name, "width": camera.width, "height": camera.height,
                       "params": [float(p) for p in camera.params],
                       "K": np.asarray(camera.calibration_matrix()).tolist()},
        })
    bbox = model.compute_bounding_box(0.01, 0.99) if model.num_points3D() else None
    return {
        "registered": model.num_reg_images(), "total": total, "matcher": matcher,
        "mean_reprojection_error": float(model.compute_mean_reprojection_error()),
        "points": model.num_points3D(),
        "aabb": {"min": [float(v) for v in bbox.min], "max": [float(v) for v in bbox.max]} if bbox else None,
        "frames": frames,
    }


def world_from_camera(cam_from_world: np.ndarray) -> np.ndarray:
    """COLMAP's 3x4 cam_from_world [R | t] as its inverse, a 4x4 world-from-camera [Rᵀ | -Rᵀt]."""
    m = np.asarray(cam_from_world, dtype=float)
    rotation, translation = m[:3, :3], m[:3, 3]
    out = np.eye(4)
    out[:3, :3] = rotation.T
    out[:3, 3] = -rotation.T @ translation
    return out


def default_threads() -> int:
    return max(1, (os.cpu_count() or 2))
