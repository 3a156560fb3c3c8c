"""What can go wrong talking to omnidrop, as exceptions a caller (and the CLI's exit codes) can tell apart.

Every surface has its own error shape; `ApiError.from_response` reads them all into one `code` and
`message`, so a caller never parses JSON to learn what failed.
"""

from __future__ import annotations

import json
import re

import httpx


class ClientError(Exception):
    """Base of everything the SDK raises."""


class ConfigError(ClientError):
    """No server URL or credentials, or an unusable config file."""


class LocalFileError(ClientError):
    """A path to upload is missing, unreadable, not a regular file, or changed while uploading."""


class TransportError(ClientError):
    """The server could not be reached, or kept failing, after every retry."""


class ApiError(ClientError):
    """The server answered with an error: `status`, the surface's `code`, a readable `message`, the body."""

    def __init__(self, status: int, code: str, message: str, body: object = None, retry_after: float | None = None):
        super().__init__(f"{status} {code}: {message}" if message and message != code else f"{status} {code}")
        self.status = status
        self.code = code
        self.message = message
        self.body = body
        self.retry_after = retry_after

    @property
    def details(self) -> dict:
        """The extra fields a JSON error carries (`received`, `limit`, `allowed`...)."""
        if isinstance(self.body, dict):
            inner = self.body.get("error")
            if isinstance(inner, dict):
                return {k: v for k, v in inner.items() if k not in ("code", "message")}
            return {k: v for k, v in self.body.items() if k not in ("error", "message")}
        return {}

    @classmethod
    def from_response(cls, response: httpx.Response) -> ApiError:
        code, message, body = parse_error_body(response)
        return cls(response.status_code, code, message, body, retry_after(response))


def parse_error_body(response: httpx.Response) -> tuple[str, str, object]:
    """(code, message, parsed body) from any of omnidrop's error shapes:

    - file upload `{"error": "<code>", ...}`, walkthrough `{"error": code, "message": text}`
    - direct video and vehicles `{"error": {"code", "message", ...}}`
    - captures (FastAPI) `{"detail": "text"}` or `{"detail": [{"loc", "msg", "type"}]}`
    - IETF draft `application/problem+json` `{"type", "title"}`
    - S3-style XML `<Error><Code>…</Code><Message>…</Message></Error>` (part URLs)
    - tus `text/plain`
    """
    status = response.status_code
    fallback = httpx.codes.get_reason_phrase(status).lower().replace(" ", "_") or f"http_{status}"
    try:
        text = response.text
    except (httpx.ResponseNotRead, UnicodeDecodeError):
        text = ""
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = None
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            return str(err.get("code") or fallback), str(err.get("message") or ""), body
        if isinstance(err, str):
            message = body.get("message")
            return err, str(message) if message else "", body
        detail = body.get("detail")
        if isinstance(detail, str):
            return fallback, detail, body
        if isinstance(detail, list) and detail:
            first = detail[0] if isinstance(detail[0], dict) else {}
            msgs = "; ".join(f"{'.'.join(str(p) for p in d.get('loc', []))}: {d.get('msg')}" for d in detail
                             if isinstance(d, dict))
            return str(first.get("type") or fallback), msgs, body
        if "title" in body:  # RFC 9457 problem details
            type_ = str(body.get("type") or "")
            return (type_.rsplit("#", 1)[-1] if "#" in type_ else fallback), str(body["title"]), body
    xml = re.search(r"<Code>([^<]*)</Code>(?:\s*<Message>([^<]*)</Message>)?", text or "")
    if xml:
        return xml.group(1), xml.group(2) or "", text
    return fallback, (text or "").strip()[:500], text


def retry_after(response: httpx.Response) -> float | None:
    """Seconds from a `Retry-After` header (delta seconds; an HTTP date counts from now)."""
    raw = response.headers.get("retry-after")
    if not raw:
        return None
    raw = raw.strip()
    if raw.isdigit():
        return float(raw)
    import email.utils
    import time

    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
