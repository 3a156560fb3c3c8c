"""Upload hooks over HTTP: every event POSTed as JSON to one configured URL, with retries.

`pre-create` is blocking: the hook answers 2xx to accept the upload, or a 4xx whose status (and
`message`, from a JSON body or the plain text) goes back to the client that tried to create it.
A hook that cannot be reached refuses creation with 503 rather than letting unchecked uploads in.
Other events are notifications, delivered from the outbox (uploads/outbox.py) by workers: `notify`
makes one attempt and raises, and the outbox retries with exponential backoff, then logs and drops.
"""

from __future__ import annotations

import asyncio
import logging

import httpx

from omnidrop.uploads.events import PRE_CREATE, CreationRejected, EventBus, UploadEvent

log = logging.getLogger(__name__)
MAX_MESSAGE = 1000  # a hook's refusal text is echoed to clients: keep it short


class WebhookSender:
    def __init__(self, url: str, *, events: list[str], retries: int = 3, backoff: float = 1.0,
                 timeout: float = 15.0) -> None:
        self.url = url
        self.events = set(events)
        self.retries = retries
        self.backoff = backoff
        self._client = httpx.AsyncClient(timeout=timeout, follow_redirects=False)

    def attach(self, bus: EventBus) -> None:
        """The blocking pre-create check; notifications go through the outbox (`wants`, `notify`)."""
        if PRE_CREATE in self.events:
            bus.add_check(self.check)

    def wants(self, event: UploadEvent) -> bool:
        return event.type in self.events and event.type != PRE_CREATE

    async def _post(self, event: UploadEvent) -> httpx.Response:
        """POST once per attempt until a response arrives; transport errors and 5xx are retried."""
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                response = await self._client.post(
                    self.url, json=event.as_dict(), headers={"X-Omnidrop-Event": event.type}
                )
            except httpx.HTTPError as exc:
                last = exc
                continue
            if response.status_code < 500:
                return response
            last = RuntimeError(f"hook answered {response.status_code}")
        raise ConnectionError(f"upload hook {self.url} failed: {last}")

    async def check(self, event: UploadEvent) -> None:
        try:
            response = await self._post(event)
        except ConnectionError as exc:
            log.warning("%s", exc)
            raise CreationRejected("the upload hook is unavailable", status=503) from None
        if response.is_success:
            return
        raise CreationRejected(_message(response), status=response.status_code if response.status_code < 500 else 400)

    async def notify(self, event: UploadEvent) -> None:
        """One POST of a notification; raises unless the hook answered below 500 (the outbox retries)."""
        response = await self._client.post(self.url, json=event.as_dict(), headers={"X-Omnidrop-Event": event.type})
        if response.status_code >= 500:
            raise ConnectionError(f"upload hook {self.url} answered {response.status_code}")

    async def close(self) -> None:
        await self._client.aclose()


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
        if isinstance(body, dict) and isinstance(body.get("message"), str):
            return body["message"][:MAX_MESSAGE]
    except ValueError:
        pass
    return response.text.strip()[:MAX_MESSAGE] or f"refused by the upload hook ({response.status_code})"
