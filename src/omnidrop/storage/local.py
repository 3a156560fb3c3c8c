"""Blobs as plain files under one directory."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path

from omnidrop.storage.base import BlobInfo, BlobMismatch, BlobStore, check_key
from omnidrop.storage.fence import WriteFence
from omnidrop.storage.file_writer import write_stream
from omnidrop.storage.local_segments import Segment, SegmentRecord
from omnidrop.storage.reserve import DiskReserve, is_full

READ_BLOCK = 1024 * 1024
SEGMENT, FINISHING = ".~seg-", ".~final-"  # beside the blob; '~' never appears in a key (check_key)


class LocalBlobStore(BlobStore):
    def __init__(self, root: Path, *, fsync: bool = True, reserve: DiskReserve | None = None) -> None:
        self.root = root.resolve()
        self.fsync = fsync
        self.reserve = reserve  # see storage/reserve.py: no new bytes while it is released
        self.root.mkdir(parents=True, exist_ok=True)

    def _guarded(self) -> None:
        if self.reserve is not None:
            self.reserve.before_write()

    def _met_full_disk(self, exc: BaseException) -> None:
        if self.reserve is not None and is_full(exc):
            self.reserve.release()

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    def _segment_path(self, key: str, segment: Segment) -> Path:
        path = self._path(key)
        return path if segment.epoch == 0 else path.with_name(f"{path.name}{SEGMENT}{segment.epoch}")

    async def write(self, key: str, offset: int, chunks: AsyncIterable[bytes], *,
                    fence: WriteFence | None = None) -> int:
        path = self._path(key)
        self._guarded()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            record = SegmentRecord.load(fence.state) if fence is not None else None
            if record is not None:
                if offset < record.last.start:
                    raise BlobMismatch(f"{key}: a fenced write at {offset} lies before its segment ({record.last.start})")
                if record.last.epoch < fence.fenced_below:
                    # A writer that was taken over may still write into the last segment: start a new one.
                    record.segments.append(Segment(offset, fence.epoch))
                    fence.state = record.dump()
                path = self._segment_path(key, record.last)
                offset -= record.last.start
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o640)
            try:
                return await write_stream(fd, offset, chunks, durable=self.fsync)
            finally:
                os.close(fd)
        except OSError as exc:
            self._met_full_disk(exc)
            raise

    async def finalize(self, key: str, size: int, *, fence: WriteFence | None = None) -> None:
        record = SegmentRecord.load(fence.state) if fence is not None else None
        if record is not None and len(record.segments) > 1:
            await asyncio.to_thread(self._join_segments, key, record, size)
            return
        path = self._path(key)
        if not path.exists():  # a zero-byte file never had a write
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
        if path.stat().st_size != size:
            # Leftovers past `size` can only come from writes that were never acknowledged.
            os.truncate(path, size)

    def _join_segments(self, key: str, record: SegmentRecord, size: int) -> None:
        """Copy the counting bytes of every segment into a new file and put it in the blob's place.

        A new file: stale writers hold descriptors of the old ones, and their late bytes stay there.
        """
        path = self._path(key)
        later = [self._segment_path(key, s) for s in record.segments[1:]]
        if not any(p.exists() for p in later):  # joined before (a crash before `complete` was recorded)
            if path.stat().st_size != size:
                raise BlobMismatch(f"{key}: the joined file has {path.stat().st_size} bytes, not {size}")
            return
        joined = path.with_name(f"{path.name}{FINISHING}{record.last.epoch}")
        out = os.open(joined, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        try:
            for segment, start, end in record.extents(size):
                src = os.open(self._segment_path(key, segment), os.O_RDONLY)
                try:
                    _copy_range(src, start - segment.start, out, start, end - start)
                finally:
                    os.close(src)
            if os.fstat(out).st_size != size:
                raise BlobMismatch(f"{key}: the segments hold {os.fstat(out).st_size} of {size} bytes")
            if self.fsync:
                os.fsync(out)
        finally:
            os.close(out)
        os.replace(joined, path)
        for p in later:
            p.unlink(missing_ok=True)

    async def size(self, key: str) -> int | None:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            return None

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        path = self._path(key)
        with open(path, "rb") as f:
            f.seek(start)
            remaining = None if end is None else end - start
            while remaining is None or remaining > 0:
                n = READ_BLOCK if remaining is None else min(READ_BLOCK, remaining)
                block = await asyncio.to_thread(f.read, n)
                if not block:
                    return
                if remaining is not None:
                    remaining -= len(block)
                yield block

    async def delete(self, key: str) -> None:
        path = self._path(key)
        if path.parent.is_dir():
            for side in path.parent.iterdir():
                if side.name.startswith(f"{path.name}.~"):  # its segments
                    side.unlink(missing_ok=True)
        path.unlink(missing_ok=True)

    async def delete_prefix(self, prefix: str) -> None:
        path = self._path(prefix)
        await asyncio.to_thread(shutil.rmtree, path, True)

    async def list(self, prefix: str) -> AsyncIterator[BlobInfo]:
        base = self._path(prefix)
        if not base.is_dir():
            return
        for path in sorted(p for p in base.rglob("*") if p.is_file() and ".~" not in p.name):
            yield BlobInfo(key=path.relative_to(self.root).as_posix(), size=path.stat().st_size)


def _copy_range(src: int, src_offset: int, dst: int, dst_offset: int, n: int) -> None:
    """n bytes from one file into another, inside the kernel where it can (copy_file_range)."""
    while n > 0:
        try:
            done = os.copy_file_range(src, dst, n, src_offset, dst_offset)
        except OSError:
            done = os.pwrite(dst, os.pread(src, min(n, READ_BLOCK), src_offset), dst_offset)
        if done == 0:
            raise BlobMismatch(f"a segment ends {n} bytes short")
        n, src_offset, dst_offset = n - done, src_offset + done, dst_offset + done
