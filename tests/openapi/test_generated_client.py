"""A Python client generated from the served /openapi.json (openapi-python-client, pinned in
codegen-requirements.txt) runs one flow per surface against a live server, through its typed models
and each surface's own credentials: the five APIs, Companion's S3 multipart routes, and tus and the
IETF draft on /files/ (whose appends go through httpx: see NOT_GENERATED)."""

from __future__ import annotations

import base64
import importlib
import io
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from tests.support import vehicles as v
from tests.support.server import run_cli

ROOT = Path(__file__).resolve().parents[2]
CODEGEN = ROOT / ".venv-codegen" / "bin" / "openapi-python-client"
PACKAGE = "omnidrop_generated_client"
# Request bodies openapi-python-client cannot send (it knows JSON, forms and application/octet-stream):
# the tus / IETF append (application/offset+octet-stream) and the drawing image (image types, PDF).
NOT_GENERATED = {"PATCH /files/{upload_id}", "PUT /360/drawings/{drawing_id}/image"}


@pytest.fixture(scope="module")
def api(live, tmp_path_factory):
    assert CODEGEN.exists(), "no .venv-codegen: scripts/test installs it (ensure_codegen_tool in scripts/lib/setup.sh)"
    out = tmp_path_factory.mktemp("generated-client")
    config = out / "config.yaml"
    config.write_text(f"post_hooks: []\nproject_name_override: {PACKAGE}\npackage_name_override: {PACKAGE}\n")
    done = subprocess.run([str(CODEGEN), "generate", "--url", f"{live.url}/openapi.json", "--config", str(config),
                           "--meta", "none", "--output-path", str(out / PACKAGE)],
                          capture_output=True, text=True, timeout=180, check=False)
    log = done.stdout + done.stderr
    assert done.returncode == 0, log
    assert "Unable to parse" not in log, log
    skipped = {line.split("WARNING parsing ")[1].split(" within")[0] for line in log.splitlines()
               if "Endpoint will not be generated" in line}
    assert skipped == NOT_GENERATED, log
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(out))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def module(api, name: str):
    return importlib.import_module(f"{api.__name__}.{name}")


def client(api, live, token: str, header: str = "Authorization", prefix: str = "Bearer"):
    return api.AuthenticatedClient(base_url=live.url, token=token, auth_header_name=header, prefix=prefix,
                                   raise_on_unexpected_status=True, timeout=api.client.httpx.Timeout(60))


def test_file_upload_session_chunked_put_and_status(api, live, all_scopes_key):
    create = module(api, "api.file_upload.uploads_create_upload")
    put = module(api, "api.file_upload.uploads_put_upload_file")
    status = module(api, "api.file_upload.uploads_get_upload")
    types, models = module(api, "types"), module(api, "models")
    c = client(api, live, all_scopes_key)
    session = create.sync(client=c)
    assert isinstance(session, models.UploadSessionCreated)
    data = bytes(range(256)) * 8
    first = put.sync(session.upload_id, "scan.e57", client=c, body=types.File(payload=io.BytesIO(data[:1000])),
                     content_range=f"bytes 0-999/{len(data)}")
    assert isinstance(first, models.FileProgress) and (first.received, first.complete) == (1000, False)
    gap = put.sync(session.upload_id, "scan.e57", client=c, body=types.File(payload=io.BytesIO(data[1500:])),
                   content_range=f"bytes 1500-{len(data) - 1}/{len(data)}")
    assert isinstance(gap, models.FileUploadError) and (gap.error, gap.received) == ("non_contiguous_chunk", 1000)
    last = put.sync(session.upload_id, "scan.e57", client=c, body=types.File(payload=io.BytesIO(data[1000:])),
                    content_range=f"bytes 1000-{len(data) - 1}/{len(data)}")
    assert (last.received, last.total, last.complete) == (len(data), len(data), True)
    held = status.sync(session.upload_id, client=c)
    assert isinstance(held, models.UploadSession)
    assert [(f.name, f.received, f.complete) for f in held.files] == [("scan.e57", len(data), True)]


def test_vehicle_video_upload_with_x_api_key(api, live, all_scopes_key, tmp_path):
    upload = module(api, "api.vehicles_360_video.vehicles_upload")
    types, models = module(api, "types"), module(api, "models")
    video = v.clip(tmp_path / "walkaround.mp4", seconds=1)
    vehicle = str(uuid.uuid4())
    body = models.VehiclesUploadBody(
        video=types.File(payload=io.BytesIO(video.read_bytes()), file_name="walkaround.mp4", mime_type="video/mp4"),
        side=models.VehiclesUploadBodySide.OUTSIDE, vehicle_uuid=vehicle)
    done = upload.sync(client=client(api, live, all_scopes_key, header="X-API-Key", prefix=""), body=body)
    assert isinstance(done, models.VehicleUpload), done
    assert (done.side, done.vehicle_uuid, done.size) == ("OUTSIDE", vehicle, video.stat().st_size)
    refused = upload.sync(client=client(api, live, "sk_not_a_key", header="X-API-Key", prefix=""), body=body)
    assert isinstance(refused, models.VehicleError) and refused.error.code == "INVALID_API_KEY"


def test_walkthrough_login_and_token_use(api, live):
    login = module(api, "api.tag360_walkthrough.walkthrough_login")
    projects = module(api, "api.tag360_walkthrough.walkthrough_list_projects")
    create = module(api, "api.tag360_walkthrough.walkthrough_create_project")
    models = module(api, "models")
    made = run_cli(["users", "create", "--username", "gen-client", "--password", "s3cret-pass"], live.env)
    assert made.returncode == 0, made.stderr
    anonymous = api.Client(base_url=live.url, raise_on_unexpected_status=True)
    wrong = login.sync(client=anonymous, body=models.Login(username="gen-client", password="wrong"))
    assert isinstance(wrong, models.WalkthroughError) and wrong.error == "invalid_credentials"
    issued = login.sync(client=anonymous, body=models.Login(username="gen-client", password="s3cret-pass"))
    assert isinstance(issued, models.LoginToken) and issued.token
    c = client(api, live, issued.token)
    made = create.sync(client=c, body=models.NewProject(id="site-7", name="Site 7"))
    assert isinstance(made, models.WalkthroughProject) and made.id == "site-7"
    listed = projects.sync(client=c)
    assert [p.id for p in listed.projects] == ["site-7"]


def test_capture_create_with_luma_api_key(api, live, all_scopes_key):
    create = module(api, "api.captures.captures_new_capture")
    listing = module(api, "api.captures.captures_list_captures")
    models = module(api, "models")
    c = client(api, live, f"luma-api-key={all_scopes_key}", prefix="")
    made = create.sync(client=c, body=models.NewCaptureInput(name="Courtyard", bytesize=40 * 1024 * 1024))
    assert isinstance(made, models.NewCaptureOutput), made
    assert (made.num_parts, made.chunk_size) == (3, 16 * 1024 * 1024)
    listed = listing.sync(client=c)
    assert made.eid in [capture.eid for capture in listed]
    assert next(x for x in listed if x.eid == made.eid).state == "CREATED"


def test_direct_video_group_create_and_part_urls(api, live, all_scopes_key):
    create = module(api, "api.direct_video_upload.videos_create_group")
    part_urls = module(api, "api.direct_video_upload.videos_part_urls")
    models = module(api, "models")
    c = client(api, live, all_scopes_key, header="X-SPATIALGEN-APPKEY", prefix="")
    group = create.sync(client=c, body=models.CreateGroup(layout="Mono", title="Lobby", files=[
        models.FileIn(role="video", filename="lobby.mp4", size=20 * 1024 * 1024, content_type="video/mp4")]))
    assert isinstance(group, models.UploadGroup), group
    (file,) = group.files
    assert (group.layout, file.role, file.part_count) == ("Mono", "video", 3)
    urls = part_urls.sync(group.upload_session_id, file.upload_id, client=c,
                          body=models.PartUrlsIn(part_numbers=[1, 2]))
    assert isinstance(urls, models.PartUrls)
    assert [(p.part_number, p.method) for p in urls.parts] == [(1, "PUT"), (2, "PUT")]
    bad = create.sync(client=c, body=models.CreateGroup(layout="Hologram", files=[
        models.FileIn(role="video", filename="x.mp4", size=1)]))
    assert isinstance(bad, models.DirectVideoError) and bad.error.code == "invalid_layout"


def test_companion_s3_multipart_create_sign_put_complete_and_list(api, live, all_scopes_key):
    create = module(api, "api.companion_s3.companion_create")
    sign = module(api, "api.companion_s3.companion_sign_part")
    complete = module(api, "api.companion_s3.companion_complete")
    listing = module(api, "api.companion_s3.companion_list_parts")
    models = module(api, "models")
    c = client(api, live, all_scopes_key)
    made = create.sync(client=c, body=models.CreateIn(filename="courtyard.ply", type_="application/octet-stream"))
    assert isinstance(made, models.MultipartCreated), made
    assert made.key.endswith("/courtyard.ply") and made.bucket == "local"
    signed = sign.sync(made.upload_id, 1, client=c, key=made.key)
    assert isinstance(signed, models.PresignedUrl) and signed.expires > 0
    # The part URL is a signed URL, not an operation of the document: any HTTP client PUTs to it, as to S3.
    data = b"ply\n" + bytes(range(256)) * 40
    put = httpx.put(signed.url, content=data)
    assert put.status_code == 200, put.text
    etag = put.headers["ETag"]
    done = complete.sync(made.upload_id, client=c, key=made.key,
                         body=models.CompanionS3CompleteIn(parts=[models.CompanionS3PartIn(part_number=1, e_tag=etag)]))
    assert isinstance(done, models.MultipartCompleted), done
    assert (done.key, done.bucket) == (made.key, "local")
    parts = listing.sync(made.upload_id, client=c, key=made.key)
    assert [(p.part_number, p.e_tag, p.size) for p in parts] == [(1, etag, len(data))]
    unknown = listing.sync("no-such-upload", client=c, key=made.key)
    assert isinstance(unknown, models.CompanionError)


def _patch(location: str, token: str, offset: int, data: bytes, headers: dict[str, str]) -> httpx.Response:
    """The append, sent with httpx: its body is application/offset+octet-stream (tus) or
    application/partial-upload (IETF draft), which openapi-python-client cannot send (NOT_GENERATED)."""
    return httpx.patch(location, content=data, headers={
        "Authorization": f"Bearer {token}", "Upload-Offset": str(offset), **headers})


def test_tus_create_offset_append_and_terminate(api, live, all_scopes_key):
    create = module(api, "api.resumable_uploads_tus_ietf_draft.resumable_create")
    offset = module(api, "api.resumable_uploads_tus_ietf_draft.resumable_offset")
    terminate = module(api, "api.resumable_uploads_tus_ietf_draft.resumable_terminate")
    models = module(api, "models")
    c = client(api, live, all_scopes_key)
    data = bytes(range(256)) * 20
    made = create.sync_detailed(client=c, tus_resumable=models.ResumableCreateTusResumable("1.0.0"),
                                upload_length=len(data),
                                upload_metadata="filename " + base64.b64encode(b"walk.e57").decode())
    assert made.status_code == 201, made.content
    location = made.headers["Location"]
    upload_id = location.rstrip("/").rsplit("/", 1)[1]
    tus = models.ResumableOffsetTusResumable("1.0.0")
    held = offset.sync_detailed(upload_id, client=c, tus_resumable=tus)
    assert held.status_code == 200
    assert (held.headers["Upload-Offset"], held.headers["Upload-Length"]) == ("0", str(len(data)))
    appended = _patch(location, all_scopes_key, 0, data[:3000], {
        "Tus-Resumable": "1.0.0", "Content-Type": "application/offset+octet-stream"})
    assert appended.status_code == 204, appended.text
    assert offset.sync_detailed(upload_id, client=c, tus_resumable=tus).headers["Upload-Offset"] == "3000"
    gone = terminate.sync_detailed(upload_id, client=c, tus_resumable=models.ResumableTerminateTusResumable("1.0.0"))
    assert gone.status_code == 204, gone.content
    assert offset.sync_detailed(upload_id, client=c, tus_resumable=tus).status_code in (404, 410)


def test_ietf_draft_create_offset_append_and_terminate(api, live, all_scopes_key):
    create = module(api, "api.resumable_uploads_tus_ietf_draft.resumable_create")
    offset = module(api, "api.resumable_uploads_tus_ietf_draft.resumable_offset")
    terminate = module(api, "api.resumable_uploads_tus_ietf_draft.resumable_terminate")
    types, models = module(api, "types"), module(api, "models")
    c = client(api, live, all_scopes_key)
    data = bytes(range(256)) * 20
    # Creation with the first 2000 bytes and Upload-Complete: ?0; the rest comes in an append.
    made = create.sync_detailed(client=c, body=types.File(payload=io.BytesIO(data[:2000])),
                                upload_draft_interop_version=models.ResumableCreateUploadDraftInteropVersion("6"),
                                upload_complete="?0", upload_length=len(data),
                                content_disposition='attachment; filename="draft.e57"')
    assert made.status_code == 201, made.content
    assert (made.headers["Upload-Offset"], made.headers["Upload-Complete"]) == ("2000", "?0")
    location = made.headers["Location"]
    upload_id = location.rstrip("/").rsplit("/", 1)[1]
    draft = models.ResumableOffsetUploadDraftInteropVersion("6")
    held = offset.sync_detailed(upload_id, client=c, upload_draft_interop_version=draft)
    assert held.status_code == 204 and held.headers["Upload-Offset"] == "2000", held.headers
    appended = _patch(location, all_scopes_key, 2000, data[2000:4000], {
        "Upload-Draft-Interop-Version": "6", "Upload-Complete": "?0", "Content-Type": "application/partial-upload"})
    assert appended.status_code == 204, appended.text
    assert offset.sync_detailed(upload_id, client=c, upload_draft_interop_version=draft).headers["Upload-Offset"] == "4000"
    gone = terminate.sync_detailed(upload_id, client=c, upload_draft_interop_version=(
        models.ResumableTerminateUploadDraftInteropVersion("6")))
    assert gone.status_code == 204, gone.content
    assert offset.sync_detailed(upload_id, client=c, upload_draft_interop_version=draft).status_code in (404, 410)
