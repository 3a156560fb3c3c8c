"""Spherical / stereo metadata of a video: projection and eye layout.

Sources, strongest first:
- Google Spherical Video V2 boxes in the MP4/MOV sample entry (``sv3d`` + ``st3d``),
- Apple's Video Extended Usage box (``vexu``: ``prji`` projection, ``stri``/``pkin`` eyes),
- Google Spherical Video V1 (RDF/XML in a ``uuid`` box of the track),
- FFmpeg's per-frame SPHERICAL / STEREO3D side data (the only path for Matroska/WebM).

The box tree is walked with bounded reads (headers, and payloads of the few small boxes we
parse), so a multi-gigabyte upload costs a handful of seeks.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

V1_UUID = bytes.fromhex("ffcc8263f8554a938814587a02521fdd")

# Boxes whose children we visit on the way to the video sample entry.
_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"sv3d", b"proj", b"vexu", b"eyes", b"pack"}
# VisualSampleEntry fields before its child boxes (ISO/IEC 14496-12 §12.1.3).
_VISUAL_ENTRY_HEADER = 78
_MAX_PAYLOAD = 1 << 20  # the V1 XML is a few KiB; anything larger is not metadata we trust
_MAX_BOXES = 20_000
# Box types an MP4/MOV may start with (QuickTime files can open with wide/mdat/moov, no ftyp).
_FIRST_BOXES = {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"uuid"}

# FFmpeg enum AVSphericalProjection / AVStereo3DType (libavutil/spherical.h, stereo3d.h).
_AV_PROJECTIONS = {
    0: "equirectangular",
    1: "cubemap",
    2: "equirectangular",  # tiled equirectangular: same mapping, cropped
    3: "half_equirectangular",
    4: "rectilinear",
    5: "fisheye",
    6: "parametric_immersive",
}
_AV_STEREO = {0: "mono", 1: "left-right", 2: "top-bottom"}
_AV_STEREO_FLAG_INVERT = 1

_V2_STEREO = {0: "mono", 1: "top-bottom", 2: "left-right", 3: "custom", 4: "right-left"}
_V2_PROJECTIONS = {b"equi": "equirectangular", b"cbmp": "cubemap", b"mshp": "mesh"}
_APPLE_PROJECTIONS = {
    b"rect": "rectilinear",
    b"equi": "equirectangular",
    b"hequ": "half_equirectangular",
    b"fish": "fisheye",
    b"prim": "parametric_immersive",
}
_V1_STEREO = {"mono": "mono", "top-bottom": "top-bottom", "left-right": "left-right"}


@dataclass(frozen=True)
class SphericalInfo:
    """How the picture maps onto the viewer: projection, eye layout, initial pose."""

    projection: str  # equirectangular, half_equirectangular, cubemap, mesh, fisheye, rectilinear, ...
    stereo: str = "mono"  # mono, top-bottom, left-right, right-left, multiview, custom
    source: str = "spherical-v2"  # spherical-v2, apple-vexu, spherical-v1, side-data
    yaw: float = 0.0  # degrees
    pitch: float = 0.0
    roll: float = 0.0
    # Equirectangular crop as fractions of the frame cut from (top, bottom, left, right).
    crop: tuple[float, float, float, float] | None = None
    stitching_software: str | None = None

    @property
    def is_spherical(self) -> bool:
        return self.projection != "rectilinear"


class BoxError(ValueError):
    """A box header that is malformed or runs past its parent (or the end of the file)."""

    def __init__(self, message: str, kind: bytes | None = None) -> None:
        super().__init__(message)
        self.kind = kind  # the offending box type, when the header was readable


@dataclass(frozen=True)
class Box:
    type: bytes
    start: int
    payload: int  # offset of the first byte after the header
    end: int
    uuid: bytes | None = None


def looks_like_bmff(head: bytes) -> bool:
    """True when the first bytes of a file start an ISO-BMFF (MP4/MOV) box tree."""
    return len(head) >= 8 and head[4:8] in _FIRST_BOXES


def iter_boxes(f: BinaryIO, start: int, end: int) -> Iterator[Box]:
    """Yield the boxes laid out back to back in ``[start, end)``; raise BoxError on a bad one."""
    pos = start
    while pos + 8 <= end:
        f.seek(pos)
        head = f.read(8)
        if len(head) < 8:
            raise BoxError(f"box header at {pos} is cut off")
        size, kind = struct.unpack(">I4s", head)
        header = 8
        if size == 1:
            large = f.read(8)
            if len(large) < 8:
                raise BoxError(f"64-bit box size at {pos} is cut off", kind)
            (size,) = struct.unpack(">Q", large)
            header = 16
        elif size == 0:  # "extends to the end of the enclosing space"
            size = end - pos
        uuid = None
        if kind == b"uuid":
            uuid = f.read(16)
            header += 16
        if size < header or pos + size > end:
            name = kind.decode("latin-1")
            raise BoxError(f"box {name!r} at {pos} declares {size} bytes, {end - pos} available", kind)
        yield Box(kind, pos, pos + header, pos + size, uuid)
        pos += size


def _read(f: BinaryIO, box: Box) -> bytes:
    length = box.end - box.payload
    if length > _MAX_PAYLOAD:
        raise BoxError(f"box {box.type!r} is implausibly large ({length} bytes)")
    f.seek(box.payload)
    return f.read(length)


def _fixed_16_16(value: int) -> float:
    return value / 65536.0


@dataclass
class _Collected:
    """What the walk found in the video tracks; merged into SphericalInfo afterwards."""

    v2_projection: str | None = None
    v2_stereo: str | None = None
    pose: tuple[float, float, float] = (0.0, 0.0, 0.0)
    crop: tuple[float, float, float, float] | None = None
    apple_projection: str | None = None
    apple_eyes: int = 0  # stri bits: 1 left, 2 right
    apple_packing: bytes | None = None
    v1_xml: str | None = None


def _walk(f: BinaryIO, start: int, end: int, found: _Collected, budget: list[int]) -> None:
    for box in iter_boxes(f, start, end):
        budget[0] -= 1
        if budget[0] < 0:
            raise BoxError("too many boxes")
        kind = box.type
        if kind == b"trak" and not _is_video_track(f, box):
            continue
        if kind in _CONTAINERS:
            _walk(f, box.payload, box.end, found, budget)
        elif kind == b"stsd":
            # FullBox header (4) + entry_count (4), then the sample entries.
            _walk_sample_entries(f, box.payload + 8, box.end, found, budget)
        elif kind == b"uuid" and box.uuid == V1_UUID:
            found.v1_xml = _read(f, box).decode("utf-8", "replace")
        else:
            _parse_leaf(f, box, found)


def _walk_sample_entries(f: BinaryIO, start: int, end: int, found: _Collected, budget: list[int]) -> None:
    for entry in iter_boxes(f, start, end):
        children = entry.payload + _VISUAL_ENTRY_HEADER
        if children < entry.end:
            _walk(f, children, entry.end, found, budget)
        return  # the first sample entry describes the track


def _is_video_track(f: BinaryIO, trak: Box) -> bool:
    for box in iter_boxes(f, trak.payload, trak.end):
        if box.type == b"mdia":
            for sub in iter_boxes(f, box.payload, box.end):
                if sub.type == b"hdlr":
                    # FullBox header (4) + pre_defined (4) + handler_type (4)
                    return _read(f, sub)[8:12] == b"vide"
    return False


def _parse_leaf(f: BinaryIO, box: Box, found: _Collected) -> None:
    kind = box.type
    if kind == b"st3d":
        data = _read(f, box)
        if len(data) >= 5:
            found.v2_stereo = _V2_STEREO.get(data[4], "custom")
    elif kind in _V2_PROJECTIONS:
        found.v2_projection = _V2_PROJECTIONS[kind]
        if kind == b"equi":
            data = _read(f, box)
            if len(data) >= 20:
                top, bottom, left, right = (v / 2**32 for v in struct.unpack(">4I", data[4:20]))  # 0.32 fixed
                if top or bottom or left or right:
                    found.crop = (top, bottom, left, right)
    elif kind == b"prhd":
        data = _read(f, box)
        if len(data) >= 16:
            yaw, pitch, roll = struct.unpack(">3i", data[4:16])
            found.pose = (_fixed_16_16(yaw), _fixed_16_16(pitch), _fixed_16_16(roll))
    elif kind == b"prji":
        data = _read(f, box)
        if len(data) >= 8:
            found.apple_projection = _APPLE_PROJECTIONS.get(data[4:8], "unknown")
    elif kind == b"stri":
        data = _read(f, box)
        if len(data) >= 5:
            found.apple_eyes = data[4] & 0x03
    elif kind == b"pkin":
        data = _read(f, box)
        if len(data) >= 8:
            found.apple_packing = data[4:8]


def _v1_value(xml: str, tag: str) -> str | None:
    # Regex instead of an XML parser: the payload is untrusted and we need four flat fields.
    match = re.search(rf"<(?:\w+:)?{tag}>\s*([^<]*?)\s*</(?:\w+:)?{tag}>", xml)
    return match.group(1) if match else None


def _from_v1(xml: str) -> SphericalInfo | None:
    if (_v1_value(xml, "Spherical") or "").lower() != "true":
        return None
    projection = (_v1_value(xml, "ProjectionType") or "equirectangular").lower()
    stereo = _V1_STEREO.get((_v1_value(xml, "StereoMode") or "mono").lower(), "custom")
    heading = _v1_value(xml, "InitialViewHeadingDegrees")
    pitch = _v1_value(xml, "InitialViewPitchDegrees")
    roll = _v1_value(xml, "InitialViewRollDegrees")
    return SphericalInfo(
        projection=projection,
        stereo=stereo,
        source="spherical-v1",
        yaw=_to_float(heading),
        pitch=_to_float(pitch),
        roll=_to_float(roll),
        stitching_software=_v1_value(xml, "StitchingSoftware"),
    )


def _to_float(text: str | None) -> float:
    try:
        return float(text) if text is not None else 0.0
    except ValueError:
        return 0.0


def _apple_stereo(found: _Collected) -> str:
    if found.apple_eyes != 0x03:
        return "mono"
    return {b"side": "left-right", b"over": "top-bottom"}.get(found.apple_packing or b"", "multiview")


def _merge(found: _Collected) -> SphericalInfo | None:
    if found.v2_projection:  # V2 wins over V1 when both are present (V2 RFC)
        yaw, pitch, roll = found.pose
        return SphericalInfo(
            projection=found.v2_projection,
            stereo=found.v2_stereo or "mono",
            source="spherical-v2",
            yaw=yaw,
            pitch=pitch,
            roll=roll,
            crop=found.crop,
        )
    if found.apple_projection or found.apple_eyes == 0x03:
        return SphericalInfo(
            projection=found.apple_projection or "rectilinear",
            stereo=_apple_stereo(found),
            source="apple-vexu",
        )
    if found.v1_xml:
        info = _from_v1(found.v1_xml)
        if info:
            return info
    if found.v2_stereo and found.v2_stereo != "mono":  # st3d alone: flat 3D video
        return SphericalInfo(projection="rectilinear", stereo=found.v2_stereo, source="spherical-v2")
    return None


def read_boxes(path: str | Path) -> SphericalInfo | None:
    """Spherical metadata declared in an MP4/MOV's boxes, or None (also for other containers)."""
    with open(path, "rb") as f:
        if not looks_like_bmff(f.read(8)):
            return None
        f.seek(0, 2)
        size = f.tell()
        found = _Collected()
        try:
            _walk(f, 0, size, found, [_MAX_BOXES])
        except BoxError:
            pass  # keep what was parsed before the damage; the probe reports truncation itself
        return _merge(found)


def from_side_data(frame) -> SphericalInfo | None:
    """SPHERICAL / STEREO3D side data FFmpeg attached to a decoded PyAV VideoFrame."""
    from av.sidedata.sidedata import Type

    projection = None
    stereo = "mono"
    pose = (0.0, 0.0, 0.0)
    for item in frame.side_data:
        raw = bytes(item)
        if item.type == Type.SPHERICAL and len(raw) >= 16:
            kind, yaw, pitch, roll = struct.unpack("=I3i", raw[:16])
            projection = _AV_PROJECTIONS.get(kind, "unknown")
            pose = (_fixed_16_16(yaw), _fixed_16_16(pitch), _fixed_16_16(roll))
        elif item.type == Type.STEREO3D and len(raw) >= 8:
            kind, flags = struct.unpack("=Ii", raw[:8])
            stereo = _AV_STEREO.get(kind, "custom")
            if stereo == "left-right" and flags & _AV_STEREO_FLAG_INVERT:
                stereo = "right-left"
    if projection is None and stereo == "mono":
        return None
    yaw, pitch, roll = pose
    return SphericalInfo(
        projection=projection or "rectilinear",
        stereo=stereo,
        source="side-data",
        yaw=yaw,
        pitch=pitch,
        roll=roll,
    )


def detect(path: str | Path, first_frame=None) -> SphericalInfo | None:
    """Best available description: the boxes (richer), else the decoder's side data."""
    return read_boxes(path) or (from_side_data(first_frame) if first_frame is not None else None)
