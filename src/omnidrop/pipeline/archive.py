"""Safe archive unpacking.

One code path on libarchive (zip, 7z, rar, tar and their gzip/bzip2/xz/zstd forms), with
every entry written by this module, never by libarchive's own extractor. The rules:

* entry names are checked (no absolute paths, no ``..``, no NUL, not empty), then folders are
  flattened into one safe, unique file name: ``floor1/img 01.jpg`` -> ``floor1_img 01.jpg``;
* only regular files and folders are accepted; links, devices and FIFOs refuse the archive;
* files are created with ``O_CREAT|O_EXCL|O_NOFOLLOW`` relative to the destination's fd;
* every limit is counted on the bytes actually decompressed, block by block, before the block
  reaches the disk: header sizes are never trusted, so a bomb stops at the limit;
* archives inside the archive are unpacked in place up to ``max_depth`` levels;
* any refusal removes everything written so far.

RAR archives that libarchive cannot read (solid RAR4, multi-volume) are retried with
``rarfile`` (which drives Debian's ``unar``), through the same per-entry checks.
"""

from __future__ import annotations

import ctypes
import itertools
import os
import posixpath
import re
import stat
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import libarchive.ffi as laffi
from libarchive.exception import ArchiveError
from libarchive.read import ArchiveRead

from omnidrop.pipeline.rejected import Rejected
from omnidrop.uploads.errors import ExtensionNotAllowed
from omnidrop.uploads.names import UniqueNames, check_extension, safe_filename

try:  # optional: only needed for RAR archives libarchive cannot read
    import rarfile
except ImportError:  # pragma: no cover - depends on the installation
    rarfile = None

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30
BLOCK_SIZE = 256 * KiB

# Formats and filters libarchive may use. 'all' would add mtree (plain text), raw and filters
# that shell out to external programs (lrzip, lzop, grzip): none of them belong here.
_FORMATS = ("zip", "7zip", "rar", "rar5", "tar")
_FILTERS = ("gzip", "bzip2", "xz", "lzma", "zstd")

_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
_7Z = b"7z\xbc\xaf\x27\x1c"
_RAR = (b"Rar!\x1a\x07\x00", b"Rar!\x1a\x07\x01\x00")
_COMPRESSED = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd")  # gzip bzip2 xz zstd

# Zip-based formats that are one document, not a folder of files: never unpacked when nested.
CONTAINER_SUFFIXES = frozenset(
    {".sog", ".usdz", ".kmz", ".3mf", ".docx", ".xlsx", ".pptx", ".odt", ".ods", ".epub", ".npz"}
)
_ARCHIVE_SUFFIXES = frozenset(
    {".zip", ".7z", ".rar", ".tar", ".gz", ".tgz", ".bz2", ".tbz", ".tbz2", ".xz", ".txz", ".zst", ".tzst"}
)
# Operating-system clutter (macOS resource forks, Finder and Explorer caches): checked, not kept.
_JUNK_NAMES = frozenset({".ds_store", "thumbs.db", "desktop.ini"})


@dataclass(frozen=True)
class UnpackLimits:
    max_entries: int = 10_000
    max_total_bytes: int = 64 * GiB
    max_file_bytes: int = 16 * GiB
    # Total unpacked bytes may reach max_ratio x the archive's size; photos and videos hardly
    # compress, so a high ratio means a bomb. Small archives of compressible data (text point
    # clouds, blank masks) may always reach ratio_grace_bytes.
    max_ratio: float = 100.0
    ratio_grace_bytes: int = 64 * MiB
    # Levels of archives inside the archive that are unpacked; one level deeper is refused.
    max_depth: int = 2
    # Extensions an entry may have (as for uploads); None: any. Other entries are not written, and
    # are reported in `refused` (an archive inside is checked as an entry before it is opened).
    allowed_extensions: tuple[str, ...] | None = None


@dataclass(frozen=True)
class RefusedEntry:
    source: str  # entry path in the archive, as UnpackedFile.source
    code: str  # extension_not_allowed
    reason: str


class ByteMeter(Protocol):
    """Counts bytes against a budget (auth.quotas.QuotaMeter): charge raises to stop."""

    def charge(self, nbytes: int) -> None: ...

    def refund(self, nbytes: int) -> None: ...


@dataclass(frozen=True)
class UnpackedFile:
    name: str  # flattened, unique file name inside dest_dir
    path: Path
    source: str  # entry path in the archive; nested archives as "outer.zip/inner/file.jpg"
    size: int


class ArchiveRejected(Rejected):
    """The archive was refused; nothing it contained was kept.

    ``code`` is one of: not_archive, corrupt, encrypted, unsupported, unsafe_path, link,
    special_file, too_many_entries, file_too_large, total_too_large, ratio_exceeded, too_deep.
    ``bytes_unpacked`` counts the bytes written before the refusal (all removed since).
    """

    def __init__(self, reason: str, code: str, *, entry: str | None = None):
        super().__init__(reason, code)
        self.entry = entry
        self.bytes_unpacked = 0


class _ReadError(Exception):
    """The archive library could not read the archive (corrupt, truncated, unsupported)."""


@dataclass
class _Entry:
    path: str
    kind: str  # file, dir, symlink, hardlink, special
    blocks: Callable[[], Iterator[bytes | memoryview]]


def is_archive(path: Path) -> bool:
    """True if the file's content is an archive unpack() reads (extension ignored)."""
    with open(path, "rb") as f:
        head = f.read(512)
    if head.startswith(_ZIP) or head.startswith(_7Z) or head.startswith(_RAR):
        return True
    if head[257:262] == b"ustar":
        return True
    if head.startswith(_COMPRESSED):
        return _is_compressed_tar(path)
    return False


def _is_compressed_tar(path: Path) -> bool:
    # A gzip/xz/... stream is an archive only if a tar header comes out of it.
    try:
        with _libarchive_reader(path, formats=("tar",)) as archive:
            next(iter(archive))
        return True
    except (ArchiveError, StopIteration):
        return False


def flatten_name(parts: Iterable[str]) -> str:
    """Join path components into one safe file name, by the one naming rule (uploads/names.py)."""
    return safe_filename(parts, fallback="file")


def entry_parts(name: str) -> list[str]:
    """Split an entry name into components, refusing names that could leave the destination."""
    if not name or "\x00" in name:
        raise ArchiveRejected(f"entry {name!r} has an empty name or a NUL byte", "unsafe_path", entry=name)
    # Archives made on Windows use backslashes; treat them as separators so '..\\' is caught.
    posix = name.replace("\\", "/")
    if posix.startswith("/") or re.match(r"^[A-Za-z]:", posix):
        raise ArchiveRejected(f"entry {name!r} has an absolute path", "unsafe_path", entry=name)
    parts = [p for p in posix.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ArchiveRejected(f"entry {name!r} contains a '..' component", "unsafe_path", entry=name)
    if not parts:
        raise ArchiveRejected(f"entry {name!r} has an empty name", "unsafe_path", entry=name)
    return parts


def _is_junk(parts: list[str]) -> bool:
    base = parts[-1].lower()
    return "__MACOSX" in parts or base in _JUNK_NAMES or base.startswith("._")


def _archive_stem(name: str) -> str:
    stem = name
    while (ext := posixpath.splitext(stem)[1].lower()) in _ARCHIVE_SUFFIXES and stem != ext:
        stem = stem[: -len(ext)]
    return stem


# --- libarchive --------------------------------------------------------------------------


@contextmanager
def _libarchive_reader(path: Path, formats: Iterable[str] = _FORMATS) -> Iterator[ArchiveRead]:
    archive_p = laffi.read_new()
    try:
        for name in _FILTERS:
            laffi.get_read_filter_function(name)(archive_p)
        for name in formats:
            laffi.get_read_format_function(name)(archive_p)
        laffi.read_open_filename_w(archive_p, str(path), BLOCK_SIZE)
        yield ArchiveRead(archive_p)
    finally:
        laffi.read_free(archive_p)


def _libarchive_blocks(archive_p) -> Iterator[memoryview]:
    # Our own loop instead of entry.get_blocks(): that one treats ARCHIVE_WARN (-20) from
    # read_data as a length and would hand out garbage. One buffer, no copies.
    buf = ctypes.create_string_buffer(BLOCK_SIZE)
    view = memoryview(buf).cast("B")
    while True:
        try:
            n = laffi.read_data(archive_p, buf, BLOCK_SIZE)
        except ArchiveError as exc:
            raise _ReadError(_message(exc)) from None
        if n == 0:
            return
        if n < 0:
            raise _ReadError(_message(laffi.archive_error(archive_p, n)))
        yield view[:n]


def _libarchive_entries(path: Path) -> Iterator[_Entry]:
    try:
        with _libarchive_reader(path) as archive:
            archive_p = archive._pointer
            for entry in archive:
                # Hardlinks first: libarchive reports them as regular files with a link target.
                if entry.islnk:
                    kind = "hardlink"
                elif entry.issym:
                    kind = "symlink"
                elif entry.isdir:
                    kind = "dir"
                elif entry.isreg:
                    kind = "file"
                else:
                    kind = "special"
                # A name libarchive cannot convert from the archive's charset comes back as bytes.
                name = entry.pathname or ""
                if isinstance(name, bytes):
                    name = name.decode("utf-8", "replace")
                yield _Entry(name, kind, lambda: _libarchive_blocks(archive_p))
    except ArchiveError as exc:
        raise _ReadError(_message(exc)) from None


def _message(exc: ArchiveError) -> str:
    msg = exc.msg
    if isinstance(msg, bytes):
        msg = msg.decode("utf-8", "replace")
    return msg or "unreadable archive"


# --- rarfile fallback --------------------------------------------------------------------


def _rarfile_entries(path: Path) -> Iterator[_Entry]:
    try:
        # "strict": a bad header is an error. The default ("stop") quietly ends the listing there,
        # so a RAR signature followed by noise would read as an archive with no entries.
        rf = rarfile.RarFile(str(path), errors="strict")
        infos = rf.infolist()
    except rarfile.Error as exc:
        raise _ReadError(str(exc)) from None
    with rf:
        for info in infos:
            unix_type = stat.S_IFMT(info.mode or 0) if info.host_os == rarfile.RAR_OS_UNIX else 0
            if info.is_symlink():
                kind = "symlink"
            elif getattr(info, "file_redir", None):  # RAR5 hardlink or file copy
                kind = "hardlink"
            elif info.is_dir():
                kind = "dir"
            elif unix_type not in (0, stat.S_IFREG):
                kind = "special"
            else:
                kind = "file"
            if kind == "file" and info.needs_password():
                raise _ReadError(f"entry {info.filename!r} is encrypted")
            yield _Entry(info.filename, kind, lambda info=info: _rarfile_blocks(rf, info))


def _rarfile_blocks(rf, info) -> Iterator[bytes]:
    try:
        with rf.open(info) as stream:
            while block := stream.read(BLOCK_SIZE):
                yield block
    except rarfile.RarCannotExec:
        raise _ReadError("this solid or compressed RAR needs the unar tool, which is not installed") from None
    except rarfile.Error as exc:
        raise _ReadError(str(exc)) from None


def _is_rar(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(8).startswith(_RAR)


# --- unpacking -----------------------------------------------------------------------------


def unpack(archive_path: Path, dest_dir: Path, limits: UnpackLimits | None = None,
           meter: ByteMeter | None = None, refused: list[RefusedEntry] | None = None) -> list[UnpackedFile]:
    """Unpack archive_path into the empty (or missing) dest_dir as flat, safe file names.

    Raises ArchiveRejected, after removing everything written, when the archive breaks a rule
    or a limit, or cannot be read. `meter` (an owner's storage quota) is charged every block
    before it is written and refunded what is removed again; whatever it raises stops unpacking,
    after the same clean-up. Entries the limits' allow-list refuses are appended to `refused`.
    """
    limits = limits or UnpackLimits()
    archive_path = Path(archive_path)
    if not is_archive(archive_path):
        raise ArchiveRejected(f"{archive_path.name} is not a zip, 7z, rar or tar archive", "not_archive")
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    if any(dest_dir.iterdir()):
        raise ValueError(f"destination {dest_dir} is not empty")
    dest_fd = os.open(dest_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    unpacker = _Unpacker(dest_fd, os.path.realpath(dest_dir), limits, archive_path.stat().st_size, meter)
    try:
        unpacker.unpack_archive(archive_path, [], "", depth=0)
    except ArchiveRejected as exc:
        unpacker.remove_all()
        exc.bytes_unpacked = unpacker.bytes_written
        raise
    except BaseException:
        unpacker.remove_all()
        raise
    finally:
        os.close(dest_fd)
    if refused is not None:
        refused.extend(unpacker.refused)
    return unpacker.results


class _Unpacker:
    def __init__(self, dest_fd: int, dest_real: str, limits: UnpackLimits, archive_size: int,
                 meter: ByteMeter | None = None):
        self.dest_fd = dest_fd
        self.meter = meter
        self.dest = dest_real
        self.limits = limits
        ratio_budget = max(limits.ratio_grace_bytes, int(archive_size * limits.max_ratio))
        self.budget = min(limits.max_total_bytes, ratio_budget)
        self.ratio_binds = ratio_budget < limits.max_total_bytes
        self.archive_size = archive_size
        self.results: list[UnpackedFile] = []
        self.refused: list[RefusedEntry] = []
        # Every name now in dest, for cleanup, with the count of files created before it (insertion
        # order, O(1) removal: a nested archive's file goes once unpacked).
        self.created: dict[str, int] = {}
        self.created_count = 0
        self.names = UniqueNames()  # casefolded, so names stay unique on any file system
        self.entries = 0
        self.total = 0  # bytes now held in dest
        self.bytes_written = 0  # bytes ever written, nested archives included

    def unpack_archive(self, path: Path, prefix: list[str], source_prefix: str, depth: int) -> None:
        # A few counters, not copies: a checkpoint per nested archive must not cost O(files so far).
        checkpoint = (len(self.results), len(self.refused), self.created_count, self.names.mark(), self.entries,
                      self.total)
        try:
            if self._consume(_libarchive_entries(path), prefix, source_prefix, depth) or not _is_rar(path):
                return
            # libarchive's RAR readers end quietly at some unreadable headers: a RAR signature followed
            # by noise lists no entries. rarfile's strict parse below tells an empty RAR from a corrupt one.
            error = _ReadError("no entries could be read")
        except _ReadError as exc:
            error = exc
        if not (_is_rar(path) and rarfile is not None):
            raise self._read_rejection(path, source_prefix, error)
        # libarchive lacks solid RAR4 and multi-volume support: start this archive over.
        self._rollback(checkpoint)
        try:
            if not self._consume(_rarfile_entries(path), prefix, source_prefix, depth):
                # Neither reader found an entry: some noise after a RAR signature passes even rarfile's
                # strict parse as "no headers", so an entry-less RAR is taken as unreadable, not empty.
                raise _ReadError("no entries could be read")
        except _ReadError as exc:
            raise self._read_rejection(path, source_prefix, exc) from None

    @staticmethod
    def _read_rejection(path: Path, source_prefix: str, error: _ReadError) -> ArchiveRejected:
        what = source_prefix.rstrip("/") or path.name
        message = str(error)
        lowered = message.lower()
        if "encrypt" in lowered or "passphrase" in lowered or "password" in lowered:
            return ArchiveRejected(f"{what} is encrypted: {message}", "encrypted")
        if "solid" in lowered or "multi-volume" in lowered:
            return ArchiveRejected(f"{what} cannot be read by this server: {message}", "unsupported")
        return ArchiveRejected(f"{what} is corrupt or truncated: {message}", "corrupt")

    def _consume(self, entries: Iterator[_Entry], prefix: list[str], source_prefix: str, depth: int) -> int:
        """Unpack every entry; returns how many entries the archive listed."""
        listed = 0
        with closing(entries):
            for entry in entries:
                listed += 1
                self.entries += 1
                source = source_prefix + entry.path
                if self.entries > self.limits.max_entries:
                    raise ArchiveRejected(
                        f"more than {self.limits.max_entries} entries (at {source!r})", "too_many_entries", entry=source
                    )
                parts = entry_parts(entry.path)
                if entry.kind in ("symlink", "hardlink"):
                    raise ArchiveRejected(f"entry {source!r} is a {entry.kind}", "link", entry=source)
                if entry.kind == "special":
                    raise ArchiveRejected(f"entry {source!r} is a device, FIFO or socket", "special_file", entry=source)
                if entry.kind == "dir" or _is_junk(parts):
                    continue
                flat = flatten_name(prefix + parts)
                if self.limits.allowed_extensions is not None:
                    try:
                        check_extension(flat, list(self.limits.allowed_extensions))
                    except ExtensionNotAllowed as exc:
                        self.refused.append(RefusedEntry(source, exc.code, str(exc)))
                        continue
                name = self.names.claim(flat)
                size = self._write(name, entry.blocks(), source)
                if self._is_nested_archive(name):
                    self._unpack_nested(name, size, prefix + parts[:-1] + [_archive_stem(parts[-1])], source, depth)
                else:
                    self.results.append(UnpackedFile(name, Path(self.dest, name), source, size))
        return listed

    def _is_nested_archive(self, name: str) -> bool:
        if os.path.splitext(name)[1].lower() in CONTAINER_SUFFIXES:
            return False
        return is_archive(Path(self.dest, name))

    def _unpack_nested(self, name: str, size: int, prefix: list[str], source: str, depth: int) -> None:
        if depth + 1 > self.limits.max_depth:
            raise ArchiveRejected(
                f"entry {source!r} is an archive nested more than {self.limits.max_depth} levels deep",
                "too_deep",
                entry=source,
            )
        self.unpack_archive(Path(self.dest, name), prefix, source + "/", depth + 1)
        # The inner archive has become its files: drop it and give its bytes back.
        os.unlink(name, dir_fd=self.dest_fd)
        del self.created[name]
        self.total -= size
        if self.meter is not None:
            self.meter.refund(size)

    def _write(self, name: str, blocks: Iterator[bytes | memoryview], source: str) -> int:
        if os.path.dirname(os.path.realpath(os.path.join(self.dest, name))) != self.dest:
            raise ArchiveRejected(
                f"entry {source!r} would be written outside the destination", "unsafe_path", entry=source
            )
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(name, flags, 0o644, dir_fd=self.dest_fd)
        self.created[name] = self.created_count
        self.created_count += 1
        size = 0
        try:
            with closing(blocks):
                for block in blocks:
                    size += len(block)
                    self._charge(len(block), size, source)
                    _write_all(fd, block)
                    self.bytes_written += len(block)
        finally:
            os.close(fd)
        return size

    def _charge(self, n: int, file_size: int, source: str) -> None:
        """Count n more bytes, refusing before they are written if a limit would break."""
        limits = self.limits
        if file_size > limits.max_file_bytes:
            raise ArchiveRejected(
                f"entry {source!r} unpacks to more than {_human(limits.max_file_bytes)} (per-file limit)",
                "file_too_large",
                entry=source,
            )
        if self.total + n > self.budget:
            if self.ratio_binds:
                raise ArchiveRejected(
                    f"unpacking stopped at entry {source!r}: more than {limits.max_ratio:g}x the "
                    f"{_human(self.archive_size)} archive ({_human(self.budget)}); looks like a zip bomb",
                    "ratio_exceeded",
                    entry=source,
                )
            raise ArchiveRejected(
                f"unpacking stopped at entry {source!r}: total exceeds {_human(self.budget)}",
                "total_too_large",
                entry=source,
            )
        if self.meter is not None:
            self.meter.charge(n)
        self.total += n

    def _rollback(self, checkpoint: tuple) -> None:
        n_results, n_refused, n_created, names_mark, entries, total = checkpoint
        del self.refused[n_refused:]
        later = list(itertools.takewhile(lambda item: item[1] >= n_created, reversed(self.created.items())))
        for name, _ in later:
            _unlink_quietly(name, self.dest_fd)
            del self.created[name]
        del self.results[n_results:]
        self.names.rollback(names_mark)
        if self.meter is not None:
            self.meter.refund(self.total - total)
        self.entries, self.total = entries, total

    def remove_all(self) -> None:
        for name in self.created:
            _unlink_quietly(name, self.dest_fd)
        if self.meter is not None:
            self.meter.refund(self.total)
        self.total = 0
        self.created.clear()
        self.results.clear()


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _unlink_quietly(name: str, dir_fd: int) -> None:
    try:
        os.unlink(name, dir_fd=dir_fd)
    except FileNotFoundError:
        pass


def _human(n: int) -> str:
    for unit, size in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"
