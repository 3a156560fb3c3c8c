"""Sample files built at test time, so no binary is committed."""

from __future__ import annotations

import ctypes
import io
import struct
import tarfile
import zipfile
import zlib
from pathlib import Path

import libarchive
import libarchive.ffi as laffi
from libarchive.entry import ArchiveEntry, FileType

# libarchive-c's `linkpath=` ends up as a hardlink target, and the 7-Zip writer then crashes
# on the missing symlink target: set the symlink target through libarchive itself.
_set_symlink = laffi.ffi("entry_set_symlink", [laffi.c_archive_entry_p, ctypes.c_char_p], None)


def write_zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def zip_symlink(path: Path, name: str, target: str) -> Path:
    """A zip whose entry carries Unix symlink mode bits, as `zip --symlinks` writes it."""
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("ok.txt", b"fine")
        info = zipfile.ZipInfo(name)
        info.create_system = 3  # Unix, so the external attributes are a st_mode
        info.external_attr = 0o120777 << 16
        zf.writestr(info, target)
    return path


def write_tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]], mode: str = "w") -> Path:
    with tarfile.open(path, mode) as tf:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tf.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def tar_member(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info


def write_libarchive(
    path: Path,
    fmt: str,
    entries: list[tuple[str, bytes]],
    filter_name: str | None = None,
    symlinks: dict[str, str] | None = None,
    passphrase: str | None = None,
    options: str = "",
) -> Path:
    """Write any format libarchive can write (7zip, zip, pax...), hostile names included."""
    with libarchive.file_writer(str(path), fmt, filter_name, options=options, passphrase=passphrase) as archive:
        for name, data in entries:
            archive.add_file_from_memory(name, len(data), data)
        for name, target in (symlinks or {}).items():
            entry = ArchiveEntry(pathname=name, size=0, filetype=FileType.SYMBOLINK_LINK, perm=0o777)
            _set_symlink(entry._entry_p, target.encode())
            laffi.write_header(archive._pointer, entry._entry_p)
            laffi.write_finish_entry(archive._pointer)
    return path


def _rar4_block(head_type: int, flags: int, body: bytes) -> bytes:
    head = struct.pack("<BHH", head_type, flags, 7 + len(body)) + body
    return struct.pack("<H", zlib.crc32(head) & 0xFFFF) + head


def write_rar4(path: Path, entries: list[tuple[str, bytes, int | None]], solid: bool = False) -> Path:
    """A RAR 2.9 archive with stored (uncompressed) entries, following the RAR 3.x technote.

    entries: (name with '\\' separators, data, Unix st_mode or None for a Windows-made entry).
    In a solid archive every entry after the first has the solid flag, which libarchive 3.6
    refuses ("RAR solid archive support unavailable"): that exercises the rarfile fallback.
    """
    out = b"Rar!\x1a\x07\x00" + _rar4_block(0x73, 0x0008 if solid else 0, b"\x00" * 6)
    dos_time = (44 << 25) | (1 << 21) | (1 << 16)  # 2024-01-01
    for i, (name, data, unix_mode) in enumerate(entries):
        flags = 0x8000 | (0x0010 if solid and i else 0)  # LONG_BLOCK: data follows; SOLID
        host_os, attr = (3, unix_mode) if unix_mode is not None else (2, 0x20)
        raw = name.encode()
        body = (
            struct.pack(
                "<IIBIIBBHI", len(data), len(data), host_os, zlib.crc32(data), dos_time, 29, 0x30, len(raw), attr
            )
            + raw
        )
        out += _rar4_block(0x74, flags, body) + data
    path.write_bytes(out + _rar4_block(0x7B, 0x4000, b""))
    return path


def write_zip_bomb(path: Path, mib: int, name: bytes = b"zeros.bin") -> Path:
    """A valid zip of one file of `mib` MiB of zeros (~1 KiB per MiB), built without deflating it all.

    After a full flush the compressor's state is reset, so every further MiB of zeros
    compresses to the same bytes: compress one MiB, repeat its output.
    """
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    zeros = bytes(1 << 20)
    chunk = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(mib):
        crc = zlib.crc32(zeros, crc)
    data = chunk * mib + compressor.flush()
    path.write_bytes(_zip_single(name, data, crc, mib << 20))
    return path


def _zip_single(name: bytes, deflated: bytes, crc: int, size: int) -> bytes:
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(deflated), size, len(name), 0)
    central = struct.pack(
        "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, crc, len(deflated), size, len(name), 0, 0, 0, 0, 0, 0
    )
    end = struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central) + len(name), len(local) + len(name) + len(deflated), 0
    )
    return local + name + deflated + central + name + end


def forge_zip_size(path: Path, declared: int) -> Path:
    """Overwrite the uncompressed size of a one-entry zip in both headers."""
    raw = bytearray(path.read_bytes())
    struct.pack_into("<I", raw, 22, declared)  # local file header
    central = raw.rindex(b"PK\x01\x02")
    struct.pack_into("<I", raw, central + 24, declared)
    path.write_bytes(bytes(raw))
    return path


def nested_zip(path: Path, depth: int, payload: dict[str, bytes]) -> Path:
    """level1.zip inside level2.zip ... inside path; the innermost holds payload."""
    data = _zip_bytes(payload)
    for level in range(depth, 0, -1):
        data = _zip_bytes({f"level{level}.zip": data})
    path.write_bytes(data)
    return path


def _zip_bytes(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


# --- video ------------------------------------------------------------------------------------

GOOGLE_SPHERICAL_V1_UUID = bytes.fromhex("ffcc8263f8554a938814587a02521fdd")
SPHERICAL_V1_XML = (
    b'<?xml version="1.0"?><rdf:SphericalVideo'
    b' xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
    b' xmlns:GSpherical="http://ns.google.com/videos/1.0/spherical/">'
    b"<GSpherical:Spherical>true</GSpherical:Spherical><GSpherical:Stitched>true</GSpherical:Stitched>"
    b"<GSpherical:StitchingSoftware>omnidrop tests</GSpherical:StitchingSoftware>"
    b"<GSpherical:ProjectionType>equirectangular</GSpherical:ProjectionType></rdf:SphericalVideo>"
)
_SAMPLE_ENTRY_PATH = [b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stsd", None]


def write_video(path: Path, width: int = 64, height: int = 32, frames: int = 5, fmt: str | None = None) -> Path:
    import av
    from PIL import Image

    with av.open(str(path), "w", format=fmt) as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(frames):
            frame = av.VideoFrame.from_image(Image.new("RGB", (width, height), (i * 40, 90, 160)))
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def remux(src: Path, dest: Path) -> Path:
    """Copy the video stream into another container; FFmpeg carries spherical side data across."""
    import av

    with av.open(str(src)) as inp, av.open(str(dest), "w") as out:
        stream = out.add_stream_from_template(inp.streams.video[0])
        for packet in inp.demux(inp.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)
    return dest


def box(kind: bytes, body: bytes, full: bool = False) -> bytes:
    """An ISO-BMFF box; a FullBox gets version 0 and no flags."""
    if full:
        body = b"\x00\x00\x00\x00" + body
    return struct.pack(">I4s", 8 + len(body), kind) + body


def spherical_v2(stereo_mode: int = 0) -> bytes:
    """st3d + sv3d(svhd, proj(prhd, equi)) as in Google's Spherical Video V2 RFC."""
    st3d = box(b"st3d", bytes([stereo_mode]), full=True)
    proj = box(b"prhd", struct.pack(">iii", 0, 0, 0), full=True) + box(b"equi", bytes(16), full=True)
    sv3d = box(b"sv3d", box(b"svhd", b"omnidrop tests\x00", full=True) + box(b"proj", proj))
    return st3d + sv3d


def inject_spherical(path: Path, v1: bool = False, stereo_mode: int = 0) -> Path:
    """Add V1 (uuid XML in trak) or V2 (boxes in the video sample entry) spherical metadata."""
    data = path.read_bytes()
    if v1:
        data = _append_in_box(data, [b"moov", b"trak"], box(b"uuid", GOOGLE_SPHERICAL_V1_UUID + SPHERICAL_V1_XML))
    else:
        data = _append_in_box(data, _SAMPLE_ENTRY_PATH, spherical_v2(stereo_mode))
    path.write_bytes(data)
    return path


def _boxes(data: bytes, start: int, end: int):
    while start + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, start)
        yield start, size, kind
        start += size


def _append_in_box(data: bytes, box_path: list[bytes | None], payload: bytes) -> bytes:
    """Append payload to the box at box_path (None = first child), growing every parent.

    Only safe when moov follows mdat (FFmpeg's default), so no chunk offset moves.
    """
    top = {kind: off for off, _, kind in _boxes(data, 0, len(data))}
    assert top[b"moov"] > top[b"mdat"], "moov must come after mdat"
    out = bytearray(data)
    start, end, parents = 0, len(out), []
    for kind in box_path:
        off, size, found = next(b for b in _boxes(out, start, end) if kind is None or b[2] == kind)
        parents.append(off)
        # Children start after the header: stsd has a FullBox header and an entry count,
        # a visual sample entry has 78 bytes of fixed fields.
        skip = 8 if found == b"stsd" else 78 if kind is None else 0
        start, end = off + 8 + skip, off + size
    out[end:end] = payload
    for off in parents:
        struct.pack_into(">I", out, off, struct.unpack_from(">I", out, off)[0] + len(payload))
    return bytes(out)
