"""The Companion-style S3 multipart routes (`/s3/multipart`, as @uppy/aws-s3 calls them) in the document."""

from __future__ import annotations

from pydantic import BaseModel, RootModel

from omnidrop.openapi import security
from omnidrop.openapi.operation import Operation, Surface


class CompanionError(BaseModel):
    """Companion's `{"error": "<message>"}`; credential refusals carry a code and a `message`."""

    error: str
    message: str | None = None


class MultipartCreated(BaseModel):
    key: str
    uploadId: str  # noqa: N815 - Companion's names
    bucket: str


class UploadedPartInfo(BaseModel):
    PartNumber: int  # noqa: N815
    ETag: str  # noqa: N815
    Size: int  # noqa: N815


class UploadedParts(RootModel[list[UploadedPartInfo]]):
    pass


class PresignedUrls(BaseModel):
    presignedUrls: dict[str, str]  # noqa: N815 - part number -> URL


class PresignedUrl(BaseModel):
    url: str
    expires: int


class MultipartCompleted(BaseModel):
    location: str | None
    key: str
    bucket: str


class Aborted(BaseModel):
    pass


class SignedRequest(BaseModel):
    """Uppy 6 `signRequest`: the URL that performs the S3 request it described (and, on create, the key)."""

    url: str
    key: str | None = None


AUTH = {401: "missing or invalid key", 403: "the key lacks projects:write"}
ERRORS = {**AUTH, 400: "invalid input, or a part list S3 would refuse", 404: "no such multipart upload for this key"}

SURFACE = Surface(
    tag="companion s3",
    error_model=CompanionError,
    error_example=lambda status, code: {"error": "what went wrong, in words"},
    security=security.bearer("projects:write"),
    operations={
        ("POST", "/s3/multipart"): Operation(ok=MultipartCreated, errors={**AUTH, 400: "invalid input"}),
        ("GET", "/s3/multipart/{upload_id}"): Operation(ok=UploadedParts, errors=ERRORS),
        ("GET", "/s3/multipart/{upload_id}/batch"): Operation(ok=PresignedUrls, errors=ERRORS),
        ("GET", "/s3/multipart/{upload_id}/{part_number}"): Operation(ok=PresignedUrl, errors=ERRORS),
        ("POST", "/s3/multipart/{upload_id}/complete"): Operation(ok=MultipartCompleted, errors=ERRORS),
        ("DELETE", "/s3/multipart/{upload_id}"): Operation(ok=Aborted, errors=ERRORS),
        ("POST", "/s3/sign"): Operation(ok=SignedRequest, errors=ERRORS),
    },
)
