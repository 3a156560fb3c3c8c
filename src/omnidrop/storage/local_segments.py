"""The local store's record of an upload blob still being written (fence.state): its segments.

A writer frozen mid-write (SIGSTOP, a long GC pause) holds an open descriptor of its file and will
pwrite into it when it wakes; nothing can take that descriptor away. So after such a writer's lease
is taken over, the bytes it could still reach are never read again: the next writer starts a new
segment, a file of its own beside the blob, at the acknowledged offset, and every later byte is
read from there. Since a stale writer only ever writes at or past the acknowledged offset it started
from, it writes only into its own segment at or past where the next segment begins: bytes that are
shadowed by that segment and never read. Finishing a blob of several segments copies them into a new
file that replaces the blob's path, so no stale descriptor refers to the finished file either.

Writers that gave their lease back (commit or release) have stopped writing, so while no takeover
happened, every write goes on in the same file: a blob written without one is a single file, and
finishing it costs nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Segment:
    start: int  # the blob offset of the segment's first byte
    epoch: int  # the lease epoch that opened it; 0 for the blob's own file


@dataclass
class SegmentRecord:
    segments: list[Segment] = field(default_factory=lambda: [Segment(0, 0)])

    @property
    def last(self) -> Segment:
        return self.segments[-1]

    def extents(self, size: int) -> list[tuple[Segment, int, int]]:
        """(segment, blob start, blob end) of each segment's bytes that count, for a blob of `size`."""
        ends = [s.start for s in self.segments[1:]] + [size]
        return [(s, s.start, end) for s, end in zip(self.segments, ends) if end > s.start]

    @classmethod
    def load(cls, state: str | None) -> SegmentRecord:
        if not state:
            return cls()
        return cls([Segment(*s) for s in json.loads(state)["segments"]])

    def dump(self) -> str:
        return json.dumps({"segments": [[s.start, s.epoch] for s in self.segments]}, separators=(",", ":"))
