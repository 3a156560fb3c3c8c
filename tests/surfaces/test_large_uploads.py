"""Files above 5 GiB through the captures workflow and the direct upload's four steps, on the local
store, with plain PUTs to the returned URLs. They run once, on SQLite: the database side is the same as
for small files. Parts are generated on the fly; nothing holds a whole file in memory."""

import httpx
import pytest

MiB = 1024 * 1024
SIZE = 5 * 1024 * MiB + 3 * MiB + 17  # above S3's 5 GiB single-PUT limit
BLOCK = bytes(range(256)) * (64 * 1024)  # 16 MiB


def part_bytes(index: int, length: int) -> bytes:
    """Part `index` (0-based): its number in the first 8 bytes, so every part differs."""
    return index.to_bytes(8, "big") + BLOCK[8:length] if length >= 8 else BLOCK[:length]


def check_stored(path, part_size: int, count: int) -> None:
    assert path.stat().st_size == SIZE
    with open(path, "rb") as f:
        for i in (0, 1, count // 2, count - 2, count - 1):
            f.seek(i * part_size)
            length = min(part_size, SIZE - i * part_size)
            assert f.read(length) == part_bytes(i, length), f"part {i + 1} differs"
    path.unlink()  # 5 GiB is worth giving back at once


@pytest.fixture(scope="module")
def big_server(servers, databases, tmp_path_factory):
    server = servers.start(database_url=databases("sqlite"), data_dir=tmp_path_factory.mktemp("large"), fsync=False)
    yield server
    server.stop()


def test_a_capture_above_5_gib(big_server):
    server = big_server
    with httpx.Client(base_url=server.url, headers=server.headers("captures"), timeout=300) as c, \
            httpx.Client(timeout=300) as plain:
        created = c.post("/api/v1/captures", json={"name": "big", "bytesize": SIZE, "input_data_format": "video"})
        eid, chunk, n = created.json()["eid"], created.json()["chunk_size"], created.json()["num_parts"]
        assert chunk * (n - 1) < SIZE <= chunk * n
        parts = []
        for i in range(n):
            url = c.post(f"/api/v1/captures/{eid}/create-upload-url/{i + 1}",
                         json={"eid": eid, "bytesize": SIZE}).json()["upload_url"]
            r = plain.put(url, content=part_bytes(i, min(chunk, SIZE - i * chunk)))
            assert r.status_code == 200, r.text
            parts.append({"number": i + 1, "etag": r.headers["ETag"]})
        done = c.post(f"/api/v1/captures/{eid}/uploaded", json={"eid": eid, "parts": parts})
        assert done.status_code == 200, done.text
        assert done.json()["state"] == "UPLOADED"
    check_stored(server.data_dir / "blobs" / "captures" / eid / "input.mp4", chunk, n)


def test_a_direct_video_upload_above_5_gib(big_server):
    server = big_server
    base = "/api/videos/uploads"
    with httpx.Client(base_url=server.url, headers={"X-SPATIALGEN-APPKEY": server.key("videos:upload")},
                      timeout=300) as c, httpx.Client(timeout=300) as plain:
        r = c.post(base, json={"layout": "MVHEVC", "files": [{"role": "video", "filename": "big.mov", "size": SIZE}]})
        sid, f = r.json()["uploadSessionId"], r.json()["files"][0]
        size, count = f["partSize"], f["partCount"]
        parts = []
        for first in range(1, count + 1, 100):  # part URLs in batches of 100
            numbers = list(range(first, min(first + 100, count + 1)))
            urls = c.post(f"{base}/{sid}/files/{f['uploadId']}/part-urls", json={"partNumbers": numbers}).json()
            for p in urls["parts"]:
                i = p["partNumber"] - 1
                put = plain.put(p["url"], content=part_bytes(i, min(size, SIZE - i * size)))
                assert put.status_code == 200, put.text
                parts.append({"partNumber": i + 1, "etag": put.headers["ETag"]})
        done = c.post(f"{base}/{sid}/files/{f['uploadId']}/complete", json={"parts": parts})
        assert done.status_code == 200, done.text
        assert done.json()["uploadSession"]["status"] == "completed"
    check_stored(server.data_dir / "blobs" / "videos" / sid / f"{f['uploadId']}.mov", size, count)
