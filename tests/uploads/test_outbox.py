"""The outbox: upload events written with the change they report, delivered at least once by workers,
in order per upload, retried with backoff, and taken over from a worker that died mid-delivery."""

from __future__ import annotations

import os
from datetime import timedelta

from sqlalchemy import select, update

from omnidrop.auth.keys import KeyService
from omnidrop.db.models import OutboxEvent
from omnidrop.db.types import utcnow
from omnidrop.storage.local import LocalBlobStore
from omnidrop.uploads.core import UploadCore, UploadLimits
from omnidrop.uploads.events import CREATED, FINISHED, TERMINATED, EventBus, UploadEvent
from omnidrop.uploads.outbox import Outbox, OutboxDelivery, Sink
from omnidrop.uploads.resumable import ResumableUploads
from omnidrop.uploads.webhooks import WebhookSender
from tests.support.hook_receiver import HookReceiver


async def body(data: bytes):
    yield data


def sink_name() -> str:
    """Each test's own sink: the database is shared with live servers whose workers deliver theirs."""
    return f"test-{os.urandom(4).hex()}"


class Recorder:
    def __init__(self, fail_first: int = 0) -> None:
        self.heard: list[tuple[str, str]] = []
        self.fail_first = fail_first

    async def __call__(self, event: UploadEvent) -> None:
        if self.fail_first:
            self.fail_first -= 1
            raise ConnectionError("the sink is down")
        self.heard.append((event.type, event.upload_id))


async def rows(db, sink: str) -> list[OutboxEvent]:
    async with db.read() as s:
        return list(await s.scalars(select(OutboxEvent).where(OutboxEvent.sink == sink).order_by(OutboxEvent.id)))


async def test_events_are_committed_with_the_change_and_delivered_later_in_order(db, tmp_path):
    name, recorder = sink_name(), Recorder()
    sink = Sink(name, lambda e: True, recorder)
    owner = await KeyService(db).ensure_owner(f"owner-{os.urandom(4).hex()}")
    core = UploadCore(db, LocalBlobStore(tmp_path / "blobs"), UploadLimits(ttl_seconds=60))
    # No in-process listener at all: the process that served the requests delivers nothing itself.
    uploads = ResumableUploads(core, EventBus(), outbox=Outbox([sink]))
    info = await uploads.create(owner, length=4, meta={"filename": "a.insv"})
    await uploads.append(owner, info.id, offset=0, body=body(b"abcd"))
    await uploads.terminate(owner, info.id)
    assert [r.payload["type"] for r in await rows(db, name)] == [CREATED, FINISHED, TERMINATED]
    # Any worker, later: here one with a Database of its own, as on another machine.
    assert await OutboxDelivery(db, [sink], "worker-b").deliver_due() == 3
    assert recorder.heard == [(CREATED, info.id), (FINISHED, info.id), (TERMINATED, info.id)]
    assert await rows(db, name) == []


async def test_a_failing_sink_is_retried_with_backoff_and_holds_back_that_uploads_later_events(db):
    name, recorder = sink_name(), Recorder(fail_first=1)
    sink = Sink(name, lambda e: True, recorder, attempts=3, backoff=3600)
    outbox = Outbox([sink])
    async with db.write() as s:
        await outbox.record(s, UploadEvent(CREATED, "upload-a", "o", "tus", 1))
        await outbox.record(s, UploadEvent(FINISHED, "upload-a", "o", "tus", 1, 1))
        await outbox.record(s, UploadEvent(CREATED, "upload-b", "o", "tus", 1))
    delivery = OutboxDelivery(db, [sink], "w")
    assert await delivery.deliver_due() == 1  # a's created failed and waits an hour; b's went through
    assert recorder.heard == [(CREATED, "upload-b")]
    first = (await rows(db, name))[0]
    assert (first.attempts, first.payload["type"], first.last_error) == (1, CREATED, "ConnectionError: the sink is down")
    assert first.due_at - utcnow() > timedelta(minutes=50)
    async with db.write() as s:  # the backoff is over
        await s.execute(update(OutboxEvent).where(OutboxEvent.id == first.id).values(due_at=utcnow() - timedelta(seconds=1)))
    assert await delivery.deliver_due() == 2
    assert recorder.heard[1:] == [(CREATED, "upload-a"), (FINISHED, "upload-a")]


async def test_a_claim_of_a_dead_worker_lapses_and_another_delivers(db):
    name, recorder = sink_name(), Recorder()
    sink = Sink(name, lambda e: True, recorder)
    async with db.write() as s:
        await Outbox([sink]).record(s, UploadEvent(FINISHED, "upload-c", "o", "tus", 1, 1))
    row = (await rows(db, name))[0]
    async with db.write() as s:  # claimed by a worker that is now mid-delivery, or dead
        await s.execute(update(OutboxEvent).where(OutboxEvent.id == row.id)
                        .values(claimed_by="dead", claim_until=utcnow() + timedelta(minutes=5)))
    assert await OutboxDelivery(db, [sink], "w").deliver_due() == 0
    async with db.write() as s:  # its claim ran out
        await s.execute(update(OutboxEvent).where(OutboxEvent.id == row.id)
                        .values(claim_until=utcnow() - timedelta(seconds=1)))
    assert await OutboxDelivery(db, [sink], "w").deliver_due() == 1
    assert recorder.heard == [(FINISHED, "upload-c")]


async def test_a_worker_leaves_alone_the_events_of_sinks_it_does_not_have(db):
    name = sink_name()
    async with db.write() as s:
        await Outbox([Sink(name, lambda e: True, Recorder())]).record(s, UploadEvent(CREATED, "upload-d", "o", "tus", 1))
    assert await OutboxDelivery(db, [Sink(sink_name(), lambda e: True, Recorder())], "w").deliver_due() == 0
    assert [r.attempts for r in await rows(db, name)] == [0]


async def test_hook_notifications_are_retried_until_delivered_then_given_up(db):
    answers = iter([500, 503, 200, 500, 500, 500])
    with HookReceiver(lambda e: (next(answers), b"")) as receiver:
        sender = WebhookSender(receiver.url, events=[FINISHED])
        name = sink_name()
        sink = Sink(name, sender.wants, sender.notify, attempts=3, backoff=0)
        try:
            async with db.write() as s:
                await Outbox([sink]).record(s, UploadEvent(FINISHED, "upload-e", "o", "tus", 1, 1))
                await Outbox([sink]).record(s, UploadEvent(FINISHED, "upload-f", "o", "tus", 1, 1))
            assert await OutboxDelivery(db, [sink], "w").deliver_due() == 1
        finally:
            await sender.close()
    assert receiver.attempts == 6  # e: 500, 503, 200; f: three 500s, then dropped
    assert [e["upload_id"] for e in receiver.events] == ["upload-e"]
    assert await rows(db, name) == []


class Crash(BaseException):
    """The process dying: nothing after the point it is raised runs (not even `except Exception`)."""


async def test_a_crash_right_after_the_completion_commit_keeps_the_finished_event(db, tmp_path):
    name, recorder = sink_name(), Recorder()
    sink = Sink(name, lambda e: True, recorder)
    owner = await KeyService(db).ensure_owner(f"owner-{os.urandom(4).hex()}")
    core = UploadCore(db, LocalBlobStore(tmp_path / "blobs"), UploadLimits(ttl_seconds=60))
    uploads = ResumableUploads(core, EventBus(), outbox=Outbox([sink]))
    info = await uploads.create(owner, length=4)
    complete_once = core.append

    async def append_then_die(*args, **kwargs):
        await complete_once(*args, **kwargs)  # the core has committed `complete`
        raise Crash()

    core.append = append_then_die
    try:
        await uploads.append(owner, info.id, offset=0, body=body(b"abcd"))
    except Crash:
        pass
    assert (await uploads.get(owner, info.id)).complete
    assert [(r.payload["type"], r.payload["offset"], r.payload["size"]) for r in await rows(db, name)] == [
        (CREATED, 0, 4), (FINISHED, 4, 4)]
    assert await OutboxDelivery(db, [sink], "another-worker").deliver_due() == 2
    assert recorder.heard == [(CREATED, info.id), (FINISHED, info.id)]
