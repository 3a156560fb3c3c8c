"""Signed download URLs: omnidrop's own HMAC URLs on local disk, the store's presigned GET otherwise."""

from urllib.parse import parse_qsl, urlsplit

from omnidrop.auth.signing import EXPIRES, UrlSigner
from omnidrop.protocols.signed_urls import BLOB_PREFIX, blob_url


class Presigning:
    def presign_get(self, key: str, expires_in: int) -> str:
        return f"https://bucket.example/{key}?X-Amz-Expires={expires_in}"


def test_local_urls_are_signed_over_the_decoded_path_and_quoted():
    signer = UrlSigner(b"k" * 32)
    url = blob_url(object(), signer, "http://host:8000/", "vehicles/a b/frame_0001.jpg", 3600)
    parts = urlsplit(url)
    assert parts.path == BLOB_PREFIX + "vehicles/a%20b/frame_0001.jpg"
    query = dict(parse_qsl(parts.query))
    signer.verify("GET", BLOB_PREFIX + "vehicles/a b/frame_0001.jpg", query)  # what the server sees
    assert int(query[EXPIRES]) > 0


def test_stores_that_presign_hand_out_their_own_urls():
    url = blob_url(Presigning(), UrlSigner(b"k"), "http://host/", "vehicles/x.jpg", 3600)
    assert url == "https://bucket.example/vehicles/x.jpg?X-Amz-Expires=3600"
