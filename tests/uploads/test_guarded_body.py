"""What the core lets reach the store: the limit, the lease kept before writing, the check, the count,
and a dropped client, whether the store iterates the body or has it write itself into a file."""

from __future__ import annotations

import os

import pytest

from omnidrop.uploads.errors import BodyInterrupted, LengthExceeded
from omnidrop.uploads.guarded_body import GuardedBody


class FakeLease:
    def __init__(self) -> None:
        self.due = False
        self.kept = 0

    async def keep(self) -> None:
        self.kept += 1
        self.due = False


class Digest:
    def __init__(self) -> None:
        self.seen = b""

    def update(self, chunk: bytes) -> None:
        self.seen += chunk

    def verify(self) -> None:
        pass


async def pieces(*parts: bytes, cut: bool = False):
    for p in parts:
        yield p
    if cut:
        raise BodyInterrupted()


class Spliceable:
    """Stands in for a request body the server can write into a file; records how it was asked."""

    def __init__(self, rounds: list[bytes], lease: FakeLease | None = None, cut: bool = False) -> None:
        self.rounds, self.lease, self.cut = rounds, lease, cut
        self.asked: list[int | None] = []

    async def write_into(self, fd, offset, on_written, max_length=None):
        self.asked.append(max_length)
        for data in self.rounds:
            os.pwrite(fd, data, offset)
            offset += len(data)
            if self.lease is not None:
                self.lease.due = True  # time passes between rounds
            await on_written(len(data))
        if self.cut:
            raise BodyInterrupted()
        return sum(map(len, self.rounds))

    def __aiter__(self):
        return pieces(*self.rounds)


def guarded(body, lease=None, check=None, limit=100) -> GuardedBody:
    return GuardedBody(body, limit, lambda got: LengthExceeded(got), lease or FakeLease(), check)


@pytest.fixture
def fd(tmp_path):
    fd = os.open(tmp_path / "f", os.O_RDWR | os.O_CREAT, 0o600)
    yield fd
    os.close(fd)


async def test_iterated_it_counts_checks_and_keeps_the_lease_before_each_due_piece():
    lease, check = FakeLease(), Digest()
    body = guarded(pieces(b"ab", b"cd"), lease, check)
    got = []
    async for chunk in body:
        got.append(chunk)
        lease.due = True
    assert got == [b"ab", b"cd"] and body.count == 4 and check.seen == b"abcd"
    assert lease.kept == 1  # before the second piece only
    assert not body.interrupted


async def test_iterated_past_the_limit_it_fails_before_the_piece_that_crosses_it():
    body = guarded(pieces(b"x" * 60, b"y" * 60))
    got = []
    with pytest.raises(LengthExceeded):
        async for chunk in body:
            got.append(chunk)
    assert got == [b"x" * 60] and body.count == 60


async def test_a_dropped_client_ends_the_body_and_what_came_before_counts():
    body = guarded(pieces(b"abc", cut=True))
    assert [c async for c in body] == [b"abc"]
    assert body.interrupted and body.count == 3


async def test_written_into_a_file_it_counts_reports_and_keeps_the_lease(fd):
    lease = FakeLease()
    inner = Spliceable([b"a" * 30, b"b" * 20], lease)
    reported: list[int] = []

    async def on_written(n: int) -> None:
        reported.append(n)

    body = guarded(inner, lease, limit=80)
    assert await body.write_into(fd, 0, on_written) == 50
    assert inner.asked == [80]  # the server declines a longer body, which is then iterated and fails
    assert reported == [30, 20] and body.count == 50 and lease.kept == 2
    assert os.pread(fd, 100, 0) == b"a" * 30 + b"b" * 20


async def test_a_client_dropped_while_writing_into_a_file_keeps_what_landed(fd):
    async def ignore(n: int) -> None:
        pass

    body = guarded(Spliceable([b"abc", b"de"], cut=True))
    assert await body.write_into(fd, 0, ignore) == 5
    assert body.interrupted and body.count == 5


async def test_a_body_that_a_check_must_see_or_that_cannot_write_itself_is_never_written_into_a_file(fd):
    async def ignore(n: int) -> None:
        pass

    inner = Spliceable([b"abc"])
    assert await guarded(inner, check=Digest()).write_into(fd, 0, ignore) is None
    assert inner.asked == []
    assert await guarded(pieces(b"abc")).write_into(fd, 0, ignore) is None
