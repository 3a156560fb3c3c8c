"""Refusals when creating or reading projects. Surfaces map codes to their API's shapes."""

from __future__ import annotations

from omnidrop.uploads.errors import UploadError


class ProjectError(UploadError):
    pass


class SourceRequired(ProjectError):
    code = "upload_id_or_download_link_required"


class SourceAmbiguous(ProjectError):
    code = "provide_either_upload_id_or_download_link"


class ProjectCreationFailed(ProjectError):
    code = "project_creation_failed"


class InvalidDownloadLink(ProjectError):
    code = "invalid_download_link"


class ProjectNotFound(ProjectError):
    code = "project_not_found"


class ShareNotFound(ProjectError):
    """No such share link, or it was revoked, or it expired: all look the same from outside."""

    code = "share_not_found"


class InvalidShare(ProjectError):
    code = "invalid_share"


class TourNotFound(ProjectError):
    code = "tour_not_found"
