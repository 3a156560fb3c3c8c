"""The long-lived objects one process needs, built from settings: database, blob store, core, keys.

The domain services get the job dispatcher handed in here, so they never reach into the queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property

from omnidrop.auth.keys import KeyService
from omnidrop.auth.quotas import Quotas
from omnidrop.auth.rate_limits import LoginThrottle, RateLimiter, open_limiter
from omnidrop.auth.logins import HashGate, LoginService
from omnidrop.db.engine import Database
from omnidrop.jobs.dispatch import Dispatch, dispatch
from omnidrop.projects.service import ProjectService
from omnidrop.projects.shares import ShareService
from omnidrop.settings import Settings
from omnidrop.storage.base import BlobStore
from omnidrop.storage.factory import open_store
from omnidrop.storage.reserve import DiskReserve
from omnidrop.uploads.core import UploadCore, UploadLimits
from omnidrop.uploads.events import EventBus
from omnidrop.uploads.outbox import Outbox, Sink
from omnidrop.uploads.resumable import ResumableUploads
from omnidrop.uploads.stale_multipart import abort_stale_multipart
from omnidrop.uploads.webhooks import WebhookSender
from omnidrop.walkthrough.service import WalkthroughService
from omnidrop.walkthrough.tus_links import TusLinkTracker
from omnidrop.auth.signing import UrlSigner, load_secret
from omnidrop.captures.service import CaptureService
from omnidrop.storage.factory import multipart_store
from omnidrop.uploads.parts import PartsCore
from omnidrop.videos.service import VideoUploads
from omnidrop.vehicles.service import VehicleService


def upload_limits(settings: Settings) -> UploadLimits:
    return UploadLimits(
        ttl_seconds=settings.upload_ttl_seconds,
        max_file_bytes=settings.max_file_bytes,
        max_session_bytes=settings.max_session_bytes,
        allowed_extensions=[e.lower().lstrip(".") for e in settings.allowed_extensions],
        lease_ttl=settings.lease_ttl_seconds,
        lease_renew=settings.lease_renew_seconds,
        lease_wait=settings.lease_wait_seconds,
    )


TUS_LINKS_SINK, WEBHOOK_SINK = "tus_links", "webhook"
OUTBOX_CHORE = "outbox"


@dataclass
class Services:
    settings: Settings
    db: Database
    store: BlobStore
    uploads: UploadCore
    keys: KeyService
    dispatch: Dispatch  # sends "run job X" once a service has committed the job's row

    @classmethod
    def open(cls, settings: Settings, dispatch: Dispatch = dispatch) -> Services:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        reserve = DiskReserve(settings.data_dir / "disk-reserve", settings.disk_reserve_bytes)
        reserve.take()  # where the disk is already full, the first write finds it out
        db = Database(settings.resolved_database_url, on_disk_full=reserve.release)
        store = open_store(settings, reserve)
        core = UploadCore(db, store, upload_limits(settings), Quotas(settings.default_storage_quota_bytes))
        return cls(settings, db, store, core, KeyService(db), dispatch)

    @cached_property
    def limiter(self) -> RateLimiter:
        s = self.settings
        return open_limiter(self.db, s.redis_url, s.rate_limits, s.rate_limits_enabled)

    @cached_property
    def projects(self) -> ProjectService:
        return ProjectService(self.db, self.uploads.quotas, self.settings.job_max_attempts, dispatch=self.dispatch)

    @cached_property
    def shares(self) -> ShareService:
        return ShareService(self.db)

    # Built on first use, so commands that never touch them pay nothing.
    @cached_property
    def events(self) -> EventBus:
        """Upload lifecycle events; the HTTP hooks subscribe when configured."""
        bus = EventBus()
        if self.webhooks is not None:
            self.webhooks.attach(bus)  # the blocking pre-create hook
        return bus

    @cached_property
    def outbox_sinks(self) -> list[Sink]:
        """Where upload events go, durably: the HTTP hook and walkthrough upload objects' tus_links."""
        s = self.settings
        sinks = [Sink(TUS_LINKS_SINK, TusLinkTracker.wants, TusLinkTracker(self.db).on_event, attempts=10)]
        if self.webhooks is not None:
            sinks.append(Sink(WEBHOOK_SINK, self.webhooks.wants, self.webhooks.notify,
                              attempts=s.hooks_retries + 1, backoff=s.hooks_backoff_seconds))
        return sinks

    @cached_property
    def outbox(self) -> Outbox:
        from omnidrop.jobs.dispatch import dispatch_chore

        return Outbox(self.outbox_sinks, on_recorded=lambda: dispatch_chore(OUTBOX_CHORE))

    @cached_property
    def webhooks(self) -> WebhookSender | None:
        s = self.settings
        if not s.hooks_url:
            return None
        return WebhookSender(s.hooks_url, events=s.hooks_events, retries=s.hooks_retries,
                             backoff=s.hooks_backoff_seconds, timeout=s.hooks_timeout_seconds)

    @cached_property
    def resumable(self) -> ResumableUploads:
        return ResumableUploads(self.uploads, self.events, tombstone_days=self.settings.resumable_tombstone_days,
                                outbox=self.outbox)

    @cached_property
    def logins(self) -> LoginService:
        s = self.settings
        throttle = LoginThrottle(self.limiter.storage, s.login_limit_per_user, s.login_limit_per_address)
        return LoginService(self.db, self.keys, s.login_token_ttl_seconds, throttle,
                            HashGate(s.login_hash_concurrency, s.login_hash_queue))

    @cached_property
    def walkthroughs(self) -> WalkthroughService:
        anonymous = self.logins.anonymous_owner if self.settings.tus_allow_anonymous else None
        return WalkthroughService(self.db, self.store, self.resumable, anonymous, self.settings.job_max_attempts,
                                  dispatch=self.dispatch)

    @cached_property
    def signer(self) -> UrlSigner:
        """Signs the URLs omnidrop serves itself (local-disk part URLs)."""
        return UrlSigner(load_secret(self.settings.secret_key, self.settings.data_dir))

    @cached_property
    def parts(self) -> PartsCore:
        return PartsCore(self.db, multipart_store(self.store))

    @cached_property
    def captures(self) -> CaptureService:
        return CaptureService(self.db, self.store, self.parts, self.settings.job_max_attempts, dispatch=self.dispatch)

    @cached_property
    def videos(self) -> VideoUploads:
        return VideoUploads(self.db, self.store, self.parts, self.settings.job_max_attempts, dispatch=self.dispatch)

    @cached_property
    def vehicles(self) -> VehicleService:
        return VehicleService(self.db, self.store, self.settings.job_max_attempts, dispatch=self.dispatch)

    async def reap_expired(self) -> int:
        """Housekeeping (run by the worker's schedule): expired uploads and what hangs off them."""
        reaped = await self.uploads.reap_expired()
        await self.resumable.reap()  # tombstones for the tus/IETF uploads just reaped (410)
        await self.videos.reap_expired()  # direct video groups past their 5 days
        # Multipart uploads of killed writers (derived-output puts, composes) that nothing refers to.
        await abort_stale_multipart(self.db, self.store,
                                    timedelta(seconds=self.settings.reap_multipart_after_seconds))
        purge = getattr(self.limiter.storage, "purge_expired", None)
        if purge is not None:
            await purge()
        return reaped

    async def finish_stranded(self) -> int:
        """Housekeeping: files the database holds whole that a dead writer never marked complete."""
        return await self.resumable.finish_stranded()

    async def close(self) -> None:
        if "events" in self.__dict__:
            await self.events.drain()
        if self.__dict__.get("webhooks") is not None:
            await self.webhooks.close()
        await self.store.close()
        await self.db.dispose()
