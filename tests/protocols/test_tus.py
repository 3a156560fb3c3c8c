"""tus 1.0.0 and its extensions against a live server, on SQLite and PostgreSQL.

Every status code and header the protocol and its extensions define is produced here.
"""

from __future__ import annotations

import base64
import hashlib
import os
from datetime import timedelta

import crc32c
import httpx
import pytest
from sqlalchemy import update

from omnidrop.db.models import UploadFile, UploadSession
from omnidrop.db.types import utcnow
from omnidrop.services import Services
from omnidrop.settings import Settings
from tests.support.resumable import (
    OFFSET_STREAM,
    TUS,
    create,
    metadata,
    on_db,
    patch,
    tus_client,
    upload_file_row,
    uploaded_bytes,
)
from tests.support.server import stored_keys

MAX = 1_000_000
EXTENSIONS = {"creation", "creation-with-upload", "creation-defer-length", "expiration", "checksum", "termination",
              "concatenation"}


@pytest.fixture(scope="module")
def live(servers, db_url):
    """On the local store; test_tus_s3.py covers what the S3 store does differently."""
    return servers.start(database_url=db_url, max_file_bytes=MAX, lease_wait_seconds=0.3)


@pytest.fixture
def tus(live):
    with tus_client(live) as client:
        yield client


def digest(algorithm: str, data: bytes) -> str:
    raw = crc32c.CRC32CHash(data).digest() if algorithm == "crc32c" else hashlib.new(algorithm, data).digest()
    return f"{algorithm} {base64.b64encode(raw).decode()}"


# -- core protocol ---------------------------------------------------------------------------------


def test_options_advertises_version_extensions_limits_and_checksums(tus):
    r = tus.options("/files/", headers={"Tus-Resumable": ""})
    assert r.status_code == 204
    assert r.headers["tus-version"] == "1.0.0"
    assert set(r.headers["tus-extension"].split(",")) == EXTENSIONS
    assert r.headers["tus-max-size"] == str(MAX)
    assert {"sha1", "md5", "sha256", "crc32c"} <= set(r.headers["tus-checksum-algorithm"].split(","))
    assert "tus-resumable" not in r.headers  # every response but OPTIONS


@pytest.mark.parametrize("version", ["0.2.2", "2.0.0", None])
def test_unsupported_or_missing_version_is_412_with_tus_version(live, version):
    headers = {**live.headers(), "Upload-Length": "10", **({"Tus-Resumable": version} if version else {})}
    r = httpx.post(f"{live.url}/files/", headers=headers)
    assert r.status_code == 412
    assert r.headers["tus-version"] == "1.0.0"
    assert "location" not in r.headers


def test_create_head_patch_to_completion(live, tus):
    data = os.urandom(3000)
    path = create(tus, len(data), **{"Upload-Metadata": metadata(filename="walk.insv", filetype=None)})
    r = tus.head(path)
    assert r.status_code == 200
    assert r.headers["upload-offset"] == "0"
    assert r.headers["upload-length"] == "3000"
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["tus-resumable"] == "1.0.0"
    assert r.headers["upload-metadata"] == metadata(filename="walk.insv", filetype=None)
    assert "upload-expires" in r.headers

    r = patch(tus, path, 0, data[:1000])
    assert r.status_code == 204
    assert r.headers["upload-offset"] == "1000"
    assert r.headers["tus-resumable"] == "1.0.0"
    assert r.headers["upload-expires"].endswith(" GMT")
    assert patch(tus, path, 1000, data[1000:]).headers["upload-offset"] == "3000"
    assert tus.head(path).headers["upload-offset"] == "3000"
    assert uploaded_bytes(live, path) == data


def test_creation_is_201_with_location_and_expiry(tus):
    r = tus.post("/files/", headers={"Upload-Length": "5"})
    assert r.status_code == 201
    assert r.headers["location"].startswith("http://127.0.0.1:")
    assert "/files/" in r.headers["location"]
    assert r.headers["upload-expires"].endswith(" GMT")
    assert r.headers["tus-resumable"] == "1.0.0"


@pytest.mark.parametrize("headers", [
    {},  # neither length nor deferral
    {"Upload-Length": "5", "Upload-Defer-Length": "1"},
    {"Upload-Defer-Length": "2"},
    {"Upload-Length": "-1"},
    {"Upload-Length": "5", "Upload-Metadata": "filename not*base64"},
    {"Upload-Length": "5", "Upload-Metadata": "a eA==,a eA=="},
    {"Upload-Length": "5", "Upload-Concat": "sideways"},
])
def test_bad_creation_headers_are_400(tus, headers):
    assert tus.post("/files/", headers=headers).status_code == 400


def test_over_max_size_is_413(tus):
    r = tus.post("/files/", headers={"Upload-Length": str(MAX + 1)})
    assert r.status_code == 413
    assert r.headers["tus-resumable"] == "1.0.0"


def test_empty_upload_is_complete_at_once(live, tus):
    path = create(tus, 0)
    r = tus.head(path)
    assert (r.headers["upload-offset"], r.headers["upload-length"]) == ("0", "0")
    assert uploaded_bytes(live, path) == b""


def test_patch_needs_the_offset_octet_stream_type(tus):
    path = create(tus, 10)
    r = tus.patch(path, content=b"x" * 5, headers={"Upload-Offset": "0", "Content-Type": "application/octet-stream"})
    assert r.status_code == 415
    assert tus.head(path).headers["upload-offset"] == "0"


def test_patch_without_offset_is_400(tus):
    path = create(tus, 10)
    assert tus.patch(path, content=b"x", headers=OFFSET_STREAM).status_code == 400


@pytest.mark.parametrize("offset", [3, 7])
def test_offset_mismatch_is_409_and_changes_nothing(live, tus, offset):
    path = create(tus, 10)
    assert patch(tus, path, 0, b"12345").status_code == 204
    r = patch(tus, path, offset, b"ab")
    assert r.status_code == 409
    assert tus.head(path).headers["upload-offset"] == "5"
    patch(tus, path, 5, b"67890")
    assert uploaded_bytes(live, path) == b"1234567890"


def test_body_past_the_length_is_413(tus):
    path = create(tus, 4)
    assert patch(tus, path, 0, b"123456").status_code == 413
    assert tus.head(path).headers["upload-offset"] == "0"


def test_unknown_upload_is_404_without_offset(tus):
    for r in (tus.head("/files/nosuchupload123"), patch(tus, "/files/nosuchupload123", 0, b"x"),
              tus.delete("/files/nosuchupload123")):
        assert r.status_code == 404
        assert "upload-offset" not in r.headers
        assert r.headers["tus-resumable"] == "1.0.0"


def test_another_owners_upload_is_not_found(live, tus):
    path = create(tus, 10)
    with tus_client(live, owner="someone-else") as other:
        assert other.head(path).status_code == 404
        assert patch(other, path, 0, b"x").status_code == 404
        assert other.delete(path).status_code == 404
    assert tus.head(path).status_code == 200


def test_missing_credentials_are_401(live):
    r = httpx.post(f"{live.url}/files/", headers={**TUS, "Upload-Length": "3"})
    assert r.status_code == 401
    assert r.headers["tus-resumable"] == "1.0.0"
    # The walkthrough clients that use these endpoints log in: the answer names both kinds of credential.
    assert r.text.startswith("missing_api_key") and "API key" in r.text and "login token" in r.text


def test_method_override_turns_post_into_patch_and_delete(live, tus):
    path = create(tus, 4)
    r = tus.post(path, content=b"abcd", headers={**OFFSET_STREAM, "Upload-Offset": "0",
                                                 "X-HTTP-Method-Override": "PATCH"})
    assert r.status_code == 204
    assert r.headers["upload-offset"] == "4"
    assert tus.post(path, headers={"X-HTTP-Method-Override": "DELETE"}).status_code == 204
    assert tus.head(path).status_code == 410


def test_stale_lock_is_taken_over_and_a_live_one_answers_423(live, tus):
    """A writer renews its lease while bytes flow; a new request takes over one that has gone quiet."""
    path = create(tus, 4)
    file_id = upload_file_row(live, path.rsplit("/", 1)[1]).id
    ttl = 30.0  # the default lease TTL; lease_expires = last renewal + TTL

    def writer_renewed(seconds_ago: float):
        async def work(db):
            async with db.write() as s:
                await s.execute(update(UploadFile).where(UploadFile.id == file_id).values(
                    lease_owner="other-writer", lease_expires=utcnow() + timedelta(seconds=ttl - seconds_ago)))
        on_db(live, work)

    writer_renewed(0)  # bytes are flowing for it right now
    r = patch(tus, path, 0, b"ab")
    assert r.status_code == 423
    assert r.headers["tus-resumable"] == "1.0.0"
    writer_renewed(20)  # quiet for 20 s: its client gave up (a dead connection), this request takes over
    r = patch(tus, path, 0, b"ab")
    assert r.status_code == 204
    assert r.headers["upload-offset"] == "2"
    writer_renewed(ttl + 1)  # expired outright
    assert patch(tus, path, 2, b"cd").status_code == 204


# -- creation-with-upload, creation-defer-length ---------------------------------------------------


def test_creation_with_upload_returns_the_offset(live, tus):
    r = tus.post("/files/", content=b"hello", headers={**OFFSET_STREAM, "Upload-Length": "8"})
    assert r.status_code == 201
    assert r.headers["upload-offset"] == "5"
    path = r.headers["location"]
    assert patch(tus, path, 5, b"!!!").headers["upload-offset"] == "8"
    assert uploaded_bytes(live, httpx_path(path)) == b"hello!!!"


def test_creation_body_of_another_type_is_415(tus):
    r = tus.post("/files/", content=b"hello", headers={"Content-Type": "text/plain", "Upload-Length": "8"})
    assert r.status_code == 415


def test_deferred_length_is_declared_by_a_later_patch(live, tus):
    path = create(tus, None)
    r = tus.head(path)
    assert r.headers["upload-defer-length"] == "1"
    assert "upload-length" not in r.headers
    assert patch(tus, path, 0, b"abc").headers["upload-offset"] == "3"
    r = patch(tus, path, 3, b"def", **{"Upload-Length": "6"})
    assert r.status_code == 204
    r = tus.head(path)
    assert (r.headers["upload-offset"], r.headers["upload-length"]) == ("6", "6")
    assert "upload-defer-length" not in r.headers
    assert uploaded_bytes(live, path) == b"abcdef"


def test_declared_length_cannot_change(tus):
    path = create(tus, None)
    assert patch(tus, path, 0, b"abc", **{"Upload-Length": "10"}).status_code == 204
    assert patch(tus, path, 3, b"d", **{"Upload-Length": "12"}).status_code == 400
    assert tus.head(path).headers["upload-length"] == "10"


# -- checksum --------------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["sha1", "md5", "sha256", "crc32c"])
def test_matching_checksum_is_accepted(live, tus, algorithm):
    path = create(tus, 6)
    assert patch(tus, path, 0, b"abc", **{"Upload-Checksum": digest(algorithm, b"abc")}).status_code == 204
    assert patch(tus, path, 3, b"def", **{"Upload-Checksum": digest(algorithm, b"def")}).status_code == 204
    assert uploaded_bytes(live, path) == b"abcdef"


def test_checksum_mismatch_is_460_and_the_chunk_is_discarded(live, tus):
    path = create(tus, 6)
    assert patch(tus, path, 0, b"abc").status_code == 204
    r = patch(tus, path, 3, b"XYZ", **{"Upload-Checksum": digest("sha1", b"def")})
    assert r.status_code == 460
    assert tus.head(path).headers["upload-offset"] == "3"
    assert patch(tus, path, 3, b"def", **{"Upload-Checksum": digest("sha1", b"def")}).status_code == 204
    assert uploaded_bytes(live, path) == b"abcdef"


@pytest.mark.parametrize("header", ["whirlpool AAAA", "SHA1 " + base64.b64encode(b"x" * 20).decode(), "sha1 %%%"])
def test_unknown_algorithm_or_bad_digest_is_400(tus, header):
    path = create(tus, 3)
    assert patch(tus, path, 0, b"abc", **{"Upload-Checksum": header}).status_code == 400
    assert tus.head(path).headers["upload-offset"] == "0"


# -- termination and expiration --------------------------------------------------------------------


def test_termination_is_204_then_gone(live, tus):
    path = create(tus, 6)
    patch(tus, path, 0, b"abc")
    r = tus.delete(path)
    assert r.status_code == 204
    assert r.headers["tus-resumable"] == "1.0.0"
    assert tus.head(path).status_code == 410
    assert patch(tus, path, 3, b"def").status_code == 410
    assert upload_file_row(live, path.rsplit("/", 1)[1]) is None
    assert stored_keys(live, "uploads/" + path.rsplit("/", 1)[1]) == []


def test_expired_upload_is_410_and_the_reaper_removes_it(live, tus):
    path = create(tus, 6)
    patch(tus, path, 0, b"abc")
    upload_id = path.rsplit("/", 1)[1]

    async def expire(db):
        async with db.write() as s:
            await s.execute(update(UploadSession).where(UploadSession.id == upload_id)
                            .values(expires_at=utcnow() - timedelta(seconds=1)))

    on_db(live, expire)
    assert tus.head(path).status_code == 410
    assert patch(tus, path, 3, b"def").status_code == 410

    async def reap(_db):
        services = Services.open(Settings(data_dir=live.data_dir, database_url=live.env["OMNIDROP_DATABASE_URL"],
                                          storage_url=live.env.get("OMNIDROP_STORAGE_URL")))
        try:
            await services.uploads.reap_expired()
            return await services.resumable.reap()
        finally:
            await services.close()

    assert on_db(live, reap) >= 1
    assert upload_file_row(live, upload_id) is None
    assert stored_keys(live, f"uploads/{upload_id}") == []
    assert tus.head(path).status_code == 410  # the tombstone still says what happened


# -- concatenation ---------------------------------------------------------------------------------


def test_three_partial_uploads_concatenate_into_a_final_one(live, tus):
    pieces = [os.urandom(1000), os.urandom(10), os.urandom(2500)]
    partials = []
    for piece in pieces:
        path = create(tus, len(piece), **{"Upload-Concat": "partial"})
        assert tus.head(path).headers["upload-concat"] == "partial"
        assert patch(tus, path, 0, piece).status_code == 204
        partials.append(path)
    r = tus.post("/files/", headers={"Upload-Concat": "final;" + " ".join(partials),
                                     "Upload-Metadata": metadata(filename="joined.insv")})
    assert r.status_code == 201
    final = httpx_path(r.headers["location"])
    head = tus.head(final)
    total = str(sum(map(len, pieces)))
    assert (head.headers["upload-offset"], head.headers["upload-length"]) == (total, total)
    concat = head.headers["upload-concat"]
    assert concat.startswith("final;") and [httpx_path(u) for u in concat[6:].split()] == partials
    assert uploaded_bytes(live, final) == b"".join(pieces)
    assert patch(tus, final, int(total), b"more").status_code == 403


def test_final_upload_refuses_unfinished_foreign_or_plain_parts(live, tus):
    unfinished = create(tus, 10, **{"Upload-Concat": "partial"})
    plain = create(tus, 1)
    patch(tus, plain, 0, b"x")
    with tus_client(live, owner="someone-else") as other:
        foreign = create(other, 1, **{"Upload-Concat": "partial"})
        patch(other, foreign, 0, b"x")
    for parts in ([unfinished], [plain], [foreign], ["/files/../../etc"]):
        assert tus.post("/files/", headers={"Upload-Concat": "final;" + " ".join(parts)}).status_code == 400
    assert tus.post("/files/", headers={"Upload-Concat": "final;" + foreign, "Upload-Length": "1"}).status_code == 400


# -- CORS ------------------------------------------------------------------------------------------


def test_browser_preflight_and_exposed_headers(tus):
    r = tus.options("/files/", headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST",
                                        "Access-Control-Request-Headers": "tus-resumable,upload-length"})
    assert r.status_code == 200
    assert "PATCH" in r.headers["access-control-allow-methods"]
    assert "Upload-Offset" in r.headers["access-control-allow-headers"]
    assert r.headers["access-control-allow-origin"] == "*"
    r = tus.post("/files/", headers={"Origin": "https://app.example", "Upload-Length": "3"})
    exposed = {h.strip() for h in r.headers["access-control-expose-headers"].split(",")}
    assert {"Location", "Upload-Offset", "Upload-Length", "Tus-Resumable", "Tus-Version", "Tus-Extension",
            "Tus-Max-Size", "Upload-Expires"} <= exposed


def httpx_path(url: str) -> str:
    return httpx.URL(url).path
