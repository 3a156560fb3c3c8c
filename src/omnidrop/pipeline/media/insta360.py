"""The metadata trailer Insta360 cameras append after the last MP4 box of an .insv (and .mp4).

Layout (AdrianEddy/telemetry-parser, src/insta360; research/media.md §3), all little-endian:
the file ends with a 72-byte header -- 32 bytes padding, u32 trailer size (header included),
u32 version, the 32-byte ASCII magic. Before it, records laid back to back and walked from the
end: each record's bytes are followed by a 6-byte footer (u8 format, u8 id, u32 size).

Only record 7 (GPS) is decoded here: 53-byte fixes of u64 unix seconds + u16 milliseconds, the
fix status ('A' acquired, 'V' void), f64 latitude + 'N'/'S', f64 longitude + 'E'/'W', then f64
speed, track and altitude. Gyro, exposure and the protobuf metadata are left alone.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

MAGIC = b"8db42d694ccc418790edff439fe026bf"
HEADER_SIZE = 32 + 4 + 4 + len(MAGIC)
FOOTER_SIZE = 6
GPS_RECORD = 7
GPS_FIX = struct.Struct("<QHcdcdcddd")  # 53 bytes
_MAX_RECORDS = 4096


@dataclass(frozen=True)
class GpsFix:
    unix_time: float  # seconds
    lat: float
    lng: float


def trailer_size(f: BinaryIO, size: int) -> int:
    """Bytes of the Insta360 trailer at the end of the file (0 when there is none or it is implausible)."""
    if size < HEADER_SIZE:
        return 0
    f.seek(size - HEADER_SIZE)
    header = f.read(HEADER_SIZE)
    if header[-len(MAGIC):] != MAGIC:
        return 0
    (extra,) = struct.unpack_from("<I", header, 32)
    return extra if HEADER_SIZE <= extra <= size else 0


def records(f: BinaryIO, size: int) -> list[tuple[int, bytes]]:
    """(id, payload) of every record in the trailer, last first; stops at the first damaged one."""
    extra = trailer_size(f, size)
    found: list[tuple[int, bytes]] = []
    offset = HEADER_SIZE + FOOTER_SIZE  # from the end of the file to the current footer's start
    while offset <= extra and len(found) < _MAX_RECORDS:
        f.seek(size - offset)
        footer = f.read(FOOTER_SIZE)
        if len(footer) < FOOTER_SIZE:
            break
        _format, kind, length = struct.unpack("<BBI", footer)
        if offset + length > extra:
            break  # runs past the trailer: not a record
        f.seek(size - offset - length)
        found.append((kind, f.read(length)))
        offset += length + FOOTER_SIZE
    return found


def gps_fixes(path: str | Path) -> list[GpsFix]:
    """The acquired GPS fixes of an Insta360 file, in time order (empty when it recorded none)."""
    with open(path, "rb") as f:
        f.seek(0, 2)
        size = f.tell()
        fixes = []
        for kind, payload in records(f, size):
            if kind != GPS_RECORD:
                continue
            for pos in range(0, len(payload) - GPS_FIX.size + 1, GPS_FIX.size):
                secs, millis, status, lat, ns, lng, ew, _speed, _track, _alt = GPS_FIX.unpack_from(payload, pos)
                if status != b"A" or not (-90 <= lat <= 90 and -180 <= lng <= 180):
                    continue
                lat = -abs(lat) if ns == b"S" else lat
                lng = -abs(lng) if ew == b"W" else lng
                fixes.append(GpsFix(secs + millis / 1000.0, lat, lng))
    return sorted(fixes, key=lambda fix: fix.unix_time)


def gps_record(fixes: list[tuple[float, float, float]]) -> bytes:
    """Record 7's payload for (unix_time, lat, lng) fixes: the inverse of `gps_fixes`, for writers and tests."""
    out = bytearray()
    for t, lat, lng in fixes:
        secs = int(t)
        out += GPS_FIX.pack(secs, round((t - secs) * 1000), b"A", abs(lat), b"N" if lat >= 0 else b"S",
                            abs(lng), b"E" if lng >= 0 else b"W", 1.2, 0.0, 10.0)
    return bytes(out)


def trailer(records_: list[tuple[int, bytes]], version: int = 3) -> bytes:
    """A trailer holding ``records_`` (id, payload), laid out as the camera writes it."""
    body = b"".join(payload + struct.pack("<BBI", 0, kind, len(payload)) for kind, payload in records_)
    size = len(body) + HEADER_SIZE
    return body + bytes(32) + struct.pack("<II", size, version) + MAGIC
