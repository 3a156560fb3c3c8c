"""The S3 store's record of an upload blob still being written, kept by the database (fence.state).

An unfinished blob is an S3 multipart upload plus a tail object shorter than a part. The record
names exactly the parts that were acknowledged (number, size, ETag) and the tail (its writer's epoch,
its length). It changes only in a commit guarded by the writer's lease, so a writer that was taken
over cannot change it; and since every part number is drawn under the lease and every tail is named
after its writer's epoch, such a writer's late part or tail lands under a number or a name this
record never lists. Completion sends these ETags, so S3 itself refuses any part that was replaced.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from omnidrop.storage.multipart import PartInfo


@dataclass
class S3Ledger:
    upload_id: str | None = None
    parts: list[PartInfo] = field(default_factory=list)
    tail_epoch: int | None = None  # the tail object is `<key>.~tail-<epoch>`
    tail: int = 0

    @property
    def part_bytes(self) -> int:
        return sum(p.size for p in self.parts)

    @property
    def durable(self) -> int:
        return self.part_bytes + self.tail

    @classmethod
    def load(cls, state: str | None) -> S3Ledger:
        if not state:
            return cls()
        raw = json.loads(state)
        return cls(raw["upload_id"], [PartInfo(*p) for p in raw["parts"]], raw["tail_epoch"], raw["tail"])

    def dump(self) -> str:
        return json.dumps({"upload_id": self.upload_id, "parts": [[p.number, p.size, p.etag] for p in self.parts],
                           "tail_epoch": self.tail_epoch, "tail": self.tail}, separators=(",", ":"))
