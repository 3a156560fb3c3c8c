"""One HTTP connection pool to an omnidrop server, with the retry rules every call shares.

Retried: network errors, 5xx, 429 (waiting as long as `Retry-After` says) and tus's 423 (a locked
upload). Everything else is an `ApiError` at once: a 4xx will not get better by asking again.
Upload loops use `RetryPolicy` themselves, because before resending they must ask the server's offset.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from omnidrop.client.errors import ApiError, TransportError, retry_after

USER_AGENT = "omnidrop-client/0.1"


def is_retryable_status(status: int) -> bool:
    return status >= 500 or status in (408, 423, 429)


@dataclass
class RetryPolicy:
    """Exponential backoff with full jitter; `attempts` failures in a row without progress end it."""

    attempts: int = 10
    base_seconds: float = 0.5
    max_seconds: float = 30.0
    # Never wait longer than this for a Retry-After (a server asking for an hour is refused instead).
    max_retry_after_seconds: float = 900.0
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, failure: int, wait_hint: float | None = None) -> float:
        if wait_hint is not None:
            return min(wait_hint, self.max_retry_after_seconds)
        return self.rng.uniform(0, min(self.max_seconds, self.base_seconds * 2 ** (failure - 1)))

    def pause(self, failure: int, wait_hint: float | None = None) -> None:
        self.sleep(self.delay(failure, wait_hint))


class Failures:
    """Counts failures in a row for one operation; progress resets it. Raises when the budget is spent."""

    def __init__(self, policy: RetryPolicy, what: str, on_retry: Callable[[str], None] | None = None) -> None:
        self.policy = policy
        self.what = what
        self.count = 0
        self.on_retry = on_retry

    def progress(self) -> None:
        self.count = 0

    def retry(self, exc: Exception) -> None:
        """After a failed request: re-raise what asking again will not fix (a 4xx), else as `failed`."""
        if isinstance(exc, ApiError) and not is_retryable_status(exc.status):
            raise exc
        self.failed(exc)

    def failed(self, exc: Exception) -> None:
        """Wait before the next try, or re-raise `exc` (as a TransportError for network errors)."""
        self.count += 1
        if self.count >= self.policy.attempts:
            if isinstance(exc, ApiError):
                raise exc
            raise TransportError(f"{self.what}: {describe(exc)} (gave up after {self.count} tries)") from exc
        hint = exc.retry_after if isinstance(exc, ApiError) and exc.status in (429, 503) else None
        if isinstance(exc, ApiError) and exc.retry_after is not None and hint is not None \
                and exc.retry_after > self.policy.max_retry_after_seconds:
            raise exc
        if self.on_retry:
            self.on_retry(f"{self.what}: {describe(exc)}; retrying")
        self.policy.pause(self.count, hint)


def describe(exc: Exception) -> str:
    if isinstance(exc, ApiError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


RETRYABLE_NETWORK = (httpx.TransportError,)
# What one request can fail with: the server's refusals and network errors, both judged by Failures.retry.
REQUEST_ERRORS = (ApiError, *RETRYABLE_NETWORK)


class Transport:
    """An httpx.Client bound to one server, safe to share between threads."""

    def __init__(self, base_url: str, *, headers: dict[str, str] | None = None, timeout: float = 120.0,
                 max_connections: int = 16, retry: RetryPolicy | None = None, verify: bool = True,
                 on_retry: Callable[[str], None] | None = None,
                 http_transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.on_retry = on_retry
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        # No redirects are followed, so a plain-http server never needs TLS: skip loading the CA bundle.
        if self.base_url.startswith("http://"):
            verify = False
        self.http = httpx.Client(
            base_url=self.base_url, headers={"User-Agent": USER_AGENT, **(headers or {})},
            timeout=httpx.Timeout(timeout, connect=15.0), limits=limits, verify=verify, follow_redirects=False,
            transport=http_transport,
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def failures(self, what: str) -> Failures:
        return Failures(self.retry, what, self.on_retry)

    def send_once(self, method: str, url: str, **kwargs) -> httpx.Response:
        """One request; an error status becomes an ApiError (network errors pass through as httpx's)."""
        response = self.http.request(method, url, **kwargs)
        if response.status_code >= 400:
            response.read()
            raise ApiError.from_response(response)
        return response

    def call(self, method: str, url: str, *, final_codes: frozenset[str] = frozenset(), **kwargs) -> httpx.Response:
        """A request that is safe to repeat, retried as the policy says; other errors raise ApiError.
        `final_codes`: error codes that are answers, not outages, even with a 5xx status."""
        failures = self.failures(f"{method} {url}")
        while True:
            try:
                return self.send_once(method, url, **kwargs)
            except REQUEST_ERRORS as exc:
                if isinstance(exc, ApiError) and exc.code in final_codes:
                    raise
                failures.retry(exc)

    def json(self, method: str, url: str, **kwargs) -> dict | list:  # type: ignore[type-arg]
        response = self.call(method, url, **kwargs)
        return response.json() if response.content else {}


__all__ = ["Failures", "RetryPolicy", "Transport", "is_retryable_status", "retry_after"]
