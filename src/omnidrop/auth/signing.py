"""URLs omnidrop signs itself: HMAC-SHA256 over method, path and expiry (DESIGN invariant 7).

The query carries `X-Omnidrop-Expires` (unix seconds) and `X-Omnidrop-Signature` (hex). Changing the
method, the path, the expiry or the signature makes the URL worthless; so does time passing.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path
from urllib.parse import urlencode

from omnidrop.auth.errors import AuthError

EXPIRES, SIGNATURE = "X-Omnidrop-Expires", "X-Omnidrop-Signature"


class SignatureInvalid(AuthError):
    code = "SignatureDoesNotMatch"
    status = 403


class SignatureExpired(SignatureInvalid):
    code = "AccessDenied"


def load_secret(configured: str | None, data_dir: Path) -> bytes:
    """The configured key, else one generated on first start and kept in the data dir (mode 0600)."""
    if configured:
        return configured.encode()
    path = data_dir / "secret_key"
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    try:  # O_EXCL: two processes starting at once agree on whichever key was written first
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32))
    return path.read_bytes().strip()


class UrlSigner:
    def __init__(self, secret: bytes) -> None:
        self.secret = secret

    def _mac(self, method: str, path: str, expires: int) -> str:
        message = f"{method.upper()}\n{path}\n{expires}".encode()
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()

    def sign(self, method: str, path: str, expires_in: int, now: float | None = None) -> str:
        """`path` plus the signed query string."""
        expires = int((now or time.time()) + expires_in)
        return f"{path}?{urlencode({EXPIRES: expires, SIGNATURE: self._mac(method, path, expires)})}"

    def verify(self, method: str, path: str, query: dict[str, str], now: float | None = None) -> None:
        try:
            expires = int(query[EXPIRES])
            signature = query[SIGNATURE]
        except (KeyError, ValueError):
            raise SignatureInvalid("the URL is not signed") from None
        # As bytes: compare_digest refuses str with non-ASCII characters (TypeError), and any such
        # signature is simply wrong.
        given = signature.encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(given, self._mac(method, path, expires).encode()):
            raise SignatureInvalid("the signature does not match the method, path and expiry")
        if expires < (now or time.time()):
            raise SignatureExpired("the URL has expired")
