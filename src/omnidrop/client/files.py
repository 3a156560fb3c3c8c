"""Local files as request bodies: streamed from disk in small blocks, never read whole into memory."""

from __future__ import annotations

import glob
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from omnidrop.client.errors import LocalFileError

BLOCK = 256 * 1024


@dataclass(frozen=True)
class LocalFile:
    """A file to upload, with the identity its resume state is keyed by (path, size, mtime)."""

    path: Path
    size: int
    mtime_ns: int
    name: str  # the name it gets on the server

    @property
    def key(self) -> str:
        return f"{self.path}|{self.size}|{self.mtime_ns}"

    @classmethod
    def at(cls, path: Path, name: str | None = None) -> LocalFile:
        path = path.resolve()
        try:
            st = path.stat()
        except OSError as exc:
            raise LocalFileError(f"{path}: {exc.strerror or exc}") from None
        if not stat.S_ISREG(st.st_mode):
            raise LocalFileError(f"{path}: not a regular file")
        if not os.access(path, os.R_OK):
            raise LocalFileError(f"{path}: not readable")
        return cls(path, st.st_size, st.st_mtime_ns, name or path.name)

    def check_unchanged(self) -> None:
        """A file edited during its upload would arrive as a mix of two versions: refuse it."""
        try:
            st = self.path.stat()
        except OSError as exc:
            raise LocalFileError(f"{self.path}: {exc.strerror or exc}") from None
        if st.st_size != self.size or st.st_mtime_ns != self.mtime_ns:
            raise LocalFileError(f"{self.path} changed while it was being uploaded; run again to upload it anew")


def read_range(path: Path, start: int, length: int, on_bytes: Callable[[int], None] | None = None,
               block: int = BLOCK) -> Iterator[bytes]:
    """Yield `length` bytes of `path` from `start`, `block` at a time, reporting each block as it goes."""
    with open(path, "rb") as f:
        f.seek(start)
        left = length
        while left > 0:
            data = f.read(min(block, left))
            if not data:
                raise LocalFileError(f"{path} is shorter than expected (truncated while uploading?)")
            left -= len(data)
            if on_bytes:
                on_bytes(len(data))
            yield data


def expand_paths(args: list[str], *, recursive: bool = True) -> list[Path]:
    """Files named by PATHS: files as given, directories walked (sorted, hidden entries skipped),
    glob patterns expanded (the shell usually does it; quoted patterns still work). Order is stable and
    each file appears once."""
    found: list[Path] = []
    for arg in args:
        p = Path(arg).expanduser()
        if p.is_dir():
            found.extend(_walk(p) if recursive else sorted(c for c in p.iterdir() if c.is_file()))
        elif p.exists():
            found.append(p)
        elif glob.has_magic(arg):
            matches = sorted(glob.glob(os.path.expanduser(arg), recursive=True))
            if not matches:
                raise LocalFileError(f"{arg}: no file matches")
            for m in matches:
                mp = Path(m)
                found.extend(_walk(mp) if mp.is_dir() else [mp])
        else:
            raise LocalFileError(f"{arg}: no such file or directory")
    seen: set[Path] = set()
    unique = []
    for p in found:
        r = p.resolve()
        if r not in seen:
            seen.add(r)
            unique.append(p)
    return unique


def _walk(root: Path) -> list[Path]:
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        out.extend(Path(dirpath) / f for f in sorted(filenames) if not f.startswith("."))
    return out


def server_names(paths: list[Path], roots: list[str]) -> dict[Path, str]:
    """Flat, unique names for the server (the File Upload API has no folders): a file found inside a
    directory argument is named by its path below it, folders joined with `_` (`floor1/a.jpg` ->
    `floor1_a.jpg`, as the server flattens archive entries); clashes get `-2`, `-3`… before the extension."""
    dirs = [Path(r).expanduser().resolve() for r in roots if Path(r).expanduser().is_dir()]
    names: dict[Path, str] = {}
    used: set[str] = set()
    for p in paths:
        r = p.resolve()
        base = p.name
        for d in dirs:
            try:
                rel = r.relative_to(d)
            except ValueError:
                continue
            base = "_".join(rel.parts)
            break
        name, n = base, 1
        while name.lower() in used:
            n += 1
            stem, dot, ext = base.rpartition(".")
            name = f"{stem}-{n}.{ext}" if dot and stem else f"{base}-{n}"
        used.add(name.lower())
        names[p] = name
    return names
