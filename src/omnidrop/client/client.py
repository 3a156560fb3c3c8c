"""`Client`: one object holding a server's connection pool and every surface's API."""

from __future__ import annotations

import threading
from functools import cached_property

from omnidrop.client.captures import CapturesAPI
from omnidrop.client.companion import CompanionAPI
from omnidrop.client.config import Credentials, resolve
from omnidrop.client.file_upload import FileUploadAPI
from omnidrop.client.parts import PartUploader
from omnidrop.client.resumable import ResumableAPI
from omnidrop.client.transport import RetryPolicy, Transport
from omnidrop.client.vehicles import VehiclesAPI
from omnidrop.client.videos import HEADER as VIDEO_KEY_HEADER
from omnidrop.client.videos import VideosAPI
from omnidrop.client.walkthrough import WalkthroughAPI


class Client:
    """A typed client for every omnidrop surface.

    >>> with Client("http://127.0.0.1:8000", api_key="sk_…") as c:
    ...     upload_id = c.uploads.create_session()
    """

    def __init__(self, url: str | None = None, api_key: str | None = None, *, token: str | None = None,
                 parallel: int = 4, retry: RetryPolicy | None = None, timeout: float = 120.0,
                 tus_path: str = "/files/", on_retry=None) -> None:
        self.credentials: Credentials = resolve(url, api_key, token)
        self.parallel = max(1, parallel)
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.tus_path = tus_path
        self.on_retry = on_retry
        bearer = self.credentials.bearer
        self.transport = self._transport({"Authorization": f"Bearer {bearer}"} if bearer else {})
        # Bodies in flight across every file and part of this client.
        self.slots = threading.BoundedSemaphore(self.parallel)

    def _transport(self, headers: dict[str, str]) -> Transport:
        return Transport(self.credentials.url, headers=headers, timeout=self.timeout,
                         max_connections=self.parallel * 2 + 4, retry=self.retry, on_retry=self.on_retry)

    @property
    def url(self) -> str:
        return self.credentials.url

    @cached_property
    def part_uploader(self) -> PartUploader:
        return PartUploader(self.transport, parallel=self.parallel, slots=self.slots)

    @cached_property
    def uploads(self) -> FileUploadAPI:
        return FileUploadAPI(self.transport)

    @cached_property
    def tus(self) -> ResumableAPI:
        return ResumableAPI(self.transport, "tus", self.tus_path)

    @cached_property
    def ietf(self) -> ResumableAPI:
        return ResumableAPI(self.transport, "ietf", self.tus_path)

    @cached_property
    def companion(self) -> CompanionAPI:
        return CompanionAPI(self.transport, self.part_uploader)

    @cached_property
    def captures(self) -> CapturesAPI:
        return CapturesAPI(self.transport, self.part_uploader)

    @cached_property
    def videos(self) -> VideosAPI:
        key = self.credentials.api_key
        return VideosAPI(self._transport({VIDEO_KEY_HEADER: key} if key else {}), self.part_uploader)

    @cached_property
    def vehicles(self) -> VehiclesAPI:
        return VehiclesAPI(self.transport)

    @cached_property
    def walkthrough(self) -> WalkthroughAPI:
        return WalkthroughAPI(self.transport)

    def close(self) -> None:
        self.transport.close()
        if "videos" in self.__dict__:
            self.videos.t.close()
        if "part_uploader" in self.__dict__:
            self.part_uploader.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
