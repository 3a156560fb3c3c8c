"""What the upload core can refuse. Surfaces map these onto their own API's error shapes."""

from __future__ import annotations


class UploadError(Exception):
    """Base of every refusal the core makes. `code` is a stable machine name."""

    code = "upload_error"

    def __init__(self, message: str = "", **details: object) -> None:
        super().__init__(message or self.code)
        self.details = details


class InvalidUploadId(UploadError):
    code = "invalid_upload_id"


class InvalidFilename(UploadError):
    code = "invalid_filename"


class ExtensionNotAllowed(UploadError):
    code = "extension_not_allowed"

    def __init__(self, extension: str, allowed: list[str]) -> None:
        super().__init__(f"extension {extension!r} is not allowed", extension=extension, allowed=allowed)


class SessionNotFound(UploadError):
    code = "upload_session_not_found"


class FileNotFound(UploadError):
    code = "file_not_found"


class FileTooLarge(UploadError):
    code = "file_too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(f"file exceeds the limit of {limit} bytes", limit=limit)


class SessionTooLarge(UploadError):
    code = "session_too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(f"session exceeds the limit of {limit} bytes", limit=limit)


class TotalMismatch(UploadError):
    """A write declares a different total size than the file was started with."""

    code = "total_mismatch"

    def __init__(self, total: int) -> None:
        super().__init__(f"the file was started with total size {total}", total=total)


class NonContiguous(UploadError):
    code = "non_contiguous_chunk"

    def __init__(self, received: int) -> None:
        super().__init__(f"chunk must start at or before {received}", received=received)


class LengthMismatch(UploadError):
    """The body carried a different number of bytes than the request declared."""

    code = "chunk_length_mismatch"

    def __init__(self, expected: int, got: int) -> None:
        super().__init__(f"expected {expected} bytes, got {got}", expected=expected, got=got)


class FileBusy(UploadError):
    """Another request holds the file's write lease (one in-flight write per file)."""

    code = "upload_in_progress"

    def __init__(self, received: int) -> None:
        super().__init__("another request is writing this file", received=received)


class StorageQuotaExceeded(UploadError):
    code = "storage_quota_exceeded"

    def __init__(self, limit: int, used: int) -> None:
        super().__init__(f"storage quota of {limit} bytes reached ({used} used)", limit=limit, used=used)


class TariffForbidsUpload(UploadError):
    """The owner's plan does not allow new uploads or projects."""

    code = "tariff_forbids_upload"


class BodyInterrupted(Exception):
    """The request body ended early (client gone). Raised by protocol adapters, handled by the core."""


class OffsetMismatch(UploadError):
    """A resumable protocol's append did not start exactly at the acknowledged offset."""

    code = "offset_mismatch"

    def __init__(self, received: int) -> None:
        super().__init__(f"the upload is at offset {received}", received=received)


class LengthExceeded(UploadError):
    """More bytes than the upload's declared length (or the size cap when the length is deferred)."""

    code = "length_exceeded"

    def __init__(self, limit: int) -> None:
        super().__init__(f"the upload may not grow past {limit} bytes", limit=limit)


class ChecksumMismatch(UploadError):
    """The chunk's digest differs from the one the client sent: the chunk was not committed."""

    code = "checksum_mismatch"
