"""Scopes a key may carry. Later surfaces add roles here (e.g. the direct-upload API's admin/upload)."""

from __future__ import annotations

PROJECTS_WRITE = "projects:write"
PROJECTS_READ = "projects:read"

ALL_SCOPES = (PROJECTS_WRITE, PROJECTS_READ)
DEFAULT_SCOPES = (PROJECTS_WRITE, PROJECTS_READ)
