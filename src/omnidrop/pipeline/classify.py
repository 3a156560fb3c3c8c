"""Classify an uploaded file by its content; the file name's extension is only a hint.

Magic bytes and header parsing come first, then Pillow for images, then a PyAV probe for
video (restricted to real video demuxers, so a JPEG renamed .mp4 is not a video). Formats with
no magic at all (.splat, .pts, .obj, ...) need their extension AND content that fits it.
"""

from __future__ import annotations

import mimetypes
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import av
from av.sidedata.sidedata import Type as SideDataType
from PIL import Image, UnidentifiedImageError

from omnidrop.pipeline.archive import CONTAINER_SUFFIXES, is_archive
from omnidrop.pipeline.media import heif

HEAD_BYTES = 64 * 1024  # enough for PLY/PCD headers, STEP headers and image XMP


class Kind(StrEnum):
    IMAGE = "image"
    VIDEO_360 = "video_360"
    VIDEO = "video"
    POINT_CLOUD = "point_cloud"
    SPLAT = "splat"
    CAD_BIM = "cad_bim"
    ARCHIVE = "archive"
    OTHER = "other"


@dataclass(frozen=True)
class Classification:
    kind: Kind
    mime: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Sample:
    path: Path
    ext: str  # lower-case suffix of the original name, the hint
    head: bytes
    size: int


def classify(path: Path, name: str | None = None) -> Classification:
    """Classify path; name is the uploader's file name when the stored one differs."""
    path = Path(path)
    with open(path, "rb") as f:
        head = f.read(HEAD_BYTES)
        size = f.seek(0, 2)
    sample = _Sample(path, Path(name or path.name).suffix.lower(), head, size)
    for sniff in (_sniff_magic, _sniff_archive, _sniff_image, _sniff_video, _sniff_by_hint):
        if (found := sniff(sample)) is not None:
            return found
    text = b"\x00" not in head and _is_utf8(head)
    return Classification(Kind.OTHER, "text/plain" if text else "application/octet-stream")


# --- formats with a signature ---------------------------------------------------------------

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_REVIT_SUFFIXES = (".rvt", ".rfa", ".rte", ".rft")
_SPLAT_PLY = {"f_dc_0", "opacity", "scale_0", "rot_0"}
_SH_DEGREE = {0: 0, 9: 1, 24: 2, 45: 3}  # f_rest_* count -> spherical-harmonics degree


def _sniff_magic(s: _Sample) -> Classification | None:
    head = s.head
    if head.startswith(b"ASTM-E57"):
        major, minor = struct.unpack_from("<II", head, 8) if len(head) >= 16 else (None, None)
        return Classification(Kind.POINT_CLOUD, "application/x-e57", {"format": "e57", "version": f"{major}.{minor}"})
    if head.startswith(b"LASF"):
        return _las(head)
    if head.startswith((b"ply\n", b"ply\r\n")):
        return _ply(head)
    if _pcd_header(head):
        return _pcd(head)
    if head.startswith(b"glTF") and len(head) >= 8:
        return Classification(
            Kind.CAD_BIM, "model/gltf-binary", {"format": "glb", "version": struct.unpack_from("<I", head, 4)[0]}
        )
    if head.startswith(b"Kaydara FBX Binary  \x00") or head.startswith(b"; FBX"):
        return Classification(Kind.CAD_BIM, "application/x-fbx", {"format": "fbx"})
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"ISO-10303-21;"):
        return _step(head)
    if m := re.match(rb"AC10(\d\d)", head):
        return Classification(Kind.CAD_BIM, "image/vnd.dwg", {"format": "dwg", "version": "AC10" + m[1].decode()})
    if head.startswith(b"AutoCAD Binary DXF\r\n\x1a\x00") or re.match(rb"\s*0\s*\r?\n\s*SECTION\s*\r?\n", head):
        return Classification(Kind.CAD_BIM, "image/vnd.dxf", {"format": "dxf"})
    if head.startswith(_OLE) and s.ext in _REVIT_SUFFIXES:
        # OLE is also .doc/.xls/.msi: only the name can tell Revit apart without an OLE parser.
        return Classification(Kind.CAD_BIM, "application/x-revit", {"format": s.ext[1:]})
    if head.startswith(b"\x1f\x8b") and _gunzip_head(head, 4) == b"NGSP":
        return Classification(Kind.SPLAT, "application/x-spz", {"format": "spz"})
    if head.startswith(b"NGSP") and s.ext == ".spz":  # SPZ v4: a plain header, zstd-coded streams
        return Classification(Kind.SPLAT, "application/x-spz", {"format": "spz"})
    return None


def _las(head: bytes) -> Classification:
    details: dict[str, Any] = {"format": "las"}
    if len(head) >= 111:
        details["version"] = f"{head[24]}.{head[25]}"
        point_format = head[104]
        # LASzip marks compressed point data by setting the top bit of the point format.
        details["compressed"] = bool(point_format & 0x80)
        details["point_format"] = point_format & 0x3F
        points = struct.unpack_from("<I", head, 107)[0]
        if points == 0 and len(head) >= 255 and head[25] >= 4:
            points = struct.unpack_from("<Q", head, 247)[0]  # LAS 1.4 64-bit count
        details["points"] = points
    if details.get("compressed"):
        details["format"] = "laz"
        return Classification(Kind.POINT_CLOUD, "application/vnd.laszip", details)
    return Classification(Kind.POINT_CLOUD, "application/vnd.las", details)


def _ply(head: bytes) -> Classification:
    end = head.find(b"end_header")
    lines = head[: end if end >= 0 else len(head)].decode("ascii", "replace").splitlines()
    details: dict[str, Any] = {"format": "ply"}
    elements: dict[str, int] = {}
    props: dict[str, list[str]] = {}
    current = None
    for line in lines:
        words = line.split()
        if len(words) >= 2 and words[0] == "format":
            details["encoding"] = words[1]
        elif len(words) >= 3 and words[0] == "element":
            current = words[1]
            elements[current] = int(words[2]) if words[2].isdigit() else 0
            props[current] = []
        elif len(words) >= 3 and words[0] == "property" and current:
            props[current].append(words[-1])
    vertex_props = set(props.get("vertex", []))
    details["vertices"] = elements.get("vertex", 0)
    if _SPLAT_PLY <= vertex_props:
        rest = sum(p.startswith("f_rest_") for p in vertex_props)
        details["sh_degree"] = _SH_DEGREE.get(rest)
        return Classification(Kind.SPLAT, "application/x-ply", details)
    if elements.get("face"):
        # A PLY with faces is a mesh (photogrammetry output): a 3D model, not a point cloud.
        details["faces"] = elements["face"]
        return Classification(Kind.CAD_BIM, "application/x-ply", details)
    return Classification(Kind.POINT_CLOUD, "application/x-ply", details)


def _pcd_header(head: bytes) -> bool:
    start = head.lstrip()
    return (start.startswith(b"# .PCD") or start.startswith(b"VERSION")) and b"\nFIELDS" in head and b"\nDATA" in head


def _pcd(head: bytes) -> Classification:
    details: dict[str, Any] = {"format": "pcd"}
    for line in head.split(b"\n"):
        key, _, value = line.decode("ascii", "replace").strip().partition(" ")
        if key == "POINTS" and value.strip().isdigit():
            details["points"] = int(value)
        elif key == "FIELDS":
            details["fields"] = value.split()
        elif key == "DATA":
            details["encoding"] = value.strip()
            break
    return Classification(Kind.POINT_CLOUD, "application/x-pcd", details)


def _step(head: bytes) -> Classification:
    m = re.search(rb"FILE_SCHEMA\s*\(\s*\(\s*'([^']*)'", head)
    schema = m[1].decode("ascii", "replace") if m else None
    if schema and schema.upper().startswith("IFC"):
        return Classification(Kind.CAD_BIM, "application/x-step", {"format": "ifc", "schema": schema})
    return Classification(Kind.CAD_BIM, "model/step", {"format": "step", "schema": schema})


def _gunzip_head(head: bytes, n: int) -> bytes:
    try:
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, n)
    except zlib.error:
        return b""


# --- archives -----------------------------------------------------------------------------------

_ARCHIVE_MIME = (
    (b"PK", "application/zip"),
    (b"7z\xbc\xaf", "application/x-7z-compressed"),
    (b"Rar!", "application/vnd.rar"),
    (b"\x1f\x8b", "application/gzip"),
    (b"BZh", "application/x-bzip2"),
    (b"\xfd7zXZ", "application/x-xz"),
    (b"\x28\xb5\x2f\xfd", "application/zstd"),
)


def _sniff_archive(s: _Sample) -> Classification | None:
    if not is_archive(s.path):
        return None
    mime = next((m for magic, m in _ARCHIVE_MIME if s.head.startswith(magic)), "application/x-tar")
    if mime == "application/zip":
        if _is_sog(s.path):
            return Classification(Kind.SPLAT, "application/zip", {"format": "sog"})
        if s.ext == ".usdz":
            return Classification(Kind.CAD_BIM, "model/vnd.usdz+zip", {"format": "usdz"})
        if s.ext in CONTAINER_SUFFIXES:
            # A zip-based document (.docx, .kmz, ...) is one file to keep, not a folder to unpack.
            return Classification(Kind.OTHER, mimetypes.guess_type("x" + s.ext)[0] or mime, {"format": s.ext[1:]})
    return Classification(Kind.ARCHIVE, mime)


def _is_sog(path: Path) -> bool:
    # PlayCanvas SOG bundle: a zip of meta.json plus WebP textures (means_l.webp, ...).
    try:
        with zipfile.ZipFile(path) as zf:
            names = {n.rsplit("/", 1)[-1] for n in zf.namelist()}
    except (zipfile.BadZipFile, OSError):
        return False
    return "meta.json" in names and "means_l.webp" in names


# --- images -------------------------------------------------------------------------------------

# Photo formats only: Pillow's other plugins include EPS (runs Ghostscript) and weakly-sniffed
# formats (TGA, PCD) that would claim arbitrary bytes.
IMAGE_FORMATS = ("JPEG", "PNG", "TIFF", "WEBP", "AVIF", "GIF", "BMP", heif.FORMAT)
_MIME_OF_FORMAT = {"MPO": "image/jpeg"}  # camera JPEGs with a multi-picture extension
_HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis"}  # HEVC-coded HEIF: image/heic rather than image/heif
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
_GPANO = re.compile(rb"GPano:ProjectionType\s*(?:=\s*[\"']|>)\s*([A-Za-z_]+)")
_IMAGE_MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG", "image/png"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
)


def _sniff_image(s: _Sample) -> Classification | None:
    try:
        with Image.open(s.path, formats=pillow_formats()) as im:
            found = _image(im)
            if im.format == heif.FORMAT:  # named as the phone does: HEVC-coded HEIF is "heic"
                heic = s.head[8:12] in _HEIC_BRANDS
                found.details["format"] = "heic" if heic else "heif"
                return Classification(Kind.IMAGE, "image/heic" if heic else "image/heif", found.details)
            return found
    except Image.DecompressionBombError:
        # Beyond Pillow's pixel limit: still an image, but nothing here will decode it.
        mime = next((m for magic, m in _IMAGE_MAGIC if s.head.startswith(magic)), "application/octet-stream")
        return Classification(Kind.IMAGE, mime, {"too_large": True})
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        pass
    if s.head[4:8] == b"ftyp" and s.head[8:12] in _HEIF_BRANDS:
        # Not decodable here (pillow-heif missing, or a damaged file); the brand is enough to know the kind.
        return Classification(Kind.IMAGE, "image/heic", {"format": "heic", "decodable": False})
    return None


def pillow_formats() -> tuple[str, ...]:
    """IMAGE_FORMATS this Pillow build has (Image.open raises KeyError on an unknown one), HEIF included
    when pillow-heif is installed."""
    Image.init()
    heif.register()
    return tuple(f for f in IMAGE_FORMATS if f in Image.OPEN)


def _image(im: Image.Image) -> Classification:
    width, height = im.size
    orientation = im.getexif().get(0x0112, 1)
    if orientation in (5, 6, 7, 8):  # stored rotated by 90 degrees: report what a viewer shows
        width, height = height, width
    details: dict[str, Any] = {"format": im.format.lower(), "width": width, "height": height}
    projection = _gpano_projection(im)
    if projection:
        details["projection"] = projection
        details["equirectangular"] = projection == "equirectangular"
    else:
        # No metadata: a 2:1 frame is the usual sign of a stitched 360 photo.
        details["equirectangular"] = height > 0 and abs(width - 2 * height) <= max(2, width // 100)
    mime = _MIME_OF_FORMAT.get(im.format) or im.get_format_mimetype() or "application/octet-stream"
    return Classification(Kind.IMAGE, mime, details)


def _gpano_projection(im: Image.Image) -> str | None:
    xmp = im.info.get("xmp") or im.info.get("XML:com.adobe.xmp")
    if xmp is None and hasattr(im, "tag_v2"):
        xmp = im.tag_v2.get(700)  # TIFF XMP tag
    if isinstance(xmp, str):
        xmp = xmp.encode()
    m = _GPANO.search(xmp) if isinstance(xmp, bytes) else None
    return m[1].decode().lower() if m else None


# --- video --------------------------------------------------------------------------------------

# Only real video demuxers: without this list FFmpeg opens a JPEG as a one-frame "video".
_DEMUXERS = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,asf,flv,mpegts"
_INSTA360_TRAILER = b"8db42d694ccc418790edff439fe026bf"
_PROJECTIONS = {
    0: "equirectangular",
    1: "cubemap",
    2: "equirectangular_tile",
    3: "half_equirectangular",
    4: "rectilinear",
    5: "fisheye",
    6: "parametric_immersive",
}
_STEREO = {0: "mono", 1: "left-right", 2: "top-bottom", 3: "frame-sequence"}
_MAX_PACKETS_TO_FIRST_FRAME = 64


def _sniff_video(s: _Sample) -> Classification | None:
    try:
        container = av.open(
            str(s.path), options={"format_whitelist": _DEMUXERS, "protocol_whitelist": "file"}, timeout=10.0
        )
    except (av.FFmpegError, OSError):
        return None
    with container:
        streams = [v for v in container.streams.video if not v.disposition & av.stream.Disposition.attached_pic]
        if not streams:
            return None
        stream = streams[0]
        details: dict[str, Any] = {
            "container": container.format.name,
            "codec": stream.codec_context.name,
            "width": stream.codec_context.width,
            "height": stream.codec_context.height,
            "duration": _duration(container, stream),
            "fps": float(stream.average_rate) if stream.average_rate else None,
        }
        details.update(_spherical(container, stream))
    mime = _video_mime(details["container"], s.head)
    insta360 = s.ext == ".insv" or _has_insta360_trailer(s.path, s.size)
    if insta360:
        details["insta360"] = True
    spherical = details.get("projection") not in (None, "rectilinear")
    return Classification(Kind.VIDEO_360 if spherical or insta360 else Kind.VIDEO, mime, details)


def _duration(container, stream) -> float | None:
    if container.duration is not None:
        return container.duration / av.time_base
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    return None


def _spherical(container, stream) -> dict[str, Any]:
    """Projection and stereo layout from the first frame's side data.

    FFmpeg turns Google's Spherical Video V1 (uuid XML) and V2 (sv3d/st3d) boxes and the
    Matroska Projection element into SPHERICAL / STEREO3D side data; PyAV 18 shows it only
    on decoded frames, so decode one.
    """
    frame = None
    try:
        for n, packet in enumerate(container.demux(stream)):
            frames = packet.decode()
            if frames:
                frame = frames[0]
                break
            if n >= _MAX_PACKETS_TO_FIRST_FRAME:
                break
    except av.FFmpegError:
        return {"decodable": False}
    if frame is None:
        return {"decodable": False}
    found: dict[str, Any] = {}
    for side_data in frame.side_data:
        raw = bytes(side_data)
        if side_data.type == SideDataType.SPHERICAL and len(raw) >= 4:
            code = struct.unpack_from("=i", raw)[0]
            found["projection"] = _PROJECTIONS.get(code, f"type {code}")
        elif side_data.type == SideDataType.STEREO3D and len(raw) >= 4:
            code = struct.unpack_from("=i", raw)[0]
            found["stereo"] = _STEREO.get(code, f"type {code}")
    return found


def _video_mime(demuxer: str, head: bytes) -> str:
    if demuxer.startswith("mov"):
        return "video/quicktime" if head[8:12] == b"qt  " else "video/mp4"
    if demuxer.startswith("matroska"):
        return "video/webm" if b"webm" in head[:64] else "video/x-matroska"
    return {"avi": "video/x-msvideo", "asf": "video/x-ms-asf", "flv": "video/x-flv", "mpegts": "video/mp2t"}.get(
        demuxer, "application/octet-stream"
    )


def _has_insta360_trailer(path: Path, size: int) -> bool:
    if size < len(_INSTA360_TRAILER):
        return False
    with open(path, "rb") as f:
        f.seek(size - len(_INSTA360_TRAILER))
        return f.read() == _INSTA360_TRAILER


# --- formats without a signature: extension plus plausible content --------------------------------

_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
_OBJ_KEYWORDS = {b"v", b"vt", b"vn", b"f", b"o", b"g", b"s", b"l", b"usemtl", b"mtllib"}


def _sniff_by_hint(s: _Sample) -> Classification | None:
    if s.ext == ".splat" and s.size and s.size % 32 == 0:
        # antimatter15 layout: 32 bytes per splat (position, scale, RGBA, rotation).
        return Classification(Kind.SPLAT, "application/octet-stream", {"format": "splat", "splats": s.size // 32})
    if s.ext == ".ksplat" and s.size > 4096:
        return Classification(Kind.SPLAT, "application/octet-stream", {"format": "ksplat"})
    if s.ext == ".stl" and (found := _stl(s)) is not None:
        return found
    if s.ext == ".3ds" and s.head[:2] == b"MM" and s.size >= 6 and struct.unpack_from("<I", s.head, 2)[0] == s.size:
        return Classification(Kind.CAD_BIM, "application/x-3ds", {"format": "3ds"})  # main chunk spans the file
    if s.ext == ".dae" and b"<COLLADA" in s.head:
        return Classification(Kind.CAD_BIM, "model/vnd.collada+xml", {"format": "dae"})
    if s.ext == ".gltf" and s.head.lstrip().startswith(b"{"):
        return Classification(Kind.CAD_BIM, "model/gltf+json", {"format": "gltf"})
    if not _is_utf8(s.head):
        return None
    if s.ext == ".obj" and _looks_like_obj(s.head):
        return Classification(Kind.CAD_BIM, "model/obj", {"format": "obj"})
    if s.ext in (".pts", ".xyz", ".asc") and (columns := _numeric_columns(s.head)):
        return Classification(Kind.POINT_CLOUD, "text/plain", {"format": s.ext[1:], "columns": columns})
    return None


def _stl(s: _Sample) -> Classification | None:
    if s.head.lstrip().startswith(b"solid") and b"facet" in s.head and _is_utf8(s.head):
        return Classification(Kind.CAD_BIM, "model/stl", {"format": "stl", "encoding": "ascii"})
    # Binary: an 80-byte header, a triangle count, 50 bytes per triangle (the header may say "solid" too).
    # A size that does not fit the count is still an STL by its name, a damaged one: conversion says so.
    if s.size >= 84 and (count := struct.unpack_from("<I", s.head, 80)[0]):
        details = {"format": "stl", "encoding": "binary", "faces": count}
        if s.size != 84 + 50 * count:
            details["damaged"] = True
        return Classification(Kind.CAD_BIM, "model/stl", details)
    return None


def _looks_like_obj(head: bytes) -> bool:
    lines = [ln.split(maxsplit=1) for ln in head.splitlines() if ln.strip() and not ln.lstrip().startswith(b"#")]
    return bool(lines) and all(w[0] in _OBJ_KEYWORDS for w in lines[:50]) and any(w[0] == b"v" for w in lines)


def _numeric_columns(head: bytes) -> int | None:
    """Column count if the text is rows of numbers (a .pts may open with a point count)."""
    lines = [ln for ln in head.decode("utf-8", "ignore").splitlines() if ln.strip()]
    rows = lines[:-1] if len(lines) > 1 else lines  # the head may cut the last row short
    if rows and len(rows[0].split()) == 1 and rows[0].strip().isdigit():
        rows = rows[1:]
    rows = rows[:50]
    widths = set()
    for row in rows:
        cells = row.replace(",", " ").split()
        if len(cells) < 3 or not all(_NUMBER.match(c) for c in cells):
            return None
        widths.add(len(cells))
    return widths.pop() if len(widths) == 1 else None


def _is_utf8(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(head) - 3  # the head may end inside a multi-byte character
    return True
