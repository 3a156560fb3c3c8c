"""Capture inputs made at test time: a bulk-images zip with real images among other files, and the
job run directly against a service (no worker), for the pipeline's unit tests."""

from __future__ import annotations

import io
import zipfile

from PIL import Image

from omnidrop.auth.keys import KeyService
from omnidrop.captures.service import CaptureService, NewCapture

IMAGE_SIZE = (96, 64)


def jpeg(colour: tuple[int, int, int], size: tuple[int, int] = IMAGE_SIZE, orientation: int | None = None) -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", size, colour)
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    image.save(out, "JPEG", quality=95, exif=exif.tobytes())
    return out.getvalue()


def png(colour: tuple[int, int, int, int], size: tuple[int, int] = IMAGE_SIZE) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", size, colour).save(out, "PNG")
    return out.getvalue()


# What a phone's export looks like: nested folders, natural-order names, clutter, a renamed text file.
IMAGE_ENTRIES = {
    "scan/img10.jpg": jpeg((200, 40, 40)),
    "scan/img2.jpg": jpeg((40, 200, 40), orientation=6),  # stored sideways: normalised upright (64x96)
    "scan/extra/img3.png": png((40, 40, 200, 255)),
    "scan/notes.txt": b"not an image",
    "scan/fake.jpg": b"just text named .jpg",
    "__MACOSX/scan/._img2.jpg": b"\x00\x05\x16\x07resource fork",
}
# Natural path order of the images, with their displayed sizes.
EXPECTED_FRAMES = [("scan/extra/img3.png", (96, 64)), ("scan/img2.jpg", (64, 96)), ("scan/img10.jpg", (96, 64))]


def images_zip(entries: dict[str, bytes] | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in (IMAGE_ENTRIES if entries is None else entries).items():
            zf.writestr(name, data)
    return out.getvalue()


async def uploaded_capture(captures: CaptureService, data: bytes, owner: str = "capture-tests", **new) -> str:
    """A capture whose single part is uploaded and completed (its job queued); returns the eid."""
    owner_id = await KeyService(captures.db).ensure_owner(owner)
    new.setdefault("input_data_format", "bulk-images")
    capture = await captures.create(owner_id, NewCapture(name="test", bytesize=len(data), **new))

    async def body():
        yield data

    part = await captures.parts.receive_part(capture.multipart_id, 1, body())
    await captures.uploaded(owner_id, capture.eid, [(1, part.etag)])
    return capture.eid
