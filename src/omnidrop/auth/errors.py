"""Authentication refusals; each surface renders them in its own error shape."""

from __future__ import annotations


class AuthError(Exception):
    code = "unauthorized"
    status = 401


class MissingCredentials(AuthError):
    code = "missing_api_key"


class InvalidCredentials(AuthError):
    code = "invalid_api_key"


class InsufficientScope(AuthError):
    code = "insufficient_scope"
    status = 403

    def __init__(self, required: str) -> None:
        super().__init__(f"this key lacks the {required} scope")
        self.required = required
