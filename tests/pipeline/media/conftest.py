"""Real media made at test time with PyAV (no committed binaries), small and quick to encode."""

from __future__ import annotations

import struct
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import pytest
from PIL import Image

SIZE = (320, 240)
RATE = 30
SECONDS = 2
BARS = [(200, 50, 50), (50, 200, 50), (50, 50, 200), (230, 200, 40)]
SAMPLE_ENTRY = [b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stsd", b"avc1"]

# container -> (file suffix, muxer or None to guess from the suffix, encoder)
CONTAINERS = {
    "mp4": (".mp4", None, "libx264"),
    "mov": (".mov", None, "libx264"),
    "avi": (".avi", None, "mpeg4"),
    "asf": (".wmv", "asf", "wmv2"),
    "flv": (".flv", None, "flv"),
    "webm": (".webm", None, "libvpx"),
    "matroska": (".mkv", None, "libx265"),
}
CODECS = {"mp4": "h264", "mov": "h264", "avi": "mpeg4", "asf": "wmv2", "flv": "flv1", "webm": "vp8", "matroska": "hevc"}


def index_image(i: int, size: tuple[int, int] = (64, 64)) -> Image.Image:
    """Frame i shows i % 16 on its left half and i // 16 on its right half, as grey levels."""
    w, h = size
    image = Image.new("RGB", size, ((i % 16) * 16,) * 3)
    image.paste(((i // 16) * 16,) * 3, (w // 2, 0, w, h))
    return image


def read_index(image: Image.Image) -> int:
    grey = image.convert("L")
    w, h = grey.size
    return round(grey.getpixel((w // 4, h // 2)) / 16) + 16 * round(grey.getpixel((3 * w // 4, h // 2)) / 16)


def bars_image(size: tuple[int, int]) -> Image.Image:
    image = Image.new("RGB", size)
    step = size[0] // len(BARS)
    for k, colour in enumerate(BARS):
        image.paste(colour, (k * step, 0, (k + 1) * step, size[1]))
    return image


def write_video(
    path: Path,
    *,
    encoder: str = "libx264",
    muxer: str | None = None,
    size: tuple[int, int] = SIZE,
    rate: int | Fraction = RATE,
    frames: int = RATE * SECONDS,
    image: Callable[[int], Image.Image] | None = None,
    matrix: str | None = None,
    tag_bt709: bool = False,
    rotation: int | None = None,
    metadata: dict[str, str] | None = None,
    container_metadata: dict[str, str] | None = None,
    options: dict[str, str] | None = None,
    audio: bool = False,
    b_frames: int | None = None,
    x265_params: str = "",
) -> Path:
    """Encode ``frames`` pictures; ``matrix`` picks the RGB->YUV matrix (ITU709 / ITU601)."""
    with av.open(str(path), "w", format=muxer, options=options or {}) as out:
        out.metadata.update(container_metadata or {})  # e.g. {"location": "+53.3498-006.2603/"} (MP4 ©xyz)
        stream = out.add_stream(encoder, rate=rate)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        if b_frames is not None:
            stream.codec_context.max_b_frames = b_frames
        if encoder == "libx265":
            stream.options = {"x265-params": ":".join(filter(None, ["log-level=error", x265_params]))}
        elif encoder == "libvpx":
            stream.options = {"deadline": "realtime", "cpu-used": "16", "lag-in-frames": "0"}  # default is slow
        if tag_bt709:
            ctx = stream.codec_context
            ctx.colorspace = ctx.color_primaries = ctx.color_trc = 1  # BT.709
            ctx.color_range = 1  # limited ("tv")
        if rotation is not None:
            stream.set_display_rotation(rotation)
        stream.metadata.update(metadata or {})
        sound = out.add_stream("aac", rate=48000, layout="stereo") if audio else None
        for i in range(frames):
            picture = (image or (lambda k: Image.new("RGB", size, (40 + k % 180, 90, 140))))(i)
            frame = av.VideoFrame.from_image(picture)
            if matrix:
                frame = frame.reformat(format="yuv420p", dst_colorspace=matrix, dst_color_range="MPEG")
                frame.pts = None
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
        if sound is not None:
            _write_silence(out, sound, seconds=frames / float(rate))
    return path


def write_audio_only(path: Path) -> Path:
    with av.open(str(path), "w") as out:
        _write_silence(out, out.add_stream("aac", rate=48000, layout="stereo"), seconds=1.0)
    return path


def _write_silence(out, stream, seconds: float) -> None:
    samples = 1024
    for k in range(int(seconds * 48000 / samples)):
        frame = av.AudioFrame(format="fltp", layout="stereo", samples=samples)
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        frame.sample_rate = 48000
        frame.pts = k * samples
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)


# --- ISO-BMFF editing, to write metadata the muxer has no option for ------------------------


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def full_box(kind: bytes, payload: bytes) -> bytes:
    return box(kind, b"\0\0\0\0" + payload)


def _top_level(data: bytes) -> list[bytes]:
    kinds, pos = [], 0
    while pos < len(data):
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        kinds.append(kind)
        pos += size
    return kinds


def insert_into_box(path: Path, chain: list[bytes], payload: bytes) -> Path:
    """Append ``payload`` inside the box reached by ``chain`` and grow every ancestor.

    Only valid while moov follows mdat (PyAV's default layout), so no chunk offset moves.
    ``stsd`` leads into its first sample entry, which is the next name in the chain.
    """
    data = bytearray(path.read_bytes())
    top = _top_level(data)
    if top.index(b"moov") < top.index(b"mdat"):
        raise ValueError("moov must follow mdat")
    starts: list[int] = []
    pos, end = 0, len(data)
    for depth, kind in enumerate(chain):
        while True:
            if pos >= end:
                raise KeyError(f"{kind!r} not found")
            size, found = struct.unpack(">I4s", data[pos : pos + 8])
            if found == kind:
                break
            pos += size
        starts.append(pos)
        end = pos + size
        if kind == b"stsd":
            pos += 16  # FullBox header + entry_count
        elif depth and chain[depth - 1] == b"stsd":
            pos += 8 + 78  # VisualSampleEntry fields come before its child boxes
        else:
            pos += 8
    data[end:end] = payload
    for start in starts:
        (size,) = struct.unpack(">I", data[start : start + 4])
        data[start : start + 4] = struct.pack(">I", size + len(payload))
    path.write_bytes(bytes(data))
    return path


def v2_boxes(
    projection: bytes = b"equi", stereo: int | None = None, yaw: int = 0, bounds: tuple[int, ...] = (0, 0, 0, 0)
) -> bytes:
    """st3d + sv3d as the Spherical Video V2 RFC lays them out (yaw in whole degrees,
    equirectangular bounds top/bottom/left/right in 0.32 fixed point)."""
    if projection == b"equi":
        mapping = full_box(b"equi", struct.pack(">4I", *bounds))
    elif projection == b"cbmp":
        mapping = full_box(b"cbmp", struct.pack(">2I", 0, 0))
    else:
        raise ValueError(projection)
    pose = full_box(b"prhd", struct.pack(">3i", yaw << 16, 0, 0))
    sv3d = box(b"sv3d", full_box(b"svhd", b"omnidrop-tests\0") + box(b"proj", pose + mapping))
    return (full_box(b"st3d", bytes([stereo])) if stereo is not None else b"") + sv3d


V1_XML = (
    '<?xml version="1.0"?><rdf:SphericalVideo xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
    'xmlns:GSpherical="http://ns.google.com/videos/1.0/spherical/">'
    "<GSpherical:Spherical>true</GSpherical:Spherical><GSpherical:Stitched>true</GSpherical:Stitched>"
    "<GSpherical:StitchingSoftware>OmniStitch 2</GSpherical:StitchingSoftware>"
    "<GSpherical:ProjectionType>equirectangular</GSpherical:ProjectionType>"
    "<GSpherical:StereoMode>top-bottom</GSpherical:StereoMode>"
    "<GSpherical:InitialViewHeadingDegrees>45</GSpherical:InitialViewHeadingDegrees>"
    "</rdf:SphericalVideo>"
)


def v1_box(xml: str = V1_XML) -> bytes:
    return box(b"uuid", bytes.fromhex("ffcc8263f8554a938814587a02521fdd") + xml.encode())


def vexu_box(projection: bytes, packing: bytes | None) -> bytes:
    eyes = box(b"eyes", full_box(b"stri", bytes([0x03])))
    proj = box(b"proj", full_box(b"prji", projection))
    pack = box(b"pack", full_box(b"pkin", packing)) if packing else b""
    return box(b"vexu", eyes + proj + pack)


# --- fixtures ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def clips(media_dir) -> dict[str, Path]:
    """A 2 s, 30 fps, 320x240 clip in every accepted container."""
    made = {}
    for name, (suffix, muxer, encoder) in CONTAINERS.items():
        made[name] = write_video(media_dir / f"clip{suffix}", encoder=encoder, muxer=muxer)
    return made


@pytest.fixture(scope="session")
def mp4_clip(clips) -> Path:
    return clips["mp4"]


@pytest.fixture(scope="session")
def bars_clip(media_dir) -> Path:
    """Colour bars encoded with the BT.709 matrix and tagged as such (what HD cameras write)."""
    return write_video(media_dir / "bars709.mp4", frames=10, image=lambda i: bars_image(SIZE), matrix="ITU709",
                       tag_bt709=True)  # fmt: skip


@pytest.fixture(scope="session")
def rotated_clip(media_dir) -> Path:
    """Coded landscape 320x240 with a red top-left quadrant; the display matrix turns it 90°."""

    def marked(i: int) -> Image.Image:
        image = Image.new("RGB", SIZE, (0, 0, 255))
        image.paste((255, 0, 0), (0, 0, SIZE[0] // 2, SIZE[1] // 2))
        return image

    return write_video(media_dir / "rotated.mp4", frames=10, image=marked, rotation=90)


@pytest.fixture(scope="session")
def make_video(media_dir) -> Callable[..., Path]:
    """Factory for one-off clips: make_video("name.mp4", **write_video kwargs)."""

    def make(name: str, **kwargs) -> Path:
        return write_video(media_dir / name, **kwargs)

    return make
