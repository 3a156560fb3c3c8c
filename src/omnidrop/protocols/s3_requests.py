"""S3 API requests behind URLs omnidrop signs itself, for clients that sign each request through a
callback (Uppy 6's `signRequest`): CreateMultipartUpload, UploadPart, ListParts,
CompleteMultipartUpload, AbortMultipartUpload and a single PutObject, with S3's XML bodies.

`sign_request` turns one request description (`{method, key, uploadId?, partNumber?}`) into a URL: a
part goes to the store's own presigned UploadPart URL (S3) or omnidrop's part URL; the others go to
`/_omnidrop/s3/{upload}/{action}`, signed over method, path and expiry like every omnidrop URL. The
upload is created when its CreateMultipartUpload (or PutObject) is signed, for the signer's owner;
the URL then only reports it, so the capability never names an owner.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin
from xml.sax.saxutils import escape

from omnidrop.auth.signing import UrlSigner
from omnidrop.protocols.presigned_parts import part_url
from omnidrop.uploads.errors import UploadError
from omnidrop.uploads.parts import PartsCore, Upload

S3_PATH = "/_omnidrop/s3/{upload_id}/{action}"
ACTIONS = {"create": "POST", "parts": "GET", "complete": "POST", "abort": "DELETE", "object": "PUT"}
XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"
_PART = re.compile(r"<Part>\s*(.*?)\s*</Part>", re.S)
_FIELD = re.compile(r"<(PartNumber|ETag)>\s*([^<]*?)\s*</\1>")
MAX_COMPLETE_BYTES = 1 << 20  # 10 000 parts of S3's XML fit well within 1 MiB


class UnsupportedRequest(UploadError):
    code = "unsupported_request"


def action_url(signer: UrlSigner, base_url: str, upload_id: str, action: str, expires_in: int) -> str:
    return urljoin(base_url, signer.sign(ACTIONS[action], S3_PATH.format(upload_id=upload_id, action=action),
                                         expires_in))


def request_url(parts: PartsCore, signer: UrlSigner, upload: Upload, method: str, part_number: int | None,
                base_url: str, expires_in: int) -> str:
    """The URL for one request on an existing upload."""
    if method == "PUT" and part_number is not None:
        return part_url(parts, signer, upload, part_number, base_url, expires_in)
    action = {"GET": "parts", "POST": "complete", "DELETE": "abort"}.get(method)
    if action is None or part_number is not None:
        raise UnsupportedRequest(f"no S3 request {method} with an upload id and that part number")
    return action_url(signer, base_url, upload.id, action, expires_in)


def _xml(root: str, fields: dict[str, str], inner: str = "") -> str:
    body = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in fields.items())
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{XMLNS}">{body}{inner}</{root}>'


def initiate_result(bucket: str, upload: Upload) -> str:
    return _xml("InitiateMultipartUploadResult", {"Bucket": bucket, "Key": upload.key, "UploadId": upload.id})


def list_parts_result(bucket: str, upload: Upload, parts: list) -> str:
    inner = "".join(f"<Part><PartNumber>{p.number}</PartNumber><ETag>{escape(p.etag)}</ETag><Size>{p.size}</Size></Part>"
                    for p in parts)
    return _xml("ListPartsResult", {"Bucket": bucket, "Key": upload.key, "UploadId": upload.id,
                                    "IsTruncated": "false"}, inner)


def complete_result(location: str, bucket: str, upload: Upload) -> str:
    return _xml("CompleteMultipartUploadResult",
                {"Location": location, "Bucket": bucket, "Key": upload.key, "ETag": upload.etag or ""})


def parse_complete(body: bytes) -> list[tuple[int, str]]:
    """`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"…"</ETag></Part>…` → [(1, '"…"')].

    Read with two patterns, not an XML parser: nothing in it is expanded, so no entity tricks.
    """
    text = body.decode("utf-8", "replace").replace("&quot;", '"').replace("&#34;", '"')
    parts = []
    for block in _PART.findall(text):
        fields = dict(_FIELD.findall(block))
        if "PartNumber" not in fields or "ETag" not in fields or not fields["PartNumber"].isdigit():
            raise UnsupportedRequest("each Part needs a PartNumber and an ETag")
        parts.append((int(fields["PartNumber"]), fields["ETag"]))
    return parts
