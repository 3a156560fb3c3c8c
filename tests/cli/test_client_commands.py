"""Every client subcommand once, end to end against a live server: login, status, vehicle, walkthrough,
capture, video; plus the exit codes and messages that say what failed."""

from __future__ import annotations

import hashlib
import os
import uuid

import httpx
import pytest

from tests.support.client import MiB, client_env, file_sha256, omnidrop, result_json, sparse_file
from tests.support.server import run_cli
from tests.support.vehicles import clip

PASSWORD = "a long enough password"
# The commands' logic is the same on every store: one backend pair here (test_upload_cmd runs both).
pytestmark = pytest.mark.parametrize("backend", ["sqlite-local"], indirect=True)


def test_login_writes_the_config_the_other_commands_use(server, tmp_path):
    env = client_env(None, tmp_path)
    done = omnidrop(["login", "--url", server.url, "--key", server.key(), "--json"], env)
    assert done.returncode == 0, done.stderr
    saved = result_json(done)
    assert saved["api_key"] is True and saved["url"] == server.url
    config = tmp_path / "client.toml"
    assert oct(config.stat().st_mode & 0o777) == "0o600"
    assert server.key() in config.read_text()
    photo = tmp_path / "a.jpg"
    photo.write_bytes(os.urandom(1000))
    up = omnidrop(["upload", str(photo), "--project-title", "From config", "--wait", "--timeout", "60", "--json"], env)
    assert up.returncode == 0, up.stderr
    result = result_json(up)
    assert result["project_status"]["title"] == "From config"
    assert result["project_status"]["files"][0]["sha256"] == hashlib.sha256(photo.read_bytes()).hexdigest()
    status = omnidrop(["status", result["project"], "--json"], env)
    assert status.returncode == 0 and result_json(status)["status"] == 100


def test_login_with_a_password_keeps_a_token(server, tmp_path):
    user = f"u-{uuid.uuid4().hex[:8]}"
    made = run_cli(["users", "create", "--username", user, "--password", PASSWORD], server.env)
    assert made.returncode == 0, made.stderr
    env = client_env(None, tmp_path)
    done = omnidrop(["login", "--url", server.url, "--username", user, "--password", PASSWORD, "--json"], env)
    assert done.returncode == 0, done.stderr
    assert result_json(done)["token"] is True
    assert "token = " in (tmp_path / "client.toml").read_text()
    wrong = omnidrop(["login", "--url", server.url, "--username", user, "--password", "nope"], env)
    assert wrong.returncode == 5
    assert "invalid_credentials" in wrong.stderr


def test_exit_codes_and_messages(server, tmp_path):
    env = client_env(server, tmp_path)
    bad = tmp_path / "tool.exe"
    bad.write_bytes(b"MZ")
    refused = omnidrop(["upload", str(bad), "--json"], env)
    assert refused.returncode == 6
    error = result_json(refused)["files"][0]["error"]
    assert error["code"] == "extension_not_allowed" and "does not accept this file type" in error["message"]
    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"x" * 10)
    unknown_key = omnidrop(["upload", str(photo), "--key", "sk_nope", "--fresh"], env)
    assert unknown_key.returncode == 5 and "invalid_api_key" in unknown_key.stderr
    missing = omnidrop(["upload", str(tmp_path / "nope.jpg")], env)
    assert missing.returncode == 4 and "no such file" in missing.stderr
    unreachable = omnidrop(["status", "x", "--url", "http://127.0.0.1:9"], {**env, "OMNIDROP_CLIENT_RETRIES": "2"})
    assert unreachable.returncode == 8, unreachable.stderr
    assert "ConnectError" in unreachable.stderr and "gave up after 2 tries" in unreachable.stderr
    not_found = omnidrop(["status", "no-such-project"], env)
    assert not_found.returncode == 6 and "project_not_found" in not_found.stderr
    usage = omnidrop(["upload", str(photo), "--via", "carrier-pigeon"], env)
    assert usage.returncode == 2


def test_vehicle_upload_and_frames(server, tmp_path):
    key = server.key("vehicles:write", "vehicles:read")
    env = client_env(server, tmp_path, key=key)
    video = clip(tmp_path / "walkaround.mp4", seconds=1)
    vehicle = str(uuid.uuid4())
    done = omnidrop(["vehicle", "upload", str(video), "--vehicle", vehicle, "--side", "outside", "--json"], env)
    assert done.returncode == 0, done.stderr
    job = result_json(done)["job_id"]
    again = omnidrop(["vehicle", "upload", str(video), "--vehicle", vehicle, "--side", "OUTSIDE", "--json"], env)
    assert result_json(again)["job_id"] == job  # the state knows it is up: not sent twice
    frames = omnidrop(["vehicle", "frames", "--job", job, "--side", "OUTSIDE", "--wait", "--timeout", "120",
                       "--download", str(tmp_path / "frames"), "--json"], env, timeout=180)
    assert frames.returncode == 0, frames.stderr
    got = result_json(frames)
    assert got["total"] == 5 and len(got["downloaded"]) == 5
    assert all(open(p, "rb").read(2) == b"\xff\xd8" for p in got["downloaded"])  # JPEGs
    bad_side = omnidrop(["vehicle", "frames", "--job", job, "--side", "ROOF"], env)
    assert bad_side.returncode == 2
    unknown = omnidrop(["vehicle", "frames", "--job", "nope", "--side", "INSIDE"], env)
    assert unknown.returncode == 6 and "JOB_NOT_FOUND" in unknown.stderr


def test_walkthrough_upload_runs_the_five_steps(server, tmp_path):
    user = f"w-{uuid.uuid4().hex[:8]}"
    assert run_cli(["users", "create", "--username", user, "--password", PASSWORD], server.env).returncode == 0
    token = httpx.post(f"{server.url}/auth/login", json={"username": user, "password": PASSWORD}).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    project = f"site-{uuid.uuid4().hex[:6]}"
    assert httpx.post(f"{server.url}/360/projects", json={"id": project, "name": "HQ"}, headers=auth).status_code == 201
    drawing = httpx.post(f"{server.url}/360/projects/{project}/drawings", headers=auth, json={
        "name": "Level 1", "bounds": {"north": 53.35, "south": 53.34, "east": -6.25, "west": -6.27}}).json()["id"]
    video = tmp_path / "walk.insv"
    digest = sparse_file(video, 6 * MiB + 123, seed=9)
    env = client_env(None, tmp_path, url=server.url, OMNIDROP_TOKEN=token)
    done = omnidrop(["walkthrough", "upload", str(video), "--project", project, "--drawing", str(drawing),
                     "--date", "20-01-2026", "--name", "Office walk", "--uploaded-by", user,
                     "--start", "53.3498,-6.2603", "--end", "53.3501,-6.2590", "--chunk-size", "5MiB", "--json"], env)
    assert done.returncode == 0, done.stderr
    obj = result_json(done)
    assert obj["processing_status"] != "created" and obj["start_position"] == "53.3498,-6.2603"
    (linked,) = obj["videos"]
    assert linked["size"] == video.stat().st_size and linked["file_extension"] == "insv"
    upload_id = linked["url"].rsplit("/", 1)[-1]
    head = httpx.head(f"{server.url}/files/{upload_id}", headers={**auth, "Tus-Resumable": "1.0.0"})
    assert head.headers["upload-offset"] == str(video.stat().st_size)
    assert digest == file_sha256(video)


def test_capture_upload_resumes_from_the_etags_it_kept(server, tmp_path):
    env = client_env(server, tmp_path, key=server.key("captures"))
    capture = tmp_path / "room.zip"
    sparse_file(capture, 40 * MiB, seed=11)  # 3 parts of 16 MiB
    done = omnidrop(["capture", "upload", str(capture), "--title", "Room", "--parallel", "2", "--json"], env)
    assert done.returncode == 0, done.stderr
    made = result_json(done)
    assert made["state"] in ("UPLOADED", "PROCESSING", "FINISHED") and made["name"] == "Room"
    again = omnidrop(["capture", "upload", str(capture), "--json"], env)
    assert result_json(again)["eid"] == made["eid"]


def test_video_group_upload(server, tmp_path):
    env = client_env(server, tmp_path, key=server.key("videos:upload"))
    left, right = tmp_path / "left.mov", tmp_path / "right.mov"
    sparse_file(left, 9 * MiB, seed=1)
    sparse_file(right, 3 * MiB, seed=2)
    done = omnidrop(["video", "upload", f"video_left={left}", f"video_right={right}", "--layout", "Separate",
                     "--title", "Stereo", "--json"], env)
    assert done.returncode == 0, done.stderr
    group = result_json(done)
    assert group["status"] == "completed" and group["libraryId"]
    assert {f["role"]: f["status"] for f in group["files"]} == {"video_left": "completed", "video_right": "completed"}
    wrong = omnidrop(["video", "upload", str(left), "--layout", "Separate", "--fresh"], env)
    assert wrong.returncode == 6 and "invalid_file_roles" in wrong.stderr
