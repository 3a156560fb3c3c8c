"""The OpenAPI document (`/openapi.json`) and what completes it: per-surface answers, errors and auth."""

from omnidrop.openapi.document import build, install

__all__ = ["build", "install"]
