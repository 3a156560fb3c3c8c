"""Reading `Authorization: Bearer …` — the one piece of HTTP the auth layer knows."""

from __future__ import annotations

from omnidrop.auth.errors import InvalidCredentials, MissingCredentials


API_KEY = "an API key"
KEY_OR_LOGIN = "an API key or a login token (from POST /auth/login)"


def bearer_token(header: str | None, accepted: str = API_KEY) -> str:
    """The token of the header; `accepted` names what the surface takes, for the refusal's message."""
    if not header:
        raise MissingCredentials(f"no credentials: send {accepted} as Authorization: Bearer <token>")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidCredentials()
    return token.strip()
