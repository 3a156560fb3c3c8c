"""A sentence for every error code omnidrop's surfaces answer with, saying what to do about it.

Codes are compared case-insensitively (the vehicles API writes them in upper case).
"""

from __future__ import annotations

from omnidrop.client.errors import ApiError

HINTS: dict[str, str] = {
    # credentials and limits (every surface)
    "missing_api_key": "no API key was sent: pass --key, set OMNIDROP_API_KEY or run `omnidrop login`",
    "invalid_api_key": "the server does not know this API key (revoked, or made for another server)",
    "unauthorized": "the server refused the credentials: check the key or log in again",
    "invalid_credentials": "wrong username or password, or an expired login token (run `omnidrop login` again)",
    "insufficient_scope": "the key lacks a scope this call needs (create one with `omnidrop keys create --scope …`)",
    "rate_limited": "the server's rate limit was reached; wait and run again",
    "storage_quota_exceeded": "the owner's storage quota is full: free space or raise it (`omnidrop owners set --quota`)",
    "tariff_forbids_upload": "the owner's plan does not allow uploads (`omnidrop owners set NAME --allow-uploads`)",
    "tariff": "the owner's plan does not allow creating projects",
    "invalid_request": "the server refused the request's fields",
    # File Upload API
    "invalid_upload_id": "the upload id is malformed",
    "invalid_filename": "the file name is empty or too long once the server flattens it; rename the file",
    "invalid_content_range": "the server holds this name with a different size: the file changed since it was "
                             "started; use --fresh to upload it anew",
    "chunk_length_mismatch": "a chunk's body did not match its Content-Range (the file changed while uploading?)",
    "upload_session_not_found": "the upload session is gone (expired or deleted); use --fresh to start a new one",
    "file_not_found": "the server has no such file",
    "non_contiguous_chunk": "a chunk did not start where the server's copy ends",
    "upload_in_progress": "another upload is writing this file right now; stop it or wait, then run again",
    "length_required": "the request had no Content-Length",
    "file_too_large": "the file is larger than the server's per-file limit",
    "session_too_large": "the files together exceed the server's per-session limit; upload them in smaller sets",
    "extension_not_allowed": "the server does not accept this file type",
    "upload_id_or_download_link_required": "a project needs an upload id or a download link",
    "provide_either_upload_id_or_download_link": "give an upload id or a download link, not both",
    "project_creation_failed": "the project could not be created (a file is not fully uploaded yet?)",
    "invalid_download_link": "the download link must be a public http(s) URL without credentials",
    "project_not_found": "no such project for this key's owner",
    # tus and the IETF draft
    "not_found": "the server does not know this upload (expired or terminated?)",
    "gone": "the upload expired or was terminated on the server; use --fresh",
    "upload_gone": "the upload expired or was terminated on the server; use --fresh",
    "locked": "another request is writing this upload",
    "conflict": "the offset did not match the server's",
    "mismatching-upload-offset": "the offset did not match the server's",
    "inconsistent-upload-length": "the declared length contradicts what the server holds",
    "precondition_failed": "the server speaks another tus version",
    "request_entity_too_large": "the upload is larger than the server accepts",
    "unsupported_media_type": "the server wanted another Content-Type",
    # presigned parts (S3 words) and the captures / direct video APIs
    "nosuchupload": "the multipart upload is gone (aborted, completed or expired)",
    "accessdenied": "the part URL expired",
    "signaturedoesnotmatch": "the part URL was altered",
    "entitytoolarge": "a part is larger than the server allows",
    "invalid_part": "a part's ETag does not match what the server holds",
    "invalid_part_order": "part numbers must be strictly ascending",
    "entity_too_small": "every part but the last must be at least 5 MiB",
    "malformed_part_list": "the part list is malformed",
    "size_mismatch": "the parts do not add up to the declared size",
    "invalid_part_number": "a part number is outside 1..10000 or beyond the file's parts",
    "invalid_layout": "unknown layout (Separate, SideBySide, OverUnder, MVHEVC or Mono)",
    "invalid_file_roles": "the roles do not fit the layout (Separate needs video_left and video_right, others one video)",
    "unsupported_file_type": "this role does not accept this file type",
    "upload_session_cancelled": "the upload group was cancelled and cannot be resumed; use --fresh",
    "upload_session_expired": "the upload group expired (5 days); use --fresh",
    "upload_session_completed": "the upload group is already complete",
    "upload_not_found": "no such file in this upload group",
    "capture_not_found": "no such capture for this key",
    # vehicles
    "invalid_file_type": "the file is not a supported video (.mp4 .avi .mov .wmv .flv .webm .mkv .qt)",
    "missing_video_file": "the request carried no video",
    "invalid_side": "side must be OUTSIDE, INSIDE or OPEN",
    "invalid_vehicle_uuid": "the vehicle id must be a UUID",
    "upload_failed": "the server could not store the video; try again later",
    "frames_not_ready": "the frames are still being made",
    "processing_failed": "processing failed on the server",
    "job_not_found": "no such job for this side and key",
    "masks_not_available": "no damage masks for this vehicle side",
    "vehicle_not_found": "no such vehicle",
    # walkthrough
    "drawing_not_found": "no such drawing in this project",
    "tus_upload_not_found": "the tus upload is unknown or expired",
    "tus_upload_not_finished": "the tus upload is not complete yet",
    "tus_upload_already_linked": "the tus upload already belongs to another upload object",
    "walkthrough_error": "the walkthrough API refused the request",
}


def hint(code: str) -> str | None:
    return HINTS.get(code.lower())


def explain(exc: ApiError) -> str:
    """`<status> <code>: <server's message> (<what to do>)` with the useful details."""
    text = f"{exc.status} {exc.code}"
    if exc.message and exc.message != exc.code:
        text += f": {exc.message}"
    details = exc.details
    extra = [f"{k}={details[k]}" for k in ("limit", "used", "received", "total", "extension", "required_scope",
                                           "retry_after") if k in details]
    if extra:
        text += f" ({', '.join(extra)})"
    if (h := hint(exc.code)) and h.lower() not in text.lower():
        text += f" — {h}"
    return text
