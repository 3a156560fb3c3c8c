"""The Companion S3 multipart routes, spoken exactly as Uppy's @uppy/aws-s3 speaks them
(`packages/@uppy/aws-s3` with `endpoint` pointing at omnidrop): create, sign (one part and in
batches), PUT to the signed URL, list parts (the resume path), complete, abort."""

import hashlib
import os
from urllib.parse import quote

import httpx
import pytest

from tests.support.server import read_blob

MiB = 1024 * 1024


class Uppy:
    """The plugin's requests: JSON bodies, the key and upload id URI-encoded as encodeURIComponent does."""

    def __init__(self, server) -> None:
        self.http = httpx.Client(base_url=server.url, headers={**server.headers(), "Accept": "application/json"},
                                 timeout=60)

    def create(self, filename: str, type_: str) -> dict:
        r = self.http.post("/s3/multipart", json={"filename": filename, "type": type_, "metadata": {"name": filename}})
        assert r.status_code == 200, r.text
        return r.json()

    def sign_part(self, upload_id: str, key: str, number: int) -> str:
        r = self.http.get(f"/s3/multipart/{quote(upload_id, safe='')}/{number}?key={quote(key, safe='')}")
        assert r.status_code == 200, r.text
        assert r.json()["expires"] > 0
        return r.json()["url"]

    def batch_sign(self, upload_id: str, key: str, numbers: list[int]) -> dict[str, str]:
        r = self.http.get(f"/s3/multipart/{quote(upload_id, safe='')}/batch",
                          params={"key": key, "partNumbers": ",".join(map(str, numbers))})
        assert r.status_code == 200, r.text
        return r.json()["presignedUrls"]

    def list_parts(self, upload_id: str, key: str) -> httpx.Response:
        return self.http.get(f"/s3/multipart/{quote(upload_id, safe='')}?key={quote(key, safe='')}")

    def complete(self, upload_id: str, key: str, parts: list[dict]) -> httpx.Response:
        return self.http.post(f"/s3/multipart/{quote(upload_id, safe='')}/complete?key={quote(key, safe='')}",
                              json={"parts": parts})

    def abort(self, upload_id: str, key: str) -> httpx.Response:
        return self.http.delete(f"/s3/multipart/{quote(upload_id, safe='')}?key={quote(key, safe='')}")


@pytest.fixture
def uppy(server):
    client = Uppy(server)
    yield client
    client.http.close()


def test_uppy_multipart_upload_with_a_resume(uppy, server):
    data = os.urandom(11 * MiB + 99)
    chunks = [data[:5 * MiB], data[5 * MiB : 10 * MiB], data[10 * MiB :]]
    created = uppy.create("My Walk (1).mp4", "video/mp4")
    key, upload_id = created["key"], created["uploadId"]
    assert key.endswith("My_Walk_1_.mp4") and created["bucket"]
    etags = {}
    url = uppy.sign_part(upload_id, key, 1)
    etags[1] = httpx.put(url, content=chunks[0]).headers["ETag"]
    # The page reloads: Uppy lists the parts already there and carries on from them.
    listed = uppy.list_parts(upload_id, key).json()
    assert listed == [{"PartNumber": 1, "ETag": etags[1], "Size": len(chunks[0])}]
    for n, url in uppy.batch_sign(upload_id, key, [2, 3]).items():
        put = httpx.put(url, content=chunks[int(n) - 1])
        assert put.status_code == 200
        etags[int(n)] = put.headers["ETag"]
    r = uppy.complete(upload_id, key, [{"PartNumber": n, "ETag": e} for n, e in sorted(etags.items())])
    assert r.status_code == 200, r.text
    assert r.json()["key"] == key and r.json()["bucket"] == created["bucket"]
    assert hashlib.sha256(read_blob(server, key)).digest() == hashlib.sha256(data).digest()


def test_uppy_abort_and_refusals(uppy, server):
    created = uppy.create("a.jpg", "image/jpeg")
    key, upload_id = created["key"], created["uploadId"]
    httpx.put(uppy.sign_part(upload_id, key, 1), content=b"abc")
    bad = uppy.complete(upload_id, key, [{"PartNumber": 1, "ETag": '"' + "0" * 32 + '"'}])
    assert bad.status_code == 400 and "ETag" in bad.json()["error"]
    assert uppy.list_parts(upload_id, "companion/other/key").status_code == 404
    assert uppy.abort(upload_id, key).json() == {}
    assert uppy.list_parts(upload_id, key).status_code == 404
    assert uppy.http.get(f"/s3/multipart/{upload_id}/1", params={"key": key}).status_code == 404
    r = httpx.post(f"{server.url}/s3/multipart", json={"filename": "a.jpg"})
    assert r.status_code == 401 and "error" in r.json()
    other = httpx.get(f"{server.url}/s3/multipart/{upload_id}", params={"key": key},
                      headers=server.headers(owner="mallory"))
    assert other.status_code == 404
