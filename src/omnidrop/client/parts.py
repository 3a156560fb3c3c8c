"""Presigned parts: PUT each part of a file to a URL the server hands out, keep its ETag, complete.

The part URLs may point at S3 itself, so part PUTs go out on a separate connection pool that carries no
omnidrop credentials. Parts of one file go in parallel (S3 allows it, unlike the chunked API's single
writer); a shared semaphore bounds the bodies in flight across every file of a run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass

import httpx

from omnidrop.client.errors import ApiError
from omnidrop.client.files import LocalFile, read_range
from omnidrop.client.progress import NoProgress, Progress
from omnidrop.client.transport import RETRYABLE_NETWORK, Transport, is_retryable_status

MIN_PART = 5 * 1024 * 1024
MAX_PARTS = 10_000
MiB = 1024 * 1024


@dataclass(frozen=True)
class PartPlan:
    size: int
    part_size: int

    @property
    def count(self) -> int:
        return max(1, -(-self.size // self.part_size))

    def span(self, number: int) -> tuple[int, int]:
        start = (number - 1) * self.part_size
        return start, max(0, min(self.part_size, self.size - start))

    @classmethod
    def for_size(cls, size: int, wanted: int) -> PartPlan:
        """At least 5 MiB (S3's minimum), whole MiBs, and never more than 10 000 parts."""
        part = max(MIN_PART, wanted)
        while -(-size // part) > MAX_PARTS:
            part *= 2
        return cls(size, part)


Sign = Callable[[int], str]  # part number -> a fresh URL to PUT it to


class PartUploader:
    def __init__(self, transport: Transport, *, parallel: int = 4, slots: threading.Semaphore | None = None) -> None:
        self.t = transport
        self.parallel = max(1, parallel)
        self.slots = slots or threading.BoundedSemaphore(self.parallel)
        self._bare: httpx.Client | None = None
        self._bare_lock = threading.Lock()

    @property
    def bare(self) -> httpx.Client:
        with self._bare_lock:
            if self._bare is None:
                self._bare = httpx.Client(timeout=httpx.Timeout(300.0, connect=15.0), follow_redirects=False,
                                          limits=httpx.Limits(max_connections=self.parallel * 2))
            return self._bare

    def close(self) -> None:
        if self._bare is not None:
            self._bare.close()

    def put_part(self, url: str, f: LocalFile, start: int, length: int, on_bytes: Callable[[int], None]) -> str:
        r = self.bare.put(url, content=read_range(f.path, start, length, on_bytes),
                          headers={"Content-Length": str(length)})
        if r.status_code >= 300:
            raise ApiError.from_response(r)
        etag = r.headers.get("etag")
        if not etag:
            raise ApiError(r.status_code, "missing_etag", "the part URL answered without an ETag header")
        return etag

    def upload(self, f: LocalFile, plan: PartPlan, sign: Sign, *, etags: dict[int, str] | None = None,
               on_etag: Callable[[int, str], None] | None = None, progress: Progress | None = None) -> dict[int, str]:
        """Every part of `f` not in `etags`; returns all ETags by part number."""
        progress = progress or NoProgress()
        done: dict[int, str] = dict(etags or {})
        lock = threading.Lock()
        in_flight: dict[int, int] = {}
        confirmed = [sum(plan.span(n)[1] for n in done)]
        progress.start(f.key, f.name, f.size, confirmed[0])

        def report() -> None:
            progress.update(f.key, confirmed[0] + sum(in_flight.values()))

        def one(number: int) -> None:
            start, length = plan.span(number)
            failures = self.t.failures(f"part {number} of {f.name}")
            while True:
                f.check_unchanged()
                with lock:
                    in_flight[number] = 0

                def on_bytes(n: int) -> None:
                    with lock:
                        in_flight[number] += n
                        report()

                url = sign(number)  # the transport retries signing itself; its refusals are final
                try:
                    with self.slots:
                        etag = self.put_part(url, f, start, length, on_bytes)
                except ApiError as exc:
                    with lock:
                        in_flight.pop(number, None)
                        report()
                    # 403 from a part URL: it expired while it waited; a fresh one is signed on the next try.
                    if not (is_retryable_status(exc.status) or exc.status == 403):
                        raise
                    failures.failed(exc)
                    continue
                except RETRYABLE_NETWORK as exc:
                    with lock:
                        in_flight.pop(number, None)
                        report()
                    failures.failed(exc)
                    continue
                with lock:
                    in_flight.pop(number, None)
                    done[number] = etag
                    confirmed[0] += length
                    report()
                if on_etag:
                    on_etag(number, etag)
                return

        todo = [n for n in range(1, plan.count + 1) if n not in done]
        if todo:
            pool = ThreadPoolExecutor(max_workers=min(self.parallel, len(todo)), thread_name_prefix="omnidrop-part")
            try:
                futures = [pool.submit(one, n) for n in todo]
                wait(futures, return_when=FIRST_EXCEPTION)
                for fut in futures:
                    if fut.done() and fut.exception():
                        raise fut.exception()  # type: ignore[misc]
                for fut in futures:
                    fut.result()
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
            pool.shutdown()
        progress.update(f.key, f.size)
        progress.finish(f.key)
        return done
