"""Fencing under real faults: `omnidrop serve` processes on one PostgreSQL database, frozen (SIGSTOP,
as a long GC pause would) or killed (SIGKILL) mid-write, while another node takes their uploads over.

Invariant 8: a writer whose lease was taken over never changes what is stored, on S3 (moto's server)
or on local disk (two API processes on one data dir). Every stored object is compared by sha256 with
the bytes that were acknowledged. The frozen node is sent other bytes than the node that takes over:
they are never acknowledged, so any of them in an object is corruption, wherever part boundaries fall.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.conftest import _new_pg_database, _pg_admin, _pg_url
from tests.support.resumable import OFFSET_STREAM, TUS, create
from tests.support.server import LiveServer, stored_sha256s

MiB = 1024 * 1024
PART = 5 * MiB  # the S3 store's part size here: the smallest S3 allows, so rounds stay short
TOTAL = PART + MiB
ROUNDS = int(os.environ.get("OMNIDROP_TEST_FENCE_ROUNDS", 20))
# A node's lease is taken over one second after its last renewal, and a writer renews only every 30 s:
# a frozen writer that wakes does not notice the takeover by renewing, only its fence stops it.
LEASES = {"lease_ttl_seconds": 1, "lease_renew_seconds": 30, "lease_wait_seconds": 3}
NAME = "walk.mp4"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module", params=["s3", "local"])
def nodes(request, servers, databases, tmp_path_factory) -> tuple[LiveServer, LiveServer]:
    """Two API nodes on one PostgreSQL database and one store."""
    if request.param == "s3":
        store = {"storage_url": request.getfixturevalue("moto").storage_url() + f"&part_size={PART}"}
        dirs = [tmp_path_factory.mktemp("node-a"), tmp_path_factory.mktemp("node-b")]
    else:
        store = {}
        dirs = [tmp_path_factory.mktemp("shared-node")] * 2
    a, b = (servers.start(database_url=databases("postgresql"), data_dir=d, **store, **LEASES) for d in dirs)
    yield a, b
    a.stop()
    b.stop()


def signal_node(node: LiveServer, sig: int) -> None:
    os.killpg(node.proc.pid, sig)


def received(node: LiveServer, headers: dict, sid: str) -> int:
    return httpx.get(f"{node.api}/uploads/{sid}/{NAME}", headers=headers, timeout=30).json()["received"]


def put_range(node: LiveServer, headers: dict, sid: str, data: bytes, start: int, end: int,
              timeout: float = 60) -> dict:
    """Bytes [start, end) of `data` in one request, again from the acknowledged offset while the
    file is busy (409)."""
    for _ in range(20):
        r = httpx.put(f"{node.api}/uploads/{sid}/{NAME}", content=data[start:end], timeout=timeout, headers={
            **headers, "Content-Range": f"bytes {start}-{end - 1}/{len(data)}"})
        if r.status_code != 409:
            r.raise_for_status()
            return r.json()
        start = r.json()["received"]
    raise AssertionError("the file stayed busy")


class FrozenWriter:
    """A client sending node A other bytes for the first PART+: it pauses once A has most of a part,
    so the SIGSTOP that follows finds A receiving, spooling or sending that part to the store."""

    def __init__(self, node: LiveServer, headers: dict, sid: str, payload: bytes = bytes(TOTAL)) -> None:
        self.sent, self.resume = threading.Event(), threading.Event()
        self.stale = payload
        self.end = TOTAL
        self.thread = threading.Thread(target=self._put, args=(node, headers, sid), daemon=True)
        self.thread.start()

    def _body(self):
        cut = PART + 64 * 1024
        for i in range(0, cut, 256 * 1024):
            yield self.stale[i : min(i + 256 * 1024, cut)]
        self.sent.set()
        self.resume.wait(120)
        yield self.stale[cut : self.end]

    def _put(self, node: LiveServer, headers: dict, sid: str) -> None:
        try:
            httpx.put(f"{node.api}/uploads/{sid}/{NAME}", content=self._body(), timeout=120, headers={
                **headers, "Content-Range": f"bytes 0-{self.end - 1}/{TOTAL}", "Content-Length": str(self.end)})
        except httpx.HTTPError:
            pass  # refused or cut: what matters is what it left behind


def frozen_writer_round(a: LiveServer, b: LiveServer, headers: dict, rng: random.Random) -> bool:
    """One round; True when the stored object is exactly the acknowledged bytes."""
    sid = httpx.post(f"{a.api}/uploads", headers=headers).json()["upload_id"]
    data = os.urandom(TOTAL)
    writer = FrozenWriter(a, headers, sid)
    assert writer.sent.wait(60)
    time.sleep(rng.uniform(0, 0.2))  # stop A at a different point of its work each round
    signal_node(a, signal.SIGSTOP)
    try:
        # B takes over once A's lease expired and writes all but the last bytes: a part and a tail.
        put_range(b, headers, sid, data, received(b, headers, sid), TOTAL - 100, timeout=30)
    except httpx.TimeoutException:
        # A froze inside a database transaction and holds the row B's claim waits for: thaw it, go on.
        signal_node(a, signal.SIGCONT)
        put_range(b, headers, sid, data, received(b, headers, sid), TOTAL - 100)
    finally:
        signal_node(a, signal.SIGCONT)
    writer.resume.set()  # A wakes and goes on sending; its renewal is not due
    writer.thread.join(120)
    assert not writer.thread.is_alive()
    done = put_range(b, headers, sid, data, received(b, headers, sid), TOTAL)
    assert done == {"received": TOTAL, "total": TOTAL, "complete": True}
    return stored_sha256s(b, sid)[NAME] == (TOTAL, sha256(data))


def test_a_node_frozen_mid_part_never_corrupts_an_object(nodes):
    a, b = nodes
    headers = a.headers()
    rng = random.Random(8)
    corrupt = [i for i in range(ROUNDS) if not frozen_writer_round(a, b, headers, rng)]
    assert corrupt == [], f"{len(corrupt)} of {ROUNDS} objects differ from the acknowledged bytes"


def test_a_node_killed_mid_chunk_and_mid_tus_patch_is_resumed_on_the_other_byte_identical(nodes):
    """A dies with a chunk PUT and a tus PATCH half received; both are finished on B. Last in the
    module: A stays down."""
    a, b = nodes
    headers = a.headers()
    chunked, patched = os.urandom(TOTAL), os.urandom(TOTAL)
    sid = httpx.post(f"{a.api}/uploads", headers=headers).json()["upload_id"]
    put_range(a, headers, sid, chunked, 0, MiB)
    chunk_writer = FrozenWriter(a, headers, sid, chunked)
    with httpx.Client(base_url=a.url, headers={**TUS, **headers}, timeout=60) as client:
        path = create(client, TOTAL)
        r = client.patch(path, content=patched[:MiB], headers={**OFFSET_STREAM, "Upload-Offset": "0"})
        assert r.status_code == 204
    sent = threading.Event()

    def patch_body():
        yield patched[MiB : PART + MiB // 2]
        sent.set()
        chunk_writer.resume.wait(120)  # the node dies while waiting for the rest
        yield patched[PART + MiB // 2 :]

    def doomed_patch() -> None:
        try:
            httpx.patch(f"{a.url}{path}", content=patch_body(), timeout=120, headers={
                **TUS, **headers, **OFFSET_STREAM, "Upload-Offset": str(MiB), "Content-Length": str(TOTAL - MiB)})
        except httpx.HTTPError:
            pass

    threading.Thread(target=doomed_patch, daemon=True).start()
    assert chunk_writer.sent.wait(60) and sent.wait(60)
    a.kill()
    chunk_writer.resume.set()

    done = put_range(b, headers, sid, chunked, received(b, headers, sid), TOTAL)
    assert done["complete"]
    assert stored_sha256s(b, sid)[NAME] == (TOTAL, sha256(chunked))
    with httpx.Client(base_url=b.url, headers={**TUS, **headers}, timeout=60) as client:
        for _ in range(20):  # until A's lease has expired
            offset = int(client.head(path).headers["Upload-Offset"])
            r = client.patch(path, content=patched[offset:], headers={**OFFSET_STREAM, "Upload-Offset": str(offset)})
            if r.status_code != 423:
                break
        assert r.status_code == 204, r.text
        assert int(r.headers["Upload-Offset"]) == TOTAL
    assert stored_sha256s(b, path.rsplit("/", 1)[1]) == {"upload": (TOTAL, sha256(patched))}


def test_two_nodes_started_at_once_on_a_fresh_database_both_come_up(servers, tmp_path):
    name = _new_pg_database()
    try:
        url = _pg_url(name)
        with ThreadPoolExecutor(2) as pool:
            started = list(pool.map(lambda d: servers.start(database_url=url, data_dir=tmp_path / d), ["a", "b"]))
        for node in started:
            assert httpx.get(f"{node.url}/healthz").status_code == 200
            node.stop()
    finally:
        import asyncio

        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
