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
# What a signed-in user (a login token) may do with their own owner's data: everything but the
# Direct Video API's admin role, so one sign-in works on every surface the web app uses.
LOGIN_SCOPES = (PROJECTS_WRITE, PROJECTS_READ, CAPTURES, VIDEOS_UPLOAD, VEHICLES_WRITE, VEHICLES_READ)
