"""The upload event bus, the HTTP hooks that subscribe to it, and events from real resumable uploads."""

from __future__ import annotations

import json
import os
import time

import pytest

from omnidrop.auth.keys import KeyService
from omnidrop.storage.local import LocalBlobStore
from omnidrop.uploads.core import UploadCore, UploadLimits
from omnidrop.uploads.events import CREATED, FINISHED, PRE_CREATE, TERMINATED, CreationRejected, EventBus, UploadEvent
from omnidrop.uploads.resumable import ResumableUploads
from omnidrop.uploads.webhooks import WebhookSender
from tests.support.hook_receiver import HookReceiver
from tests.support.resumable import create, metadata, patch, tus_client


def event(kind: str = CREATED, **meta: str) -> UploadEvent:
    return UploadEvent(kind, "u1", "owner", "tus", 10, 0, meta)


async def body(data: bytes):
    yield data


# -- the bus ---------------------------------------------------------------------------------------


async def test_listeners_hear_their_types_and_a_failing_one_harms_no_one():
    bus = EventBus()
    heard: list[str] = []

    async def boom(e):
        raise RuntimeError("listener bug")

    async def record(e):
        heard.append(e.type)

    bus.subscribe(boom)
    bus.subscribe(record, FINISHED)
    for kind in (CREATED, FINISHED, TERMINATED):
        bus.publish(event(kind))
    await bus.drain()
    assert heard == [FINISHED]


async def test_a_check_can_refuse_and_the_first_refusal_wins():
    bus = EventBus()
    seen: list[str] = []

    async def needs_filename(e):
        seen.append("first")
        if "filename" not in e.meta:
            raise CreationRejected("filename is required", status=422)

    async def second(e):
        seen.append("second")

    bus.add_check(needs_filename)
    bus.add_check(second)
    with pytest.raises(CreationRejected) as refused:
        await bus.check(event(PRE_CREATE))
    assert refused.value.status == 422 and seen == ["first"]
    await bus.check(event(PRE_CREATE, filename="a.insv"))
    assert seen == ["first", "first", "second"]


async def test_resumable_uploads_emit_created_finished_terminated(db, tmp_path):
    bus = EventBus()
    heard: list[tuple[str, str, int]] = []

    async def record(e):
        heard.append((e.type, e.upload_id, e.offset))

    bus.subscribe(record)
    owner = await KeyService(db).ensure_owner(f"owner-{os.urandom(4).hex()}")
    core = UploadCore(db, LocalBlobStore(tmp_path / "blobs"), UploadLimits(ttl_seconds=60))
    uploads = ResumableUploads(core, bus)
    info = await uploads.create(owner, length=4, meta={"filename": "a.insv"})
    await uploads.append(owner, info.id, offset=0, body=body(b"ab"))
    await uploads.append(owner, info.id, offset=2, body=body(b"cd"))
    await uploads.append(owner, info.id, offset=4, body=body(b""))  # a repeat after completion: no second event
    await uploads.terminate(owner, info.id)
    await bus.drain()
    assert heard == [(CREATED, info.id, 0), (FINISHED, info.id, 4), (TERMINATED, info.id, 4)]


# -- HTTP hooks ------------------------------------------------------------------------------------


async def test_an_unreachable_pre_create_hook_refuses_with_503():
    sender = WebhookSender("http://127.0.0.1:9/hooks", events=[PRE_CREATE], retries=1, backoff=0)
    try:
        with pytest.raises(CreationRejected) as refused:
            await sender.check(event(PRE_CREATE))
    finally:
        await sender.close()
    assert refused.value.status == 503


def reject_without_filename(e: dict) -> tuple[int, bytes]:
    if e["type"] == PRE_CREATE and "filename" not in e["metadata"]:
        return 422, json.dumps({"message": "metadata needs a filename"}).encode()
    return 200, b""


@pytest.fixture(scope="module")
def hooked(servers, db_url):
    receiver = HookReceiver(reject_without_filename).__enter__()
    live = servers.start(database_url=db_url, hooks_url=receiver.url, hooks_backoff_seconds=0.1)
    yield live, receiver
    receiver.__exit__(None, None, None)


def wait_for(condition, what: str) -> None:
    """Hooks are delivered after the response; poll briefly for them (a bound, not a timing assertion)."""
    for _ in range(200):
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


def test_a_hook_refuses_creation_with_its_status_and_message(hooked):
    live, receiver = hooked
    with tus_client(live) as tus:
        r = tus.post("/files/", headers={"Upload-Length": "3", "Upload-Metadata": metadata(filetype="video/mp4")})
        assert r.status_code == 422
        assert "metadata needs a filename" in r.text
        r = tus.post("/files/", headers={"Upload-Length": "3", "Upload-Complete": "?0",
                                         "Upload-Draft-Interop-Version": "6"})
        assert r.status_code == 422 and "filename" in r.json()["title"]


def test_hooks_hear_created_finished_and_terminated(hooked):
    live, receiver = hooked
    with tus_client(live) as tus:
        path = create(tus, 3, **{"Upload-Metadata": metadata(filename="walk.insv")})
        upload_id = path.rsplit("/", 1)[1]
        patch(tus, path, 0, b"abc")
        wait_for(lambda: FINISHED in receiver.types(upload_id), "finished hook")
        tus.delete(path)
        wait_for(lambda: TERMINATED in receiver.types(upload_id), "terminated hook")
    types = receiver.types(upload_id)
    # pre-create comes first; the notifications run in their own tasks, so their order is not promised.
    assert types[0] == PRE_CREATE and sorted(types[1:]) == sorted([CREATED, FINISHED, TERMINATED])
    finished = next(e for e in receiver.events if e["upload_id"] == upload_id and e["type"] == FINISHED)
    assert (finished["size"], finished["offset"], finished["metadata"]) == (3, 3, {"filename": "walk.insv"})
