"""What the walkthrough domain refuses; the walkthrough surface renders these as `{"error", "message"}`."""

from __future__ import annotations


class WalkthroughError(Exception):
    code = "walkthrough_error"
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(WalkthroughError):
    code = "not_found"
    status = 404


class ProjectNotFound(NotFound):
    code = "project_not_found"


class DrawingNotFound(NotFound):
    code = "drawing_not_found"


class UploadObjectNotFound(NotFound):
    code = "upload_not_found"


class ProjectExists(WalkthroughError):
    code = "project_exists"
    status = 409


class InvalidInput(WalkthroughError):
    code = "invalid_request"


class TusUploadNotFound(WalkthroughError):
    """Unknown, expired, or another owner's: all look the same from outside."""

    code = "tus_upload_not_found"


class TusUploadNotFinished(WalkthroughError):
    code = "tus_upload_not_finished"
    status = 409


class TusUploadAlreadyLinked(WalkthroughError):
    code = "tus_upload_already_linked"
    status = 409
