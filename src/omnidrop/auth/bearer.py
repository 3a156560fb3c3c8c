"""Reading `Authorization: Bearer …` — the one piece of HTTP the auth layer knows."""

from __future__ import annotations

from omnidrop.auth.errors import InvalidCredentials, MissingCredentials


def bearer_token(header: str | None) -> str:
    if not header:
        raise MissingCredentials()
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidCredentials()
    return token.strip()
