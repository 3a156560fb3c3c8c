"""tus 1.0.0 and the IETF resumable-upload draft at `/files/` (`OMNIDROP_TUS_PATH`), as OpenAPI path items.

The endpoints are one raw route that dispatches on headers (`surfaces/resumable.py`), so FastAPI
cannot describe them; these path items are merged into the document by `document.py`. One operation
per method serves both protocols: a request with `Upload-Draft-Interop-Version` speaks the draft,
any other tus (which needs `Tus-Resumable: 1.0.0`).
"""

from __future__ import annotations

from typing import Any

from omnidrop.openapi import security
from omnidrop.openapi.operation import BINARY, header

TAG = "resumable uploads (tus, IETF draft)"
TUS_RESUMABLE = header("Tus-Resumable", "tus: `1.0.0` on every request but OPTIONS (412 otherwise)",
                       schema={"type": "string", "enum": ["1.0.0"]})
INTEROP = header("Upload-Draft-Interop-Version", "IETF draft: 5 or 6 (tus-js-client ietf-draft-03 / -05, Apple "
                 "clients); selects the draft instead of tus", schema={"type": "string", "enum": ["5", "6"]})
UPLOAD_ID = {"name": "upload_id", "in": "path", "required": True, "schema": {"type": "string"},
             "description": "the last segment of the `Location` the creation answered"}

TUS_TEXT = {"text/plain": {"schema": {"type": "string"}}}
PROBLEM = {"application/problem+json": {"schema": {"type": "object", "properties": {
    "type": {"type": "string"}, "title": {"type": "string"}, "detail": {"type": "string"}}}}}
ERROR_CONTENT = {**TUS_TEXT, **PROBLEM}


def _h(description: str) -> dict[str, Any]:
    return {"description": description, "schema": {"type": "string"}}


def _errors(*codes: int) -> dict[str, Any]:
    words = {
        400: "a malformed header (Upload-Length, Upload-Offset, Upload-Concat, Upload-Checksum…)",
        401: "missing or invalid key / login token",
        403: "the key lacks projects:write",
        404: "unknown upload, or another owner's",
        405: "method not allowed on this URL",
        409: "Upload-Offset does not match the server's (IETF: a mismatching-upload-offset problem "
             "with the right Upload-Offset); on a tus final upload's creation, `concatenation_mismatch`: "
             "the object composed from the partials is not as long as they are recorded (it stays incomplete)",
        410: "expired or terminated",
        412: "missing or unsupported Tus-Resumable (answers Tus-Version)",
        413: "over Tus-Max-Size / Upload-Length",
        415: "a body without `application/offset+octet-stream` (IETF 6: `application/partial-upload`)",
        423: "another request holds the upload; retry",
        460: "checksum mismatch: the chunk is discarded, Upload-Offset does not move",
        503: "the pre-create hook could not be reached",
    }
    # 412 comes before anything else is read, as a bare status with Tus-Version (no body type).
    return {str(c): {"description": words[c], **({} if c == 412 else {"content": ERROR_CONTENT})} for c in codes}


AUTH = security.bearer_or_login("projects:write")
STATE_HEADERS = {"Upload-Offset": _h("bytes stored"), "Upload-Length": _h("the declared size, once known"),
                 "Upload-Expires": _h("tus: when an idle upload is deleted"),
                 "Upload-Complete": _h("IETF: ?1 once every byte arrived"),
                 "Upload-Limit": _h("IETF: max-size, min-size, expires"), "Tus-Resumable": _h("tus: 1.0.0")}


def path_items(base: str) -> dict[str, dict[str, Any]]:
    """`base` is the collection URL's path, e.g. `/files/`."""
    collection, upload = base.rstrip("/") + "/", base.rstrip("/") + "/{upload_id}"
    return {
        collection: {
            "options": {
                "tags": [TAG], "operationId": "resumable_capabilities", "summary": "tus capabilities",
                "security": security.PUBLIC,
                "responses": {"204": {"description": "what this server supports", "headers": {
                    "Tus-Version": _h("1.0.0"), "Tus-Extension": _h(
                        "creation, creation-with-upload, creation-defer-length, expiration, checksum, "
                        "termination, concatenation"),
                    "Tus-Max-Size": _h("the largest upload (OMNIDROP_MAX_FILE_BYTES)"),
                    "Tus-Checksum-Algorithm": _h("sha1, md5, sha256, crc32c")}}},
            },
            "post": {
                "tags": [TAG], "operationId": "resumable_create", "summary": "Create an upload (tus or IETF draft)",
                "description": (
                    "tus: `Upload-Length` or `Upload-Defer-Length: 1`, optional `Upload-Metadata` "
                    "(`walkthrough_upload_id`, `filename`, …), `Upload-Concat` (`partial`, or `final;<urls>`) and a "
                    "first chunk (creation-with-upload). IETF draft: `Upload-Complete` and the body, or part of "
                    "it; the server sends `104 Upload Resumption Supported` with the `Location` before it reads "
                    "the body, so a client cut off mid-body can resume there."),
                "security": AUTH,
                "parameters": [
                    TUS_RESUMABLE, INTEROP,
                    header("Upload-Length", "the total size in bytes", schema={"type": "integer", "minimum": 0}),
                    header("Upload-Defer-Length", "tus: `1` when the size is not known yet"),
                    header("Upload-Metadata", "tus: comma-separated `key base64value` pairs"),
                    header("Upload-Concat", "tus: `partial`, or `final;<url> <url>…`"),
                    header("Upload-Checksum", "tus: `<algorithm> <base64 digest>` of the first chunk"),
                    header("Upload-Complete", "IETF: `?1` when this request carries the whole file, else `?0`"),
                    header("Content-Disposition", "IETF: `attachment; filename=\"…\"` becomes the filename"),
                ],
                "requestBody": {"required": False, "description": "optional first bytes of the file", "content": {
                    "application/offset+octet-stream": {"schema": BINARY},
                    "application/octet-stream": {"schema": BINARY}}},
                "responses": {
                    "201": {"description": "created; `Location` is the upload's URL", "headers": {
                        "Location": _h("the upload's URL"), **STATE_HEADERS}},
                    **_errors(400, 401, 403, 404, 405, 409, 412, 413, 415, 460, 503),
                },
            },
        },
        upload: {
            "parameters": [UPLOAD_ID],
            "head": {
                "tags": [TAG], "operationId": "resumable_offset", "summary": "How many bytes the server holds",
                "security": AUTH, "parameters": [TUS_RESUMABLE, INTEROP],
                "responses": {
                    "200": {"description": "tus: the upload's state", "headers": {
                        **STATE_HEADERS, "Upload-Metadata": _h("tus: as created"),
                        "Upload-Defer-Length": _h("tus: 1 while the size is unknown"),
                        "Upload-Concat": _h("tus: partial or final;<urls>")}},
                    "204": {"description": "IETF draft: the upload's state", "headers": STATE_HEADERS},
                    **{k: {"description": v["description"]} for k, v in _errors(400, 401, 403, 404, 410, 412).items()},
                },
            },
            "patch": {
                "tags": [TAG], "operationId": "resumable_append", "summary": "Append bytes at Upload-Offset",
                "security": AUTH,
                "parameters": [
                    TUS_RESUMABLE, INTEROP,
                    header("Upload-Offset", "where these bytes start: the offset HEAD answered", required=True,
                           schema={"type": "integer", "minimum": 0}),
                    header("Upload-Length", "tus: the total, once a deferred length is known",
                           schema={"type": "integer", "minimum": 0}),
                    header("Upload-Checksum", "tus: `<algorithm> <base64 digest>` of this chunk"),
                    header("Upload-Complete", "IETF: `?1` on the last append"),
                ],
                "requestBody": {"required": True, "content": {
                    "application/offset+octet-stream": {"schema": BINARY},
                    "application/partial-upload": {"schema": BINARY}}},
                "responses": {
                    "204": {"description": "appended", "headers": STATE_HEADERS},
                    **_errors(400, 401, 403, 404, 409, 410, 412, 413, 415, 423, 460),
                },
            },
            "delete": {
                "tags": [TAG], "operationId": "resumable_terminate", "summary": "Terminate the upload",
                "security": AUTH, "parameters": [TUS_RESUMABLE, INTEROP],
                "responses": {"204": {"description": "deleted; the id answers 410 from now on"},
                              **_errors(400, 401, 403, 404, 410, 412, 423)},
            },
            "options": {
                "tags": [TAG], "operationId": "resumable_upload_capabilities", "summary": "tus capabilities",
                "security": security.PUBLIC,
                "responses": {"204": {"description": "as OPTIONS on the collection"}},
            },
        },
    }
