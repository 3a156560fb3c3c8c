"""The project job's splat and mesh steps (run directly, no worker; SQLite: the database is not what is
tested): a 3DGS PLY, a GLB, an OBJ, an STL, an FBX and two damaged files become one project at 100
whose good files carry their web copies (SOG + SPZ, GLB, thumbnails) and details, the damaged ones
`error` and `error_message`; a re-run rewrites the same record and outputs. Meshes are converted in the job's
own process here (media_child_process off) to keep the test quick; the child path has its own test."""

import io
import shutil

import numpy as np
import pytest
import trimesh
from PIL import Image
from sqlalchemy import select, update

from omnidrop.auth.keys import KeyService
from omnidrop.db.models import Job, Project, ProjectFile
from omnidrop.jobs.runner import run_job
from omnidrop.pipeline.splats import find_cli, sog_count
from omnidrop.projects.service import PROCESS_KIND, READY, NewProject
from omnidrop.services import Services
from omnidrop.settings import Settings
from tests.support import models

pytestmark = pytest.mark.skipif(find_cli() is None, reason="splat-transform not installed (scripts/lib/setup.sh)")


@pytest.fixture
def sqlite_url(databases) -> str:
    return databases("sqlite")


@pytest.fixture
async def services(sqlite_url, tmp_path):
    settings = Settings(data_dir=tmp_path / "data", database_url=sqlite_url, fsync=False,
                        thumbnail_max_edge=256, media_child_process=False)
    services = Services.open(settings)
    try:
        yield services
    finally:
        await services.close()


async def blob(services, key: str) -> bytes:
    return b"".join([chunk async for chunk in services.store.read(key)])


async def project_of(services, files: dict[str, bytes]) -> str:
    owner = await KeyService(services.db).ensure_owner("model-tests")
    sid = (await services.uploads.create_session(owner)).id
    for name, data in files.items():
        async def body(data=data):
            yield data
        await services.uploads.write(owner, sid, name, start=0, length=len(data), total=len(data), body=body())
    return (await services.projects.create(owner, NewProject(upload_id=sid))).id


async def process(services, project_id: str) -> dict[str, ProjectFile]:
    async with services.db.read() as s:
        job_id = await s.scalar(select(Job.id).where(Job.kind == PROCESS_KIND, Job.subject_id == project_id))
    await run_job(job_id, services.settings)
    async with services.db.read() as s:
        project = await s.get(Project, project_id)
        assert project.state == READY and project.status == 100, (project.state, project.error_message)
        rows = (await s.scalars(select(ProjectFile).where(ProjectFile.project_id == project_id))).all()
    return {r.name: r for r in rows}


async def test_splats_and_meshes_in_one_project(services, tmp_path):
    inputs = {
        "ball.ply": models.splat_ply(tmp_path / "ball.ply", n=1200, sh_degree=1).read_bytes(),
        "scene.glb": models.glb(tmp_path / "scene.glb").read_bytes(),
        "cube.obj": models.cube(tmp_path / "cube.obj").read_bytes(),
        "part.stl": models.cube(tmp_path / "part.stl").read_bytes(),
        "broken.glb": b"glTF\x02\x00\x00\x00" + b"\xff" * 64,
        "cut.stl": models.cube(tmp_path / "cut.stl").read_bytes()[:-30],
    }
    if shutil.which("assimp"):
        inputs["box.fbx"] = models.fbx(tmp_path / "box.fbx").read_bytes()
    project_id = await project_of(services, inputs)
    files = await process(services, project_id)
    assert sorted(files) == sorted(inputs)

    ball = files["ball.ply"]
    assert ball.kind == "splat" and sorted(ball.assets) == ["sog", "spz", "thumbnail"]
    assert Image.open(io.BytesIO(await blob(services, ball.assets["thumbnail"]))).size == (256, 192)
    assert (ball.details["splats"], ball.details["sh_degree"]) == (1200, 1) and "error" not in ball.details
    assert ball.assets["sog"] == f"projects/{project_id}/splats/ball.ply/scene.sog"
    assert ball.assets["thumbnail"] == f"projects/{project_id}/thumbs/ball.ply.jpg"
    sog = tmp_path / "ball.sog"
    sog.write_bytes(await blob(services, ball.assets["sog"]))
    assert sog_count(sog) == 1200
    assert (await blob(services, ball.assets["spz"]))[:2] == b"\x1f\x8b"  # SPZ v3 is gzip
    assert ball.details["bounds"]["min"][0] == pytest.approx(-1.0, abs=0.05)

    for name in ["scene.glb", "cube.obj", "part.stl", *(["box.fbx"] if "box.fbx" in inputs else [])]:
        row = files[name]
        assert row.kind == "cad_bim" and sorted(row.assets) == ["model", "thumbnail"], (name, row.details)
        assert row.assets["model"] == f"projects/{project_id}/models/{name}/model.glb"
        model = trimesh.load_scene(io.BytesIO(await blob(services, row.assets["model"])), file_type="glb")
        assert sum(len(g.faces) for g in model.geometry.values()) == row.details["faces"]
        assert np.allclose(model.bounds, [row.details["bounds"]["min"], row.details["bounds"]["max"]])
        assert Image.open(io.BytesIO(await blob(services, row.assets["thumbnail"]))).size == (256, 192)
    assert (files["cube.obj"].details["vertices"], files["cube.obj"].details["faces"]) == (8, 12)
    assert files["scene.glb"].details["meshes"] == 2

    assert files["broken.glb"].details["error"] == "unreadable" and files["broken.glb"].assets == {}
    assert "GLB" in files["broken.glb"].details["error_message"]
    assert files["cut.stl"].details["error"] == "truncated" and files["cut.stl"].assets == {}

    # A re-run (as after a crash) gives the same record and the same bytes under the same keys.
    first = {n: (r.assets, r.details) for n, r in files.items()}
    spz = await blob(services, ball.assets["spz"])
    glb = await blob(services, files["cube.obj"].assets["model"])
    async with services.db.write() as s:
        await s.execute(update(Project).where(Project.id == project_id).values(state="processing", status=50))
        await s.execute(update(Job).where(Job.subject_id == project_id).values(state="queued"))
    again = await process(services, project_id)
    assert {n: (r.assets, r.details) for n, r in again.items()} == first
    assert await blob(services, ball.assets["spz"]) == spz
    assert await blob(services, files["cube.obj"].assets["model"]) == glb


def test_a_mesh_and_a_splat_convert_in_a_child_process(tmp_path):
    from omnidrop.pipeline.child import run_in_child
    from omnidrop.pipeline.meshes import MeshError, to_glb
    from omnidrop.pipeline.splats import SplatError, web_ready

    info = run_in_child(to_glb, models.cube(tmp_path / "cube.obj"), "obj", tmp_path / "out.glb", tmp_path / "t.jpg", 128)
    assert (info["faces"], (tmp_path / "out.glb").stat().st_size > 0) == (12, True)
    (tmp_path / "bad.glb").write_bytes(b"glTF\x02\x00\x00\x00" + b"\xff" * 16)
    with pytest.raises(MeshError) as err:  # the slug comes back across the process boundary
        run_in_child(to_glb, tmp_path / "bad.glb", "glb", tmp_path / "bad-out.glb")
    assert err.value.code == "unreadable"
    made = run_in_child(web_ready, models.splat_ply(tmp_path / "s.ply", n=200), "ply", tmp_path / "s", find_cli(),
                        outputs=("spz",))
    assert made.count == 200 and made.outputs["spz"].is_file()
    (tmp_path / "bad.ply").write_bytes(b"ply\nformat ascii 1.0\nelement vertex 3\nend_header\n")
    with pytest.raises(SplatError) as bad:
        run_in_child(web_ready, tmp_path / "bad.ply", "ply", tmp_path / "b", find_cli())
    assert bad.value.code in ("unreadable", "empty") and str(bad.value) == bad.value.message
