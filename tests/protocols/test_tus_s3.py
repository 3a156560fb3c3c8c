"""tus on the S3 store (moto): appends crossing part boundaries, a checksum-refused chunk that S3 has
already stored (the store rewinds to the acknowledged end), a resend below the offset, concatenation."""

import base64
import hashlib
import os

import httpx
import pytest

from tests.support.resumable import create, patch, tus_client, uploaded_bytes
from tests.support.server import stored_bytes

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def live(servers, db_url, moto):
    return servers.start(database_url=db_url, storage_url=moto.storage_url(), lease_wait_seconds=0.3)


@pytest.fixture
def tus(live):
    with tus_client(live) as client:
        yield client


def sha1(data: bytes) -> str:
    return "sha1 " + base64.b64encode(hashlib.sha1(data).digest()).decode()


def test_chunks_across_parts_with_a_refused_checksum_on_s3(live, tus):
    data = os.urandom(19 * MiB + 11)
    path = create(tus, len(data))
    assert patch(tus, path, 0, data[: 3 * MiB]).status_code == 204  # stays in the tail
    # 7 MiB of wrong bytes reach S3 (tail + new part) before the checksum refuses them.
    bad = patch(tus, path, 3 * MiB, os.urandom(7 * MiB), **{"Upload-Checksum": sha1(data[3 * MiB : 10 * MiB])})
    assert bad.status_code == 460
    assert tus.head(path).headers["upload-offset"] == str(3 * MiB)
    good = patch(tus, path, 3 * MiB, data[3 * MiB : 10 * MiB], **{"Upload-Checksum": sha1(data[3 * MiB : 10 * MiB])})
    assert good.status_code == 204 and good.headers["upload-offset"] == str(10 * MiB)
    assert patch(tus, path, 10 * MiB, data[10 * MiB :]).status_code == 204
    assert hashlib.sha256(uploaded_bytes(live, path)).digest() == hashlib.sha256(data).digest()


def test_file_upload_resend_below_received_keeps_the_first_bytes_on_s3(live):
    """S3 parts are immutable: re-sent bytes below `received` are counted, not stored again."""
    headers = {**live.headers(), "Content-Type": "application/octet-stream"}
    sid = httpx.post(f"{live.api}/uploads", headers=headers).json()["upload_id"]
    data = os.urandom(6 * MiB)

    def put(start: int, piece: bytes) -> dict:
        end = start + len(piece) - 1
        r = httpx.put(f"{live.api}/uploads/{sid}/scan.e57", content=piece, timeout=60,
                      headers={**headers, "Content-Range": f"bytes {start}-{end}/{len(data)}"})
        assert r.status_code == 200, r.text
        return r.json()

    assert put(0, data[: 5 * MiB + 1])["received"] == 5 * MiB + 1  # one 5 MiB part + a 1-byte tail
    assert put(MiB, data[MiB:])["complete"] is True  # overlaps the part and the tail
    assert stored_bytes(live, sid, "scan.e57") == data


def test_concatenation_on_s3(live, tus):
    pieces = [os.urandom(5 * MiB + 1), os.urandom(10), os.urandom(2500)]
    partials = []
    for piece in pieces:
        path = create(tus, len(piece), **{"Upload-Concat": "partial"})
        assert patch(tus, path, 0, piece).status_code == 204
        partials.append(path)
    r = tus.post("/files/", headers={"Upload-Concat": "final;" + " ".join(partials)})
    assert r.status_code == 201
    assert uploaded_bytes(live, httpx.URL(r.headers["location"]).path) == b"".join(pieces)
