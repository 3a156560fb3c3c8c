"""The video.verify job on both databases (run directly): a group of good files verifies, one whose AIME
file could only be accepted unchecked ends unverified (and stays so on a re-run), and a Separate group
whose eyes disagree, or a bad subtitle, fails with its reason and every probe kept."""

from types import SimpleNamespace

import pytest
from sqlalchemy import select, update

from omnidrop.auth.keys import KeyService
from omnidrop.db.models import Job, VideoLibraryEntry
from omnidrop.jobs.runner import run_job
from omnidrop.pipeline.video_verification import _set, check_file, compare_eyes
from omnidrop.services import Services
from omnidrop.settings import Settings
from omnidrop.videos.service import VERIFY_KIND, FileSpec
from tests.support import direct_video as dv


@pytest.fixture
async def services(db_url, tmp_path):
    services = Services.open(Settings(data_dir=tmp_path / "data", database_url=db_url, fsync=False))
    try:
        yield services
    finally:
        await services.close()


async def complete_group(services, layout: str, files: list[tuple[str, str, bytes]]) -> VideoLibraryEntry:
    """Create, upload and complete every file, run the queued job, return the library entry."""
    videos = services.videos
    owner = await KeyService(services.db).ensure_owner("verify-tests")
    view = await videos.create(owner, "Trip", layout, [FileSpec(r, n, len(d)) for r, n, d in files])
    for f, (_, _, data) in zip(view.files, files):
        async def body(data=data):
            yield data

        part = await videos.parts.receive_part(f.multipart_id, 1, body())
        await videos.complete_file(owner, view.group.id, f.id, [(1, part.etag)])
    async with services.db.read() as s:
        job_id = await s.scalar(select(Job.id).where(Job.kind == VERIFY_KIND, Job.subject_id == view.group.id))
        entry = await s.scalar(select(VideoLibraryEntry).where(VideoLibraryEntry.group_id == view.group.id))
    assert entry.verification_state == "pending"
    await run_job(job_id, services.settings)
    async with services.db.read() as s:
        return await s.get(VideoLibraryEntry, entry.id)


async def test_a_good_separate_group_verifies(services, tmp_path):
    files = [
        ("video_left", "left.mp4", dv.eye(tmp_path / "l.mp4")),
        ("video_right", "right.mov", dv.eye(tmp_path / "r.mp4")),
        ("audio", "mix.m4a", dv.audio(tmp_path / "a.m4a")),
        ("subtitle", "en.srt", dv.SRT),
        ("subtitle", "fr.vtt", dv.VTT),
        ("aime", "venue.aime", dv.AIME),
        ("fcpxmld", "edit.zip", dv.fcpxmld_zip()),
    ]
    entry = await complete_group(services, "Separate", files)
    assert (entry.verification_state, entry.verification_code) == ("verified", None), entry.verification_message
    found = {r["filename"]: r for r in entry.verification["files"].values()}
    assert all(r["ok"] and r["checked"] for r in found.values())
    assert (found["left.mp4"]["info"]["width"], found["left.mp4"]["info"]["fps"]) == (128, 10.0)
    assert found["mix.m4a"]["info"]["codec"] == "aac"
    assert (found["en.srt"]["info"]["format"], found["en.srt"]["info"]["cues"]) == ("srt", 2)
    assert found["fr.vtt"]["info"]["format"] == "webvtt"
    assert found["edit.zip"]["info"]["details"]["version"] == "1.11"
    assert entry.verification["eyes"]["match"] is True


OPAQUE_AIME = b"\x01\x02AIME binary payload"


async def test_an_opaque_aime_leaves_the_group_unverified_and_a_rerun_keeps_it(services, tmp_path):
    files = [("video", "movie.mp4", dv.eye(tmp_path / "v.mp4")), ("aime", "venue.aime", OPAQUE_AIME)]
    entry = await complete_group(services, "Mono", files)
    assert (entry.verification_state, entry.verification_code) == ("unverified", "unchecked_aime")
    assert "'venue.aime'" in entry.verification_message and "binary layout" in entry.verification_message
    found = {r["filename"]: r for r in entry.verification["files"].values()}
    assert (found["venue.aime"]["ok"], found["venue.aime"]["checked"]) == (True, False)
    assert found["venue.aime"]["info"]["format"] == "opaque" and found["venue.aime"]["message"]
    assert found["movie.mp4"]["checked"] is True

    async with services.db.write() as s:  # as if a worker ran it again after the result was stored
        job_id = await s.scalar(select(Job.id).where(Job.kind == VERIFY_KIND, Job.subject_id == entry.group_id))
        await s.execute(update(Job).where(Job.id == job_id).values(state="queued"))
    await run_job(job_id, services.settings)
    await _set(SimpleNamespace(services=services), entry.group_id, verification_state="verifying")  # a late write
    async with services.db.read() as s:
        again = await s.get(VideoLibraryEntry, entry.id)
        job = await s.get(Job, job_id)
    assert job.state == "done"
    assert (again.verification_state, again.verification_code, again.verified_at) == (
        "unverified", "unchecked_aime", entry.verified_at)


async def test_a_problem_outranks_an_unchecked_aime(services, tmp_path):
    files = [("video", "movie.mp4", dv.eye(tmp_path / "v.mp4")), ("subtitle", "en.srt", dv.NOT_SUBTITLES),
             ("aime", "venue.aime", OPAQUE_AIME)]
    entry = await complete_group(services, "Mono", files)
    assert (entry.verification_state, entry.verification_code) == ("failed", "invalid_subtitle")
    found = {r["filename"]: r for r in entry.verification["files"].values()}
    assert (found["venue.aime"]["ok"], found["venue.aime"]["checked"]) == (True, False)


async def test_separate_eyes_that_disagree_fail(services, tmp_path):
    files = [
        ("video_left", "left.mp4", dv.eye(tmp_path / "l.mp4", frames=20)),
        ("video_right", "right.mp4", dv.eye(tmp_path / "r.mp4", frames=30, size=(128, 96))),
    ]
    entry = await complete_group(services, "Separate", files)
    assert (entry.verification_state, entry.verification_code) == ("failed", "eyes_mismatch")
    assert "resolution 128x64 (left) vs 128x96 (right)" in entry.verification_message
    assert "duration 2.000 s (left) vs 3.000 s (right)" in entry.verification_message
    assert entry.verification["eyes"]["match"] is False


async def test_a_bad_subtitle_and_a_fake_video_fail_and_every_file_is_reported(services, tmp_path):
    files = [
        ("video", "movie.mp4", b"\xff\xd8\xff\xe0 a JPEG renamed .mp4" + bytes(100)),
        ("subtitle", "en.srt", dv.NOT_SUBTITLES),
        ("audio", "mix.m4a", dv.audio(tmp_path / "a.m4a")),
    ]
    entry = await complete_group(services, "Mono", files)
    assert (entry.verification_state, entry.verification_code) == ("failed", "invalid_video")
    assert "movie.mp4" in entry.verification_message and "en.srt" in entry.verification_message
    found = {r["filename"]: r for r in entry.verification["files"].values()}
    assert (found["en.srt"]["ok"], found["en.srt"]["code"]) == (False, "unsupported_format")
    assert found["mix.m4a"]["ok"] is True


def test_eye_comparison_tolerates_rounding_only():
    left = {"width": 100, "height": 50, "fps": 29.97, "duration": 10.0}
    assert compare_eyes(left, {**left, "fps": 30000 / 1001, "duration": 10.05}, 0.1) == []
    problems = compare_eyes(left, {**left, "fps": 30.0, "duration": 10.2}, 0.1)
    assert len(problems) == 2 and "frame rate" in problems[0] and "duration" in problems[1]


@pytest.mark.parametrize("role, data, code", [
    ("audio", dv.SRT, "unsupported_format"),
    ("subtitle", b"1\n00:00:01,000 --> 00:00:02,000\n\x00\x01binary", "not_text"),
    ("subtitle", b"", "empty"),
    ("aime", b'{"venue": ', "malformed_json"),
    ("aime", b"", "empty"),
    ("fcpxmld", dv.fcpxmld_zip(b"<fcpxml version='1.11'><unclosed></fcpxml>"), "malformed_xml"),
    ("fcpxmld", dv.fcpxmld_zip(b"<?xml version='1.0'?><other/>"), "not_fcpxml"),
    ("fcpxmld", b"PK\x03\x04 not really a zip", "corrupt"),
    ("fcpxmld", b"<!DOCTYPE x [<!ENTITY a 'aaaa'>]><fcpxml version='1'>&a;</fcpxml>", "unsafe_xml"),
])
def test_role_checks_refuse_what_is_not_their_kind(tmp_path, role, data, code):
    path = tmp_path / "file"
    path.write_bytes(data)
    result = check_file(role, path)
    assert (result["ok"], result["code"]) == (False, code), result
    assert result["message"]


def test_an_opaque_aime_is_accepted_unchecked_and_a_bare_fcpxml_checked(tmp_path):
    (tmp_path / "a.aime").write_bytes(OPAQUE_AIME)
    opaque = check_file("aime", tmp_path / "a.aime")
    assert (opaque["ok"], opaque["checked"], opaque["info"]["format"]) == (True, False, "opaque")
    assert "unchecked" not in opaque["info"] and "does not publish" in opaque["message"]
    (tmp_path / "Info.fcpxml").write_bytes(dv.FCPXML)
    bare = check_file("fcpxmld", tmp_path / "Info.fcpxml")
    assert (bare["checked"], bare["info"]["format"]) == (True, "fcpxml")
    (tmp_path / "a.json").write_bytes(dv.AIME)
    assert check_file("aime", tmp_path / "a.json")["checked"] is True
