"""Projects: an IFC model gets its GLB, tree and properties as assets and its facts in details; an
unreadable one is marked failed on its own while the project and its other files go on."""

import io
import json

import httpx
import pytest
import trimesh
from PIL import Image

from tests.support import ifc, projects


@pytest.fixture(scope="module")
def live(servers):
    return servers.start()  # the embedded default: SQLite, local disk, jobs in the server


def test_ifc_files_become_models_and_a_broken_one_fails_alone(live, tmp_path):
    photo = io.BytesIO()
    Image.new("RGB", (640, 480), (90, 140, 60)).save(photo, "JPEG")
    good = ifc.small_model(tmp_path / "office.ifc").read_bytes()
    headers = live.headers()
    sid = projects.upload(live.api, headers, {"office.ifc": good, "cut.ifc": good[: len(good) // 2],
                                              "site.jpg": photo.getvalue()})
    assert projects.create(live.api, headers, upload_id=sid).status_code == 201
    record = projects.wait(live.api, headers, sid, timeout=120)
    assert record["state"] == "ready" and record["status"] == 100
    files = {f["name"]: f for f in record["files"]}

    model = files["office.ifc"]
    assert model["type"] == "cad_bim" and "error" not in model
    d = model["details"]
    assert (d["format"], d["schema"], d["project"]) == ("ifc", "IFC4", "Harbour Office")
    assert d["elements"] == {"IfcDoor": 1, "IfcSlab": 1, "IfcWall": 1}
    assert d["storeys"] == [{"name": "Ground floor", "elevation": 0.0}] and d["units"]["length"] == "MILLIMETRE"
    assert sorted(model["assets"]) == ["bim_model", "bim_properties", "bim_tree"]

    glb = httpx.get(model["assets"]["bim_model"], headers=headers)
    assert glb.status_code == 200 and glb.content[:4] == b"glTF"
    scene = trimesh.load(trimesh.util.wrap_as_stream(glb.content), file_type="glb", force="scene")
    tree = httpx.get(model["assets"]["bim_tree"], headers=headers).json()
    storey = tree["root"]["children"][0]["children"][0]["children"][0]
    assert {c["id"] for c in storey["children"]} == set(scene.graph.nodes_geometry)
    props = json.loads(httpx.get(model["assets"]["bim_properties"], headers=headers).content)
    wall = next(c["id"] for c in storey["children"] if c["type"] == "IfcWall")
    assert props[wall]["psets"]["Pset_WallCommon"]["FireRating"] == "REI60"

    cut = files["cut.ifc"]
    assert cut["type"] == "cad_bim" and cut["assets"] == {}
    assert cut["error"] == "unreadable_ifc" and "truncated" in cut["message"]
    assert files["site.jpg"]["assets"].keys() == {"thumbnail"} and "error" not in files["site.jpg"]


def _ctx(store, **settings):
    from types import SimpleNamespace

    from omnidrop.settings import Settings

    return SimpleNamespace(services=SimpleNamespace(store=store), settings=Settings(media_child_process=False, **settings))


async def _keys(store, prefix: str) -> list[str]:
    return sorted([b.key async for b in store.list(prefix)])


async def test_the_step_rerun_writes_the_same_keys_and_drops_strays(tmp_path):
    from omnidrop.pipeline.classify import classify
    from omnidrop.pipeline.file_steps import run_file_steps
    from omnidrop.storage.local import LocalBlobStore

    store = LocalBlobStore(tmp_path / "blobs", fsync=False)
    ctx = _ctx(store)
    src = ifc.small_model(tmp_path / "office.ifc")
    kind = classify(src)
    assert (kind.details["format"], kind.details["schema"]) == ("ifc", "IFC4")
    prefix = "projects/p1/bim/office.ifc"

    first = await run_file_steps(ctx, "p1", "office.ifc", src, kind)
    await store.put(f"{prefix}/left-by-a-dead-attempt.glb", _one(b"x"))
    again = await run_file_steps(ctx, "p1", "office.ifc", src, kind)
    assert again == first and "error" not in first.details
    assert await _keys(store, prefix) == sorted(first.assets.values())
    assert first.details["elements"] == {"IfcDoor": 1, "IfcSlab": 1, "IfcWall": 1}

    # The same name, now an unreadable file: marked failed, and the earlier model's assets are gone.
    src.write_bytes(src.read_bytes()[:500])
    failed = await run_file_steps(ctx, "p1", "office.ifc", src, kind)
    assert failed.assets == {} and failed.details["error"] == "unreadable_ifc"
    assert await _keys(store, prefix) == []


async def _one(data: bytes):
    yield data
