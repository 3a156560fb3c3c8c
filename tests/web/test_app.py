"""The web app in a real browser: Debian's chromium driven by playwright-core (tests/web/browser.mjs)
against a live `omnidrop serve` serving the built assets under /app.

Every scenario is checked by what the page shows (and, where it matters, by what the server stored);
screenshots land in test-artifacts/web/. scripts/test builds the assets and installs chromium.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from PIL import Image

from omnidrop.web.static import DEFAULT_DIST
from tests.support import direct_video as dv
from tests.support import vehicles as v
from tests.support import walkthroughs as w
from tests.support.server import run_cli

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("browser.mjs")
ARTIFACTS = ROOT / "test-artifacts" / "web"
CHROMIUM = Path("/usr/bin/chromium")
SCOPES = ("projects:write", "projects:read", "vehicles:write", "vehicles:read", "captures", "videos:upload")
MiB = 1024 * 1024

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (scripts/test installs it)")


@pytest.fixture(scope="module")
def live(servers):
    assert (DEFAULT_DIST / "index.html").is_file(), "web app not built: scripts/test runs ensure_web_assets"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return servers.start(fsync=False)


@pytest.fixture(scope="module")
def key(live) -> str:
    return live.key(*SCOPES)


@pytest.fixture(scope="module")
def auth(key) -> dict:
    return {"Authorization": f"Bearer {key}"}


def browse(live, key: str, scenario: str, timeout: float = 150, **config) -> dict:
    cfg = {"base": live.url, "key": key, "artifacts": str(ARTIFACTS), **config}
    done = subprocess.run(["node", str(DRIVER), scenario, json.dumps(cfg)], capture_output=True, text=True,
                          timeout=timeout, check=False)
    lines = done.stdout.strip().splitlines()
    assert lines, f"{scenario}: no result\n{done.stderr}"
    result = json.loads(lines[-1])
    assert result["ok"], f"{scenario}: {result['error']}\n{done.stderr[-2000:]}"
    assert result["pageErrors"] == [], result["pageErrors"]
    return result


def random_file(path: Path, size: int) -> Path:
    path.write_bytes(os.urandom(size))
    return path


def ready_project(live, auth: dict, name: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        p = httpx.get(f"{live.api}/projects/{name}", headers=auth).json()
        if p["status"] >= 100 or p.get("state") == "failed":
            return p
        time.sleep(0.2)
    raise AssertionError(f"project {name} never got ready: {p}")


def assert_stored(live, auth: dict, name: str, source: Path) -> None:
    p = ready_project(live, auth, name)
    assert p.get("state") != "failed", p
    (f,) = p["files"]
    assert (f["name"], f["size"]) == (source.name, source.stat().st_size)
    digest = hashlib.sha256()
    with source.open("rb") as fh:
        while chunk := fh.read(8 * MiB):
            digest.update(chunk)
    assert f["sha256"] == digest.hexdigest()


def api_project(live, auth: dict, filename: str, body: bytes) -> str:
    session = httpx.post(f"{live.api}/uploads", headers=auth).json()["upload_id"]
    assert httpx.put(f"{live.api}/uploads/{session}/{filename}", headers=auth, content=body).json()["complete"]
    name = httpx.post(f"{live.api}/projects", headers=auth, json={"upload_id": session}).json()["name"]
    assert ready_project(live, auth, name)["status"] == 100
    return name


def jpeg(size: tuple[int, int], color=(40, 90, 160)) -> bytes:
    image = Image.new("RGB", size, color)
    for x in range(0, size[0], 32):  # stripes, so a turned panorama looks different
        image.paste((230, 200, 40), (x, 0, x + 8, size[1]))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


@pytest.fixture(scope="module")
def vehicle(live, auth, tmp_path_factory) -> dict:
    """A vehicle whose OUTSIDE video is processed into frames, with an imported damage mask on frame 1."""
    mp4 = v.clip(tmp_path_factory.mktemp("web-vehicle") / "walkaround.mp4")
    vehicle_uuid = str(uuid.uuid4())
    r = v.upload(live.url, auth, mp4, side="OUTSIDE", vehicle_uuid=vehicle_uuid)
    assert r.status_code == 201, r.text
    frames = v.wait_frames(live.url, auth, r.json()["job_id"], "OUTSIDE")
    assert frames.status_code == 200, frames.text
    dent = {"class": "dent", "score": 0.9, "polygon": [[40, 40], [120, 40], [120, 100], [40, 100]]}
    body = {"vehicle_uuid": vehicle_uuid, "side": "OUTSIDE", "frames": [{"frame": "frame_0001.jpg", "detections": [dent]}]}
    assert httpx.post(f"{live.url}/360/mask-frames", json=body, headers=auth).status_code == 201
    return {"uuid": vehicle_uuid, "frames": frames.json()["frames"]}


@pytest.fixture(scope="module")
def walkthrough(live, auth) -> dict:
    project = f"site-{uuid.uuid4().hex[:6]}"
    assert httpx.post(f"{live.url}/360/projects", headers=auth, json={"id": project, "name": "Harbour site"}).status_code == 201
    bounds = {"north": 52.0010, "south": 52.0000, "east": 4.0020, "west": 4.0000}
    drawing = httpx.post(f"{live.url}/360/projects/{project}/drawings", headers=auth,
                         json={"name": "Level 1", "bounds": bounds}).json()
    plan = Image.new("RGB", (800, 400), (245, 245, 240))
    plan.paste((60, 60, 60), (50, 50, 750, 58))
    plan.paste((60, 60, 60), (50, 340, 750, 348))
    out = io.BytesIO()
    plan.save(out, "PNG")
    r = httpx.put(f"{live.url}/360/drawings/{drawing['id']}/image", headers={**auth, "Content-Type": "image/png"},
                  content=out.getvalue())
    assert r.status_code == 200, r.text
    obj = httpx.post(f"{live.url}/360/{project}/upload", headers=auth,
                     params={"date": "01-12-2026", "name": "Morning walk", "drawing_id": drawing["id"], "uploaded_by": "web"})
    assert obj.status_code == 201, obj.text
    return {"project": project, "drawing": drawing, "bounds": bounds, "upload": obj.json()}


def test_sign_in_with_a_key_then_with_username_and_password(live, key, auth, walkthrough):
    name = api_project(live, auth, "site.e57", os.urandom(1000))
    done = run_cli(["users", "create", "--username", "ana", "--password", "s3cret-pass", "--owner", "default"], live.env)
    assert done.returncode == 0, done.stderr
    got = browse(live, key, "signin", expect_project=name, expect_walkthrough="Morning walk",
                 username="ana", password="s3cret-pass")
    assert got["who"] == "ana"
    assert "Not available" not in got["keyLists"]  # a key with vehicle scopes lists vehicles
    assert len(got["loginLists"]) == 5 and not [t for t in got["loginLists"] if "Not available" in t or "Could not" in t]


def test_a_password_user_creates_a_project_in_the_browser(live, tmp_path):
    """Sign in with a username (a login token, no API key anywhere), upload over S3 multipart and tus."""
    done = run_cli(["users", "create", "--username", "cleo", "--password", "cleo-pass-1"], live.env)
    assert done.returncode == 0, done.stderr
    big = random_file(tmp_path / "site.e57", 12 * MiB + 11)
    small = random_file(tmp_path / "notes.las", 1 * MiB + 3)
    got = browse(live, "", "loginProject", username="cleo", password="cleo-pass-1", multipart_from_mib=5,
                 files=[str(big), str(small)])
    assert got["who"] == "cleo"
    assert "site.e57: sending over S3 multipart" in got["log"] and "notes.las: sending over tus" in got["log"]
    assert "invalid_api_key" not in got["log"]
    token = httpx.post(f"{live.url}/auth/login", json={"username": "cleo", "password": "cleo-pass-1"}).json()["token"]
    project = ready_project(live, {"Authorization": f"Bearer {token}"}, got["name"])
    stored = {f["name"]: (f["size"], f["sha256"]) for f in project["files"]}
    assert stored == {src.name: (src.stat().st_size, hashlib.sha256(src.read_bytes()).hexdigest()) for src in (big, small)}
    # It is cleo's own (a new owner): the default owner's key does not see it.
    assert httpx.get(f"{live.api}/projects/{got['name']}", headers={"Authorization": f"Bearer {live.key('projects:read')}"}).status_code == 404


def test_upload_through_uppy_over_tus(live, key, auth, tmp_path):
    source = random_file(tmp_path / "scan.e57", 3 * MiB + 17)
    got = browse(live, key, "tus", file=str(source))
    assert "scan.e57: sending over tus" in got["log"] and f"Project {got['name']} created from 1 file(s)" in got["log"]
    assert_stored(live, auth, got["name"], source)


def test_upload_through_uppy_over_s3_multipart(live, key, auth, tmp_path):
    source = random_file(tmp_path / "cloud.e57", 12 * MiB + 5)
    got = browse(live, key, "multipart", file=str(source))
    assert "cloud.e57: sending over S3 multipart" in got["log"]
    assert got["partPuts"] >= 2  # parts PUT to omnidrop's signed part URLs, then completed
    assert_stored(live, auth, got["name"], source)


def test_reload_mid_upload_resumes_where_the_server_is(live, key, auth, tmp_path):
    source = random_file(tmp_path / "walk.e57", 16 * MiB + 3)
    got = browse(live, key, "resume", file=str(source))
    assert got["patchesBeforeReload"] >= 5
    first = got["offsetsAfterReload"][0]
    assert first >= 5 * MiB, got["offsetsAfterReload"]  # not restarted from 0
    assert f"first progress at {first / MiB:.1f} MiB" in got["log"]
    assert_stored(live, auth, got["name"], source)


def test_vehicle_spin_viewer_turns_when_dragged_and_shows_masks(live, key, vehicle):
    got = browse(live, key, "spin", vehicle=vehicle["uuid"])
    n = len(vehicle["frames"])
    frame = [urlsplit(u).path for u in vehicle["frames"]]  # signed URLs differ per request, paths do not
    assert (got["first"], urlsplit(got["firstSrc"]).path) == ("0", frame[0])
    assert got["dragged"] == str(3 % n) and urlsplit(got["draggedSrc"]).path == frame[3 % n]
    assert got["counter"].startswith(f"Frame {3 % n + 1} / {n}")
    assert got["keyed"] == str(4 % n)
    assert "×" in got["zoomed"]  # the wheel zoomed in
    assert got["maskShown"] and "/mask" in got["maskSrc"]
    # Zoomed in, a drag pans (the frame stays); the scrubber turns; fullscreen fills the screen.
    assert got["afterPan"]["index"] == got["beforePan"]["index"] and got["afterPan"]["pan"] != got["beforePan"]["pan"]
    assert got["scrubbed"] == "1"
    assert got["fullscreen"]["w"] >= got["fullscreen"]["screen"] - 40
    assert not [p for p in got["notFound"] if "favicon" in p or "mask-frames" in p], got["notFound"]


def test_panorama_viewer_opens_an_equirectangular_image_and_a_360_video(live, key, auth, tmp_path):
    name = api_project(live, auth, "lobby.jpg", jpeg((1024, 512)))
    video = w.equirect(tmp_path / "tour.mp4", seconds=2.0)
    video_project = api_project(live, auth, "tour.mp4", video.read_bytes())
    got = browse(live, key, "panorama", project=name, filename="lobby.jpg", video_project=video_project,
                 video_filename="tour.mp4")
    assert got["thumbOk"] and got["canvas"] == 1
    assert got["video"]["before"].startswith("0:00 / 0:02")  # the 2 s video loaded
    assert not got["video"]["playing"].startswith("0:00")  # and plays when the play button is pressed


def test_project_page_tour_and_share_link(live, key, auth, tmp_path):
    """The project page lists every file with its state (a clear error for the one that failed), the
    tour moves between nodes, a share link opens without a key, and once revoked it does not."""
    from tests.support import ifc
    from tests.support.panoramas import pano_jpeg

    photos = {"b.jpg": pano_jpeg((190, 60, 50), gps=(48.8583, 2.2944), taken="2026:05:01 10:00:10", label="B"),
              "c.jpg": pano_jpeg((50, 160, 70), gps=(48.8583, 2.2947), taken="2026:05:01 10:00:20", label="C"),
              "a.jpg": pano_jpeg((40, 70, 190), gps=(48.8583, 2.2941), taken="2026:05:01 10:00:00", label="A")}
    broken = v.clip(tmp_path / "clip.mp4", seconds=1, size=(320, 180))  # 16:9 named .insv: not a 360 layout
    session = httpx.post(f"{live.api}/uploads", headers=auth).json()["upload_id"]
    model = ifc.small_model(tmp_path / "office.ifc").read_bytes()
    for name, body in {**photos, "broken.insv": broken.read_bytes(), "office.ifc": model}.items():
        assert httpx.put(f"{live.api}/uploads/{session}/{name}", headers=auth, content=body).json()["complete"]
    name = httpx.post(f"{live.api}/projects", headers=auth, json={"upload_id": session, "title": "Street"}).json()["name"]
    assert ready_project(live, auth, name, timeout=120)["tour"]["nodes"] == 3
    got = browse(live, key, "projectTour", project=name, broken="broken.insv", ifc="office.ifc")
    assert "1 of 5 files could not be processed: broken.insv" in got["failedNote"]
    assert "Could not be processed" in got["fileError"] and "not_360" in got["fileError"]
    states = {c["name"]: c["state"] for c in got["cards"]}
    assert states == {"a.jpg": "ready", "b.jpg": "ready", "c.jpg": "ready", "broken.insv": "failed", "office.ifc": "ready"}
    a = next(c for c in got["cards"] if c["name"] == "a.jpg")
    assert "Image (JPEG) · 360°" in a["text"] and "Panorama" in a["text"] and "taken 2026-05-01 10:00:00" in a["text"]
    assert "/app/#/share/" in got["shareUrl"]
    assert got["sharedViewerHash"].startswith("#/view/panorama?share=") and got["sharedViewerHash"].endswith("&file=a.jpg")
    assert got["sharedBim"]["hash"].startswith("#/view/bim?share=") and got["sharedBim"]["tree"] > 0
    assert got["gallery"] == 3 and got["planShown"] == 1  # GPS: the plan (map plugin) is shown
    assert got["counter"] == "2 / 3" and got["caption"].startswith("b.jpg · 2 of 3")
    assert "Library" not in got["sharedNav"] and got["anonStorage"] is None  # nothing of the owner
    assert got["sharedBadge"].startswith("Shared with you") and got["sharedShareButtons"] == 0
    assert "revoked or has expired" in got["revokedText"]
    node1, node2 = (Image.open(ARTIFACTS / f"projectTour-node{i}.png").convert("RGB") for i in (1, 2))
    for shot in (node1, node2):  # a drawn panorama, not a blank canvas
        assert len(shot.resize((64, 32)).getcolors(64 * 32)) > 50
    # Node 1 is the blue panorama, node 2 the red one: the view changed with the node.
    centre = lambda im: im.crop((im.width // 3, im.height // 4, 2 * im.width // 3, im.height // 2)).resize((1, 1)).getpixel((0, 0))  # noqa: E731
    assert centre(node1)[2] > centre(node1)[0] and centre(node2)[0] > centre(node2)[2]


def test_walkthrough_uploaded_through_uppy_shows_its_points_and_moves_between_panoramas(live, key, auth, walkthrough, tmp_path):
    insv = w.dual_fisheye(tmp_path / "VID_20261201_091500_00_001.insv", seconds=2.0)
    upload_id = walkthrough["upload"]["id"]
    got = browse(live, key, "walkthrough", upload=upload_id, project=walkthrough["project"], insv=str(insv),
                 start="52.0002,4.0004", end="52.0008,4.0016", target_points=3)
    assert "1 video(s) linked, queued" in got["uploadLog"]
    points = httpx.get(f"{live.url}/360/{upload_id}/points", headers=auth).json()
    assert points["processing_status"] == "done" and len(points["points"]) == 3, points
    assert got["count"] == 3 and got["status"].endswith("done · 3 points")
    # Placed from the start and end positions on the drawing's bounds (x, y in 0..1 of the image).
    shown = [[float(c.rstrip("%")) / 100 for c in xy] for xy in got["positions"]]
    assert shown == [pytest.approx([p["x"], p["y"]], abs=1e-4) for p in points["points"]]
    assert shown[0] == pytest.approx([0.2, 0.8], abs=1e-3) and shown[2] == pytest.approx([0.8, 0.2], abs=1e-3)
    assert got["caption1"].startswith("Point 2 of 3") and got["caption2"].startswith("Point 3 of 3")
    assert got["current"] == "3"
    # The panorama opens in an overlay over the plan, wholly in view; Escape closes it.
    assert got["overlay"] == {"open": True, "modal": True, "inView": True} and got["closed"]


def test_vehicle_and_capture_targets_upload_through_their_apis(live, key, auth, tmp_path):
    video = v.clip(tmp_path / "cabin.mp4")
    capture = random_file(tmp_path / "photos.zip", 17 * MiB + 11)  # two 16 MiB capture parts
    got = browse(live, key, "targets", vehicle_name="Van 7", video=str(video), capture=str(capture))
    vehicle = next(x for x in httpx.get(f"{live.url}/360/vehicles", headers=auth).json()["vehicles"] if x["name"] == "Van 7")
    (stored,) = httpx.get(f"{live.url}/360/vehicles/{vehicle['uuid']}", headers=auth).json()["sides"]["INSIDE"]
    assert f"frames job {stored['job_id']} (INSIDE)" in got["vehicleLog"] and stored["size"] == video.stat().st_size
    (made,) = [c for c in httpx.get(f"{live.api}/captures", headers=auth).json() if c["name"] == "photos.zip"]
    assert f"capture {made['eid']} uploaded" in got["captureLog"]
    assert made["state"] != "CREATED" and made["uploaded"]


def test_one_gib_through_the_browser_keeps_the_page_heap_flat(live, key, auth, tmp_path):
    source = tmp_path / "huge.e57"
    with source.open("wb") as fh:  # sparse: instant to make, 1 GiB to read
        fh.truncate(1024 * MiB)
    got = browse(live, key, "big", timeout=300, file=str(source), upload_timeout_ms=240_000)
    growth = got["peak"] - got["baseline"]
    print(f"1 GiB via tus: JS heap baseline {got['baseline'] / MiB:.1f} MiB, peak {got['peak'] / MiB:.1f} MiB, "
          f"after {got['after'] / MiB:.1f} MiB ({got['samples']} samples)")
    assert growth < 64 * MiB, got  # the file is 1024 MiB: a page that buffered it would show it here
    p = ready_project(live, auth, got["name"], timeout=120)
    assert p["files"][0]["size"] == 1024 * MiB


def orbit_capture(live, key: str, name: str = "orbit") -> dict:
    """The rendered orbit (12 photos) through the Captures API's four steps, once the server FINISHED it."""
    from tests.support.scene3d import shared_orbit, views_zip

    data = views_zip(shared_orbit())
    with httpx.Client(base_url=live.url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as c:
        created = c.post("/api/v1/captures", json={"name": name, "bytesize": len(data),
                                                   "input_data_format": "bulk-images"}).json()
        eid = created["eid"]
        url = c.post(f"/api/v1/captures/{eid}/create-upload-url/1", json={"eid": eid, "bytesize": len(data)}).json()
        etag = httpx.put(url["upload_url"], content=data, timeout=60).headers["etag"]
        done = c.post(f"/api/v1/captures/{eid}/uploaded", json={"eid": eid, "parts": [{"number": 1, "etag": etag}]})
        assert done.status_code == 200, done.text
        deadline = time.monotonic() + 300
        while (found := next(x for x in c.get("/api/v1/captures").json() if x["eid"] == eid))["state"] != "FINISHED":
            assert found["state"] in ("UPLOADED", "PROCESSING") and time.monotonic() < deadline, found
            time.sleep(0.3)
    return found


def train_here(live, eid: str, monkeypatch) -> None:
    """This process joins as a GPU worker and runs the capture's queued training job: the real job (frames
    fetched, undistorted, the SOG written by splat-transform, all stored and recorded) around a CPU
    trainer that puts one Gaussian on each sparse point (tests/support/cpu_trainer.py)."""
    import asyncio

    from sqlalchemy import select

    from omnidrop.captures.service import TRAIN_KIND
    from omnidrop.db.engine import Database
    from omnidrop.db.models import Job
    from omnidrop.jobs.runner import run_job
    from omnidrop.settings import Settings
    from omnidrop.worker import compose
    from tests.support import cpu_trainer

    cpu_trainer.install(monkeypatch)
    compose()
    settings = Settings(data_dir=live.data_dir, database_url=live.env.get("OMNIDROP_DATABASE_URL"),
                        storage_url=live.env.get("OMNIDROP_STORAGE_URL"), media_child_process=False,
                        capture_turntable_frames=8)

    async def train() -> tuple[str, str | None]:
        db = Database(settings.resolved_database_url)
        try:
            async with db.read() as s:
                job_id = await s.scalar(select(Job.id).where(Job.kind == TRAIN_KIND, Job.subject_id == eid))
            await run_job(job_id, settings)
            async with db.read() as s:
                job = await s.get(Job, job_id)
                return job.state, job.error
        finally:
            await db.dispose()

    assert asyncio.run(train()) == ("done", None)


def test_a_shared_capture_shows_its_point_cloud_and_cameras_without_signing_in(live, key):
    """The rendered orbit through the Captures API; its share page (#/capture/<sid>) draws the sparse
    cloud and a frustum per posed frame, with no credential in the browser, and says the splat waits."""
    found = orbit_capture(live, key)
    got = browse(live, key, "capture3d", sid=found["sid"])
    assert got["ok"] and not got["pageErrors"] and not got["signedIn"]
    assert got["cameras"] == 12 and got["points"] > 100
    assert "12 of 12 frames posed" in got["facts"] and "waits for a GPU worker" in got["splat"]
    assert got["lit"] > 0.005 * got["total"] and got["orange"] > 100  # the cloud and the frustums drew


def test_a_shared_capture_with_a_trained_splat_opens_on_the_splat(live, key, monkeypatch):
    """Once a GPU worker has trained the capture's splat, its share page draws the splat (Spark, from the
    SPZ copy), framed on its core, with no credential in the browser; its button switches to the sparse
    cloud and the frustums and back, one canvas at a time."""
    found = orbit_capture(live, key, "trained orbit")
    train_here(live, found["eid"], monkeypatch)
    meta = httpx.get(f"{live.url}/share/{found['sid']}/metadata",
                     params={"lod": "false", "profiles": ["ply", "sogs-sh0"], "quality": "high"}).json()
    assert meta["splat"]["state"] == "done" and [m["id"] for m in meta["models"]] == ["splat-ply", "splat-sogs-sh0"]
    gaussians = meta["splat"]["gaussians"]
    assert gaussians == meta["reconstruction"]["points"] > 100

    got = browse(live, key, "captureSplat", sid=found["sid"])
    assert not got["signedIn"]
    splat, cloud, again = got["splat"], got["cloud"], got["again"]
    assert (splat["view"], splat["splats"]) == ("splat", gaussians), splat
    assert f"{gaussians:,} Gaussians" in splat["status"] and "(SPZ)" in splat["status"]
    assert "Splat trained (held-out PSNR 21.50 dB)" in splat["splatLine"]
    assert splat["button"] == "Show cameras and points"
    assert 0.01 * splat["total"] < splat["lit"] < 0.9 * splat["total"], splat  # drawn, framed, not a smear
    assert splat["colours"] >= 8, splat  # in the points' colours, not a flat silhouette
    assert (cloud["view"], cloud["cameras"], cloud["canvases"]) == ("cloud", 12, 1), cloud
    assert cloud["points"] == gaussians and cloud["orange"] > 100 and cloud["button"] == "Show the splat"
    assert (again["splats"], again["canvases"]) == (gaussians, 1) and again["lit"] > 0.01 * again["total"], again


def test_uploader_says_nothing_when_empty_keeps_the_title_and_resumes_with_a_button(live, key, auth, tmp_path):
    source = random_file(tmp_path / "survey.e57", 5 * MiB + 5)
    got = browse(live, key, "uploaderUx", file=str(source), title="Quay wall survey")
    assert "Restored" not in got["emptyText"] and "restored" not in got["emptyText"] and got["emptyResume"] == 0
    assert got["advancedOpen"] is False and got["chunkVisible"] is False and got["chunkAfterOpen"] is True
    assert got["titleAfterReload"] == "Quay wall survey"
    # The file comes back with its bytes (Golden Retriever's IndexedDB) or as a ghost; a ghost keeps Resume
    # disabled until it is chosen again. Either way Resume continues it.
    assert got["resumeText"].startswith("1 unfinished upload(s) restored")
    assert got["resumeEnabled"][-1] is True
    if got["resumeEnabled"][0] is False:
        assert "Choose survey.e57 again" in got["resumeText"]
    assert got["offsets"][0] > 0, (got["offsets"], got["log"])  # continued from the server's offset, not from 0
    assert f"Project {got['name']} (“Quay wall survey”) created from 1 file(s)" in got["log"]
    project = ready_project(live, auth, got["name"])
    assert project["title"] == "Quay wall survey"
    assert_stored(live, auth, got["name"], source)


def test_library_rows_tell_projects_apart_and_search_and_page(live, key, auth):
    tag = uuid.uuid4().hex[:6]
    for i in range(22):  # same title twice over: date, size and file count tell them apart
        session = httpx.post(f"{live.api}/uploads", headers=auth).json()["upload_id"]
        assert httpx.put(f"{live.api}/uploads/{session}/a{i}.e57", headers=auth, content=b"x" * (100 + i)).status_code in (200, 201)
        r = httpx.post(f"{live.api}/projects", headers=auth, json={"upload_id": session, "title": f"Dock {tag} {i // 2}"})
        assert r.status_code == 201, r.text
    ready = api_project(live, auth, "pier.e57", os.urandom(3000))  # the newest: on the first page
    got = browse(live, key, "library", ready=ready, search=f"Dock {tag}")
    row = got["readyRow"]
    assert "1 file · 2.9 KiB" in row["text"] and "ready" in row["text"]
    assert row["bars"] == 0 and row["time"] == 1  # no progress bar once finished; a date
    assert got["firstPage"] == 20 and got["range1"] == "1–20" and got["prevShown"]
    assert len(got["secondPage"]) == 2 and all(f"Dock {tag}" in t for t in got["secondPage"])
    assert "Nothing matches" in got["empty"]
    assert not [p for p in got["notFound"] if "favicon" in p], got["notFound"]


def test_walkthrough_projects_and_drawings_are_made_in_the_app(live, key, auth, tmp_path):
    name = f"Quay {uuid.uuid4().hex[:5]}"
    plan = Image.new("RGB", (400, 200), (240, 240, 235))
    plan.paste((40, 40, 40), (20, 20, 380, 26))
    out = io.BytesIO()
    plan.save(out, "PNG")
    image = tmp_path / "plan.png"
    image.write_bytes(out.getvalue())
    project_id = name.lower().replace(" ", "-")
    got = browse(live, key, "walkthroughAdmin", name=name, id=project_id, image=str(image))
    (drawing,) = httpx.get(f"{live.url}/360/projects/{project_id}/drawings", headers=auth).json()["drawings"]
    assert drawing["name"] == "Ground floor" and drawing["bounds"] == {"north": 52.001, "south": 52.0, "east": 4.002, "west": 4.0}
    stored = httpx.get(f"{live.url}{drawing['image_url']}", headers=auth)
    assert stored.status_code == 200 and stored.content == out.getvalue()
    assert got["chosen"] == {"project": project_id, "drawing": "Ground floor"}  # the uploader, ready for the video


def test_frames_gallery_shows_every_frame_of_a_360_video(live, key, auth, tmp_path):
    video = w.equirect(tmp_path / "harbour.mp4", seconds=2.0)
    name = api_project(live, auth, "harbour.mp4", video.read_bytes())
    (f,) = httpx.get(f"{live.api}/projects/{name}", headers=auth).json()["files"]
    count = len([r for r in f["assets"] if r.startswith("frame_")])
    assert count >= 3
    got = browse(live, key, "frames", project=name, filename="harbour.mp4", count=count)
    assert got["label"] == f"Frames ({count})" and got["thumbs"] == count
    assert got["third"].startswith(f"Frame 3 / {count}") and got["last"].startswith(f"Frame {count} / {count}")
    assert got["current"] == str(count - 1) and got["hash"].endswith(f"&i={count - 2}")


def test_a_vehicle_without_masks_asks_for_none(live, key, auth, tmp_path):
    mp4 = v.clip(tmp_path / "plain.mp4")
    vehicle_uuid = str(uuid.uuid4())
    r = v.upload(live.url, auth, mp4, side="OUTSIDE", vehicle_uuid=vehicle_uuid)
    assert v.wait_frames(live.url, auth, r.json()["job_id"], "OUTSIDE").status_code == 200
    got = browse(live, key, "vehicleNoMasks", vehicle=vehicle_uuid)
    assert got["button"] == "No damage masks" and got["disabled"]
    assert got["notFound"] == []  # no /360/mask-frames 404, no favicon 404


def test_capture_page_shows_preview_gif_frames_the_3d_slot_and_flips_sharing(live, key, auth):
    from tests.support.scene3d import shared_orbit, views_zip

    data = views_zip(shared_orbit())  # frames that give a model: a capture FINISHES only with one
    c = httpx.post(f"{live.api}/captures", headers=auth, json={"name": "Shed scan", "bytesize": len(data), "input_data_format": "bulk-images"}).json()
    url = httpx.post(f"{live.api}/captures/{c['eid']}/create-upload-url/1", headers=auth, json={"eid": c["eid"], "bytesize": len(data)}).json()["upload_url"]
    etag = httpx.put(url, content=data).headers["ETag"]
    done = httpx.post(f"{live.api}/captures/{c['eid']}/uploaded", headers=auth, json={"eid": c["eid"], "parts": [{"number": 1, "etag": etag}]})
    assert done.status_code == 200, done.text
    got = browse(live, key, "capture", eid=c["eid"])
    assert got["frames"] == len(shared_orbit())
    assert got["slot"]["models"] == "0" and "No splat for this capture yet" in got["slot"]["text"]
    assert "FINISHED" in got["facts"] and "Public" in got["facts"]
    sid = done.json()["sid"]
    assert got["shareUrl"] == got["publicAgain"] == f"{live.url}/app/#/capture/{sid}"
    assert got["privateLink"] == 0 and got["privateButton"] == "Make public"
    listed = next(x for x in httpx.get(f"{live.api}/captures", headers=auth).json() if x["eid"] == c["eid"])
    assert listed["is_public"] is True  # the page's second click made it public again


def test_video_group_page_plays_separate_eyes_side_by_side(live, key, tmp_path):
    vkey = live.key("videos:upload")
    files = [("video_left", "left.mp4", dv.eye(tmp_path / "l.mp4")), ("video_right", "right.mp4", dv.eye(tmp_path / "r.mp4")),
             ("subtitle", "en.vtt", dv.VTT)]
    with httpx.Client(base_url=live.url, headers={"X-SPATIALGEN-APPKEY": vkey}, timeout=60) as c:
        r = c.post("/api/videos/uploads", json={"title": "Beach day", "layout": "Separate", "files": [
            {"role": role, "filename": fn, "size": len(data)} for role, fn, data in files]})
        assert r.status_code == 201, r.text
        group = r.json()
        for f, (_, _, data) in zip(group["files"], files):
            urls = c.post(f"/api/videos/uploads/{group['uploadSessionId']}/files/{f['uploadId']}/part-urls").json()["parts"]
            parts = []
            for p in urls:
                piece = data[(p["partNumber"] - 1) * f["partSize"]: p["partNumber"] * f["partSize"]]
                parts.append({"partNumber": p["partNumber"], "etag": httpx.put(p["url"], content=piece).headers["ETag"]})
            assert c.post(f"/api/videos/uploads/{group['uploadSessionId']}/files/{f['uploadId']}/complete", json={"parts": parts}).status_code == 200
    got = browse(live, key, "videoGroup", group=group["uploadSessionId"])
    assert got["durations"][0] == pytest.approx(2.0, abs=0.2) and got["durations"][1] == pytest.approx(2.0, abs=0.2)
    assert got["sideBySide"]
    roles = dict(got["roles"])
    assert sorted(roles) == ["subtitle", "video_left", "video_right"]
    assert "128×64" in roles["video_left"] and "ok" in roles["subtitle"]
    assert got["eyes"].startswith("left and right eyes match")
