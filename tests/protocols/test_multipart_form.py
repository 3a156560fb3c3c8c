"""multipart/form-data parsed as a stream: parts in order, file bytes as they arrive, bad bodies refused."""

import asyncio

import pytest

from omnidrop.protocols.multipart_form import FormError, FormStream, boundary_of

BOUNDARY = "----omnidrop-test"
CT = f"multipart/form-data; boundary={BOUNDARY}"


def body(*parts: tuple[str, str | None, bytes]) -> bytes:
    out = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
        out += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n".encode()
        if filename is not None:
            out += b"Content-Type: video/mp4\r\n"
        out += b"\r\n" + data + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


async def chunked(data: bytes, size: int):
    for i in range(0, len(data), size):
        yield data[i : i + size]


def collect(data: bytes, size: int, read_files: bool = True) -> list:
    async def run():
        form = FormStream(chunked(data, size), CT)
        got = []
        async for part in form.parts():
            if part.filename is None:
                got.append((part.name, await part.text()))
            elif read_files:
                chunks = [c async for c in part.chunks()]
                got.append((part.name, part.filename, part.content_type, b"".join(chunks), max(map(len, chunks))))
            else:
                got.append((part.name, part.filename))
        return got

    return asyncio.run(run())


@pytest.mark.parametrize("size", [1, 7, 4096])
def test_fields_and_file_in_order_whatever_the_chunking(size):
    video = bytes(range(256)) * 40
    got = collect(body(("side", None, b"OUTSIDE"), ("video", "a b.mp4", video), ("vehicle_uuid", None, b"x")), size)
    assert got[0] == ("side", "OUTSIDE") and got[2] == ("vehicle_uuid", "x")
    name, filename, content_type, data, largest = got[1]
    assert (name, filename, content_type, data) == ("video", "a b.mp4", "video/mp4", video)
    assert largest <= size  # bytes are handed on as they arrive, never gathered


def test_unread_parts_are_skipped():
    got = collect(body(("video", "v.mp4", b"x" * 5000), ("side", None, b"INSIDE")), 100, read_files=False)
    assert got == [("video", "v.mp4"), ("side", "INSIDE")]


def test_truncated_body_and_wrong_content_type_are_refused():
    with pytest.raises(FormError):
        collect(body(("video", "v.mp4", b"x" * 5000))[:3000], 512)
    with pytest.raises(FormError):
        boundary_of("application/json")
    with pytest.raises(FormError):
        boundary_of("multipart/form-data")
