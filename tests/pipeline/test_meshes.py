"""Meshes normalised to GLB with a CPU-rendered thumbnail: each format's output reads back as the same
model, the counts and bounds are right, the thumbnail shows the model in its colours, re-runs overwrite,
bad files are refused with a slug."""

import shutil

import numpy as np
import pytest
import trimesh
from PIL import Image

from omnidrop.pipeline.classify import Kind, classify
from omnidrop.pipeline.meshes import MeshError, render, to_glb
from tests.support import models

BOX_BOUNDS = {"min": [-1.0, -0.5, -0.5], "max": [1.0, 0.5, 0.5]}


@pytest.mark.parametrize("name", ["cube.obj", "cube.stl", "cube.ply", "cube.fbx"])
def test_a_box_in_each_format(tmp_path, name):
    if name.endswith(".fbx"):
        if shutil.which("assimp") is None:
            pytest.skip("Assimp's CLI (Debian: assimp-utils) is not installed")
        src = models.fbx(tmp_path / name)
    else:
        src = models.cube(tmp_path / name)
    kind = classify(src)
    assert kind.kind == Kind.CAD_BIM and kind.details["format"] == name.split(".")[1]
    info = to_glb(src, kind.details["format"], tmp_path / "out.glb", tmp_path / "thumb.jpg", max_edge=256)
    assert (info["vertices"], info["faces"], info["meshes"], info["bounds"]) == (8, 12, 1, BOX_BOUNDS)
    back = trimesh.load_scene(tmp_path / "out.glb")  # the GLB reads back as the same box
    assert np.allclose(back.bounds, [BOX_BOUNDS["min"], BOX_BOUNDS["max"]])
    assert sum(len(g.faces) for g in back.geometry.values()) == 12
    thumb = Image.open(tmp_path / "thumb.jpg")
    assert thumb.format == "JPEG" and thumb.size == (256, 192)


def test_a_glb_is_kept_as_made_with_a_thumbnail_in_its_colours(tmp_path):
    src = models.glb(tmp_path / "scene.glb")
    info = to_glb(src, "glb", tmp_path / "out.glb", tmp_path / "thumb.jpg", max_edge=320)
    assert (tmp_path / "out.glb").read_bytes() == src.read_bytes()
    ball = trimesh.creation.icosphere(subdivisions=3)
    assert info["meshes"] == 2 and info["faces"] == 12 + len(ball.faces) and info["vertices"] == 8 + len(ball.vertices)
    assert info["bounds"] == {"min": [-1.0, -0.5, -0.6], "max": [1.0, 1.7, 0.6]}
    pixels = np.asarray(Image.open(tmp_path / "thumb.jpg").convert("RGB")).reshape(-1, 3).astype(int)
    red = (pixels[:, 0] > 90) & (pixels[:, 0] > 2 * pixels[:, 2])  # the box, lit or in shade
    blue = (pixels[:, 2] > 90) & (pixels[:, 2] > pixels[:, 0] + 40)  # the ball
    assert red.mean() > 0.08 and blue.mean() > 0.04, (red.mean(), blue.mean())
    background = (np.abs(pixels - [238, 240, 243]).sum(axis=1) < 12).mean()
    assert 0.3 < background < 0.9  # the model fills the frame, with room around it


def test_a_textured_model_is_thumbnailed_in_its_texture_colours(tmp_path):
    box = trimesh.creation.box(extents=(2.0, 1.0, 1.0))
    texture = Image.new("RGB", (64, 64), (20, 160, 60))  # green
    box.visual = trimesh.visual.TextureVisuals(uv=np.full((len(box.vertices), 2), 0.5), image=texture)
    src = tmp_path / "textured.glb"
    src.write_bytes(trimesh.Scene([box]).export(file_type="glb"))
    to_glb(src, "glb", tmp_path / "out.glb", tmp_path / "thumb.jpg", max_edge=160)
    pixels = np.asarray(Image.open(tmp_path / "thumb.jpg").convert("RGB")).reshape(-1, 3).astype(int)
    green = (pixels[:, 1] > pixels[:, 0] + 30) & (pixels[:, 1] > pixels[:, 2] + 30)
    assert green.mean() > 0.25, green.mean()


def test_the_thumbnail_is_the_model_seen_from_above_right():
    # A flat plate: seen from above, its top face is a wide shape; the image is not blank and not all model.
    plate = trimesh.creation.box(extents=(2.0, 0.05, 2.0))
    image = np.asarray(render([plate], max_edge=200).convert("L")).astype(int)
    covered = np.abs(image - image[0, 0]) > 10
    rows, cols = np.nonzero(covered)
    assert 0.2 < covered.mean() < 0.8
    assert cols.max() - cols.min() > 1.4 * (rows.max() - rows.min())  # wider than tall from this elevation


def test_a_re_run_overwrites_with_the_same_bytes(tmp_path):
    src = models.cube(tmp_path / "cube.obj")
    to_glb(src, "obj", tmp_path / "out.glb", tmp_path / "thumb.jpg")
    first = (tmp_path / "out.glb").read_bytes(), (tmp_path / "thumb.jpg").read_bytes()
    to_glb(src, "obj", tmp_path / "out.glb", tmp_path / "thumb.jpg")
    assert ((tmp_path / "out.glb").read_bytes(), (tmp_path / "thumb.jpg").read_bytes()) == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cube.obj", "out.glb", "thumb.jpg"]


@pytest.mark.parametrize("name, body, code", [
    ("broken.glb", b"glTF\x02\x00\x00\x00" + b"\xff" * 40, "unreadable"),
    ("broken.stl", b"\x00" * 80 + (1000).to_bytes(4, "little") + b"\x01" * 50, "truncated"),
    ("empty.obj", b"# nothing but a comment\nv 0 0 0\n", "no_geometry"),
    ("broken.fbx", b"Kaydara FBX Binary  \x00\x1a\x00" + b"\x00" * 64, "unreadable"),
])
def test_unreadable_models_are_refused(tmp_path, name, body, code):
    if name.endswith(".fbx") and shutil.which("assimp") is None:
        pytest.skip("Assimp's CLI is not installed")
    src = tmp_path / name
    src.write_bytes(body)
    with pytest.raises(MeshError) as err:
        to_glb(src, name.split(".")[1], tmp_path / "out.glb", tmp_path / "thumb.jpg")
    assert err.value.code == code and err.value.message
    assert not (tmp_path / "out.glb").exists()


def test_mesh_error_survives_pickling():
    import pickle

    err = pickle.loads(pickle.dumps(MeshError("unreadable", "cannot read")))
    assert (err.code, err.message, str(err)) == ("unreadable", "cannot read", "cannot read")


def test_stl_and_collada_and_3ds_are_classified(tmp_path):
    ascii_stl = tmp_path / "part.stl"
    ascii_stl.write_text("solid part\n facet normal 0 0 1\n  outer loop\n   vertex 0 0 0\n   vertex 1 0 0\n"
                         "   vertex 0 1 0\n  endloop\n endfacet\nendsolid part\n")
    assert classify(ascii_stl).details == {"format": "stl", "encoding": "ascii"}
    binary = models.cube(tmp_path / "cube.stl")
    assert classify(binary).details == {"format": "stl", "encoding": "binary", "faces": 12}
    dae = tmp_path / "scene.dae"
    dae.write_text('<?xml version="1.0"?>\n<COLLADA xmlns="http://www.collada.org/2005/11/COLLADASchema" version="1.4.1"/>')
    assert classify(dae).details == {"format": "dae"}
    cut = tmp_path / "cut.stl"
    cut.write_bytes(binary.read_bytes()[:-20])  # cut short: still an STL by name and layout, marked damaged
    assert classify(cut).details == {"format": "stl", "encoding": "binary", "faces": 12, "damaged": True}
    odd = tmp_path / "notes.stl"
    odd.write_bytes(b"\x00" * 100)  # no triangle count, no "solid": not a model
    assert classify(odd).kind == Kind.OTHER


def test_a_gltf_reads_with_embedded_buffers_and_says_what_is_missing_without(tmp_path):
    box = trimesh.creation.box(extents=(2.0, 1.0, 1.0))
    embedded = tmp_path / "embedded.gltf"
    embedded.write_bytes(box.export(file_type="gltf", embed_buffers=True)["model.gltf"])
    assert classify(embedded).details == {"format": "gltf"}
    assert to_glb(embedded, "gltf", tmp_path / "out.glb")["faces"] == 12
    outside = tmp_path / "outside.gltf"
    outside.write_bytes(box.export(file_type="gltf")["model.gltf"])  # its .bin is left behind
    with pytest.raises(MeshError) as err:
        to_glb(outside, "gltf", tmp_path / "out2.glb")
    assert err.value.code == "unreadable" and "not inside the file" in err.value.message
