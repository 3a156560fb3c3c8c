"""Scopes a key may carry. Later surfaces add roles here (e.g. the direct-upload API's admin/upload)."""

from __future__ import annotations

PROJECTS_WRITE = "projects:write"
PROJECTS_READ = "projects:read"

# The Captures API (one scope: create, upload, list, rename, delete).
CAPTURES = "captures"
# The Direct Video Upload API's key roles; either one may upload.
VIDEOS_ADMIN = "videos:admin"
VIDEOS_UPLOAD = "videos:upload"
# The Vehicles 360 Video API: upload, cleanup and mask import / frames and mask frames.
VEHICLES_WRITE = "vehicles:write"
VEHICLES_READ = "vehicles:read"

ALL_SCOPES = (PROJECTS_WRITE, PROJECTS_READ, CAPTURES, VIDEOS_ADMIN, VIDEOS_UPLOAD, VEHICLES_WRITE, VEHICLES_READ)
DEFAULT_SCOPES = (PROJECTS_WRITE, PROJECTS_READ)
