"""Checks of the non-media files of a direct video group: the AIME metadata file and the FCPXML bundle.

- fcpxmld: Final Cut Pro's `.fcpxmld` is a folder bundle whose document is `Info.fcpxml`; uploaded
  as one file it is a zip of that folder. Accepted: a zip holding `Info.fcpxml` (at its root or in
  one top-level folder), or the FCPXML document itself; the document must be well-formed XML whose
  root is `<fcpxml version="…">`. The zip is read in place (nothing is extracted to disk) and the
  document's size is capped before it is read.
- aime: Apple Immersive Media Embedded metadata (ImmersiveMediaSupport's VenueDescriptor.aimeData).
  Apple does not publish its layout, so it is checked as far as its content shows: it must not be
  empty, and when it is JSON, XML, a property list or a zip it must parse as one. Anything else is
  accepted as `opaque` with `unchecked` saying why: nothing about it was checked, so the group it
  belongs to ends `unverified` rather than `verified` (pipeline/video_verification.py).
"""

from __future__ import annotations

import json
import plistlib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from xml.etree import ElementTree

from omnidrop.pipeline.rejected import Rejected

MAX_DOCUMENT_BYTES = 64 * 1024 * 1024
# What zipfile raises for a zip it cannot read: a broken or truncated one, an unsupported compression
# method (NotImplementedError), an encrypted member (RuntimeError).
_UNREADABLE_ZIP = (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, EOFError)


class SidecarRejected(Rejected):
    """An AIME or FCPXML file refused; ``code`` is one of the codes raised below."""


@dataclass(frozen=True)
class SidecarInfo:
    format: str
    details: dict[str, Any] = field(default_factory=dict)
    unchecked: str | None = None  # why the file was accepted without checking its content; None once checked


def _xml_root(data: bytes, what: str) -> ElementTree.Element:
    # A DOCTYPE line is normal in FCPXML (`<!DOCTYPE fcpxml>`), entity declarations are not: they
    # are how XML bombs and external reads start.
    if b"<!ENTITY" in data:
        raise SidecarRejected(f"the {what} declares XML entities, which are refused", "unsafe_xml")
    try:
        return ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise SidecarRejected(f"the {what} is not well-formed XML ({exc})", "malformed_xml") from None


def _fcpxml(data: bytes, where: str) -> SidecarInfo:
    root = _xml_root(data, where)
    if root.tag != "fcpxml":
        raise SidecarRejected(f"the root element of {where} is <{root.tag}>, not <fcpxml>", "not_fcpxml")
    version = root.get("version")
    if not version:
        raise SidecarRejected(f"the <fcpxml> root of {where} has no version attribute", "not_fcpxml")
    return SidecarInfo("fcpxml", {"version": version, "document": where,
                                  "projects": sum(1 for _ in root.iter("project"))})


def check_fcpxmld(path: Path) -> SidecarInfo:
    with open(path, "rb") as f:
        head = f.read(4)
    if head in (b"PK\x03\x04", b"PK\x05\x06"):
        return _bundle(path)
    if path.stat().st_size > MAX_DOCUMENT_BYTES:
        raise SidecarRejected("the FCPXML document is larger than 64 MiB", "too_large")
    data = path.read_bytes()
    if not data.lstrip().startswith(b"<"):
        raise SidecarRejected("content is neither a zipped .fcpxmld bundle nor an FCPXML document", "not_fcpxml")
    return _fcpxml(data, "the FCPXML document")


def _bundle(path: Path) -> SidecarInfo:
    try:
        with zipfile.ZipFile(path) as zf:
            names = [i for i in zf.infolist() if not i.is_dir()]
            docs = [i for i in names if _is_info(i.filename)]
            if not docs:
                raise SidecarRejected("the zip has no Info.fcpxml (a .fcpxmld bundle's document)", "no_info_fcpxml")
            doc = docs[0]
            if doc.file_size > MAX_DOCUMENT_BYTES:
                raise SidecarRejected("Info.fcpxml is larger than 64 MiB", "too_large")
            with zf.open(doc) as member:
                data = member.read(MAX_DOCUMENT_BYTES + 1)  # the header's size is not trusted
            if len(data) > MAX_DOCUMENT_BYTES:
                raise SidecarRejected("Info.fcpxml is larger than 64 MiB", "too_large")
    except _UNREADABLE_ZIP as exc:
        raise SidecarRejected(f"the .fcpxmld zip cannot be read ({exc})", "corrupt") from None
    info = _fcpxml(data, doc.filename)
    return SidecarInfo("fcpxmld", {**info.details, "files": len(names)})


def _is_info(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return parts[-1:] == ("Info.fcpxml",) and len(parts) <= 2 and not parts[0].startswith("__MACOSX")


def check_aime(path: Path) -> SidecarInfo:
    size = path.stat().st_size
    if size == 0:
        raise SidecarRejected("the AIME file is empty", "empty")
    with open(path, "rb") as f:
        head = f.read(64)
    stripped = head.lstrip()
    if stripped[:1] in (b"{", b"["):
        if size > MAX_DOCUMENT_BYTES:
            raise SidecarRejected("the AIME JSON is larger than 64 MiB", "too_large")
        try:
            json.loads(path.read_bytes())
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SidecarRejected(f"the AIME file looks like JSON but does not parse ({exc})", "malformed_json") from None
        return SidecarInfo("json", {"size": size})
    if head.startswith(b"bplist00") or stripped.startswith(b"<?xml") or stripped.startswith(b"<plist"):
        if size > MAX_DOCUMENT_BYTES:
            raise SidecarRejected("the AIME document is larger than 64 MiB", "too_large")
        data = path.read_bytes()
        if head.startswith(b"bplist00") or b"<plist" in data[:4096]:
            if b"<!ENTITY" in data:
                raise SidecarRejected("the AIME property list declares XML entities, which are refused", "unsafe_xml")
            try:
                plistlib.loads(data)
            except (plistlib.InvalidFileException, ValueError, ElementTree.ParseError) as exc:
                raise SidecarRejected(f"the AIME property list does not parse ({exc})", "malformed_plist") from None
            return SidecarInfo("plist", {"size": size})
        _xml_root(data, "AIME file")
        return SidecarInfo("xml", {"size": size})
    if head.startswith(b"PK\x03\x04"):
        try:  # the directory only: decompressing a hostile zip to test it is not worth the risk
            with zipfile.ZipFile(path) as zf:
                entries = len(zf.infolist())
        except _UNREADABLE_ZIP as exc:
            raise SidecarRejected(f"the AIME zip cannot be read ({exc})", "corrupt") from None
        return SidecarInfo("zip", {"size": size, "entries": entries})
    # Refusing it would refuse real AIME files; calling it checked would be a lie.
    return SidecarInfo("opaque", {"size": size}, unchecked="its content is not JSON, XML, a property list or a zip, "
                       "and Apple does not publish AIME's binary layout, so nothing in it could be checked")
