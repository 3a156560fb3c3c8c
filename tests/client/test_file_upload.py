"""The chunked resume loop's decisions, against a scripted File Upload API."""

from __future__ import annotations


import httpx

from omnidrop.client.file_upload import FileStatus, FileUploadAPI
from omnidrop.client.files import LocalFile
from omnidrop.client.resume_loop import PROBE
from omnidrop.client.transport import RetryPolicy, Transport


class FakeServer:
    """Holds one file; can answer the next PUT with a canned error."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.data = bytearray()
        self.canned: list[httpx.Response] = []
        self.puts: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json=self.status())
        body = request.read()
        self.puts.append(request.headers.get("content-range", "whole"))
        if self.canned:
            return self.canned.pop(0)
        start = int(request.headers["content-range"].split()[1].split("-")[0]) if "content-range" in request.headers else 0
        if start > len(self.data):
            return httpx.Response(409, json={"error": "non_contiguous_chunk", "received": len(self.data)})
        self.data[start:start + len(body)] = body
        return httpx.Response(200, json=self.status())

    def status(self) -> dict:
        return {"received": len(self.data), "total": self.total, "complete": len(self.data) == self.total}


def api_for(server: FakeServer) -> FileUploadAPI:
    policy = RetryPolicy(sleep=lambda s: None)
    return FileUploadAPI(Transport("http://t", http_transport=httpx.MockTransport(server), retry=policy))


def test_resumes_from_the_servers_offset_and_resyncs_on_409(tmp_path):
    path = tmp_path / "a.e57"
    payload = bytes(range(256)) * 40  # 10240 bytes
    path.write_bytes(payload)
    server = FakeServer(len(payload))
    server.data[:3000] = payload[:3000]
    f = LocalFile.at(path)
    # The caller believes 5000 bytes are there: the server's 409 puts it right.
    done = api_for(server).upload_file("S", f, chunk_size=4096, known=FileStatus(5000, len(payload), False))
    assert done.complete and bytes(server.data) == payload
    assert server.puts[0] == "bytes 5000-9095/10240" and server.puts[1] == "bytes 3000-7095/10240"


def test_another_writer_and_a_5xx_are_waited_out_with_small_probes(tmp_path):
    path = tmp_path / "b.jpg"
    size = 2 * 1024 * 1024
    path.write_bytes(b"z" * size)
    server = FakeServer(size)
    server.canned = [httpx.Response(409, json={"error": "upload_in_progress", "received": 0}),
                     httpx.Response(500, text="oops")]
    done = api_for(server).upload_file("S", LocalFile.at(path), chunk_size=size, known=FileStatus(0, None, False))
    assert done.complete and bytes(server.data) == b"z" * size
    # Full chunk, refused as busy; then a probe (refused by the 500), a probe that lands, then the rest.
    assert server.puts == ["whole", f"bytes 0-{PROBE - 1}/{size}", f"bytes 0-{PROBE - 1}/{size}",
                           f"bytes {PROBE}-{size - 1}/{size}"]


def test_a_whole_file_goes_in_one_put_without_content_range(tmp_path):
    path = tmp_path / "c.jpg"
    path.write_bytes(b"abc")
    server = FakeServer(3)
    api_for(server).upload_file("S", LocalFile.at(path), known=FileStatus(0, None, False))
    assert server.puts == ["whole"]


def test_an_edit_during_the_upload_is_refused(tmp_path):
    import os

    import pytest

    from omnidrop.client.errors import LocalFileError

    path = tmp_path / "d.jpg"
    path.write_bytes(b"x" * 10)
    f = LocalFile.at(path)
    os.utime(path, ns=(f.mtime_ns + 10**9, f.mtime_ns + 10**9))
    with pytest.raises(LocalFileError, match="changed"):
        api_for(FakeServer(10)).upload_file("S", f)


def test_a_file_held_whole_but_never_marked_complete_is_finished_with_its_last_byte(tmp_path):
    """The server died between storing the last chunk and marking the file complete: the client
    cannot send an empty range, so it re-sends the final byte, which completes the file."""
    path = tmp_path / "e.e57"
    path.write_bytes(b"q" * 100)
    server = FakeServer(100)
    server.data[:] = b"q" * 100
    stuck = {"received": 100, "total": 100, "complete": False}
    done = api_for(server).upload_file("S", LocalFile.at(path), chunk_size=64, known=FileStatus(**stuck))
    assert done.complete and server.puts == ["bytes 99-99/100"]
